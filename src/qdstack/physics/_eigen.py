"""Sparse symmetric eigen-solvers for the lowest states of the finite-volume Hamiltonian.

Private helpers of :mod:`qdstack.physics.coupled_dots`.

* :func:`lowest_shift_invert` -- ARPACK ``eigsh`` in shift-invert mode around 0
  (H is positive definite, so the eigenvalues nearest 0 are the lowest ones);
  exact and robust on the small coarsest grid, where the sparse LU is cheap;
  :func:`lowest_pairs` uses it up to 20,000 unknowns and LOBPCG from a random start
  above (the LU's fill-in grows fast on a 3D grid).
* :func:`lowest_lobpcg` -- LOBPCG (Knyazev, SIAM J. Sci. Comput. 23, 517 (2001);
  :func:`_lobpcg_wanted`, or SciPy's ``lobpcg``) preconditioned by one V-cycle of smoothed-aggregation algebraic multigrid
  (pyamg; Vanek, Mandel & Brezina, Computing 56, 179 (1996)); the iteration
  count is then nearly independent of the grid size, and a good start (the
  previous level's eigenvectors interpolated onto the finer grid) leaves only a
  few iterations.  The residuals are checked here, not trusted.  On the CPU the
  V-cycle and H X are compiled kernels (:class:`CompiledAMG`,
  :mod:`qdstack.physics._sparse_kernels`) and the dense block work runs over row
  chunks on all cores (:mod:`qdstack.physics._lobpcg`).
* :func:`lowest_lobpcg_cupy` -- the same iteration on a GPU through CuPy,
  preconditioned by the same AMG hierarchy run as a block V-cycle on the GPU
  (:class:`GpuAMG`); optional.
* :func:`prolongate` -- tensor-product linear interpolation of grid functions
  between rectilinear grids.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from qdstack.physics._lobpcg import _cholesky_qr, _lobpcg_wanted, _RowPasses, _sym  # noqa: F401

__all__ = [
    "lowest_shift_invert",
    "lowest_pairs",
    "lowest_lobpcg",
    "lowest_lobpcg_cupy",
    "prolongate",
    "blas_single_thread",
    "cupy_available",
]


def _openblas_handles():
    """(get, set) function pairs of every OpenBLAS loaded in this process (Linux; else none)."""
    import ctypes
    import os

    pairs = []
    try:
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.lower() and "/" in line}
    except OSError:
        return pairs
    for path in sorted(paths):
        if not os.path.isfile(path):
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for stem, suffix in (
            ("scipy_openblas", "64_"),
            ("scipy_openblas", ""),
            ("openblas", ""),
            ("openblas", "64_"),
        ):
            get = getattr(lib, f"{stem}_get_num_threads{suffix}", None)
            set_ = getattr(lib, f"{stem}_set_num_threads{suffix}", None)
            if get is not None and set_ is not None:
                get.restype = ctypes.c_int
                set_.argtypes = [ctypes.c_int]
                pairs.append((get, set_))
                break
    return pairs


@contextlib.contextmanager
def blas_single_thread():
    """Limit BLAS to one thread while inside.

    The dense work of LOBPCG is on tall, skinny blocks, where a second BLAS thread
    gains nothing and, on a shared machine, costs a lot (spin-waiting threads make
    a 30k-element dot product take milliseconds).  Uses threadpoolctl when it is
    installed, else OpenBLAS's own ``*_set_num_threads`` through ctypes; does
    nothing when neither is available.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
        return
    try:
        pairs = _openblas_handles()
        saved = [(get(), set_) for get, set_ in pairs]
        for _, set_ in saved:
            set_(1)
    except Exception:  # a foreign BLAS build: leave it alone
        saved = []
    try:
        yield
    finally:
        for n, set_ in saved:
            set_(n)


def residual_norms(H, vals, vecs) -> np.ndarray:
    """||H x - lambda x|| for unit columns x (eV)."""
    R = H @ vecs - vecs * vals[None, :]
    return np.linalg.norm(R, axis=0) / np.linalg.norm(vecs, axis=0)


def lowest_shift_invert(H, k: int):
    """The ``k`` lowest eigenpairs of a positive-definite sparse H (shift-invert ARPACK)."""
    n = H.shape[0]
    k = min(k, n)
    if n <= max(400, 3 * k + 10):
        vals, vecs = np.linalg.eigh(H.toarray())
        return vals[:k], vecs[:, :k]
    v0 = np.ones(n)  # deterministic start
    vals, vecs = sla.eigsh(H.tocsc(), k=k, sigma=0.0, which="LM", v0=v0, tol=1e-12)
    order = np.argsort(vals)
    return vals[order], vecs[:, order]


#: Above this many unknowns :func:`lowest_pairs` uses AMG-preconditioned LOBPCG from a
#: random start instead of shift-invert ARPACK: the sparse LU of a 3D grid fills in
#: roughly like N^2 (36,163 unknowns, the coarsest grid of a disordered 2 x 2 x 4 block:
#: 8.6 s for the factorisation, 11.8 s in all, against 1.9 s for LOBPCG, the 16 levels
#: equal to 2e-13 meV).
SHIFT_INVERT_MAX_UNKNOWNS = 20_000
#: Residual tolerance of the random-start solve of :func:`lowest_pairs` [eV]: these are
#: the coarse grid's reference states (they seed every finer grid and choose the
#: sectors), so tighter than the fine-grid default.
_START_TOL_EV = 1e-8


def lowest_pairs(H, k: int):
    """The ``k`` lowest eigenpairs of a positive-definite sparse H, from scratch.

    Shift-invert ARPACK (:func:`lowest_shift_invert`) up to
    :data:`SHIFT_INVERT_MAX_UNKNOWNS` unknowns; above, AMG-preconditioned LOBPCG
    (:func:`lowest_lobpcg`) from a seeded random block with ``max(4, k // 2)`` guard
    vectors, to a residual of 1e-8 eV.  A solve that does not reach it falls back to
    shift-invert.
    """
    n = H.shape[0]
    k = min(k, n)
    if n <= SHIFT_INVERT_MAX_UNKNOWNS:
        return lowest_shift_invert(H, k)
    X = np.random.default_rng(0).standard_normal((n, k + max(4, k // 2)))
    vals, vecs, res, _ = lowest_lobpcg(H, X, n_wanted=k, tol_eV=_START_TOL_EV)
    if not np.all(res <= 10 * _START_TOL_EV):
        return lowest_shift_invert(H, k)
    return vals, vecs


def amg_hierarchy(H):
    """Smoothed-aggregation AMG hierarchy of H (pyamg), set up for the LOBPCG preconditioner."""
    import pyamg

    # 'local' weighting of the prolongation smoother avoids pyamg's Arnoldi estimate of
    # the spectral radius (a large, BLAS-bound share of the setup otherwise)
    return pyamg.smoothed_aggregation_solver(
        sp.csr_matrix(H),
        symmetry="symmetric",
        max_coarse=500,
        smooth=("jacobi", {"omega": 4.0 / 3.0, "weighting": "local"}),
    )


def lowest_lobpcg(
    H,
    X0,
    *,
    n_wanted: int,
    tol_eV: float = 1e-6,
    maxiter: int = 400,
    preconditioner: str = "block",
    chunk: int | None = 8,
    engine: str = "own",
):
    """Lowest eigenpairs by AMG-preconditioned LOBPCG from the start block ``X0``.

    Parameters
    ----------
    H : sparse matrix (N, N), symmetric positive definite [eV]
    X0 : ndarray (N, m)
        Start block, ``m >= n_wanted`` (extra columns are guard vectors that speed up
        convergence of the wanted ones).
    n_wanted : int
        How many of the lowest pairs must meet the tolerance.
    tol_eV : float
        Residual-norm tolerance [eV]; the eigenvalue error is about residual^2 / gap.
    preconditioner : {"block", "pyamg"}
        ``"block"`` (default): the V-cycle of :class:`GpuAMG` on the CPU for the whole
        block at once (damped Jacobi, sparse-times-block products), with the compiled
        one-pass kernels of :class:`CompiledAMG` when numba is importable, else with
        NumPy/SciPy;
        ``"pyamg"``: pyamg's own V-cycle (symmetric Gauss-Seidel), one vector at a
        time.  Same hierarchy; the block cycle needs a few more iterations but each
        costs less (one pass over each matrix for all vectors).
    engine : {"own", "scipy"}
        ``"own"`` (default): :func:`_lobpcg_wanted`, an LOBPCG iteration that stops as
        soon as the ``n_wanted`` lowest pairs meet ``tol_eV`` and keeps its search
        directions to the end; ``"scipy"``: SciPy's ``lobpcg`` run ``chunk`` iterations
        at a time (below).
    chunk : int or None
        (``engine="scipy"``.) Stop as soon as the ``n_wanted`` lowest pairs meet
        ``tol_eV``: SciPy's LOBPCG only stops when *every* column of the block has converged, guard vectors
        included, and the highest guards converge slowly (a disordered 2 x 2 x 4
        block: the 16 wanted states converged in 15 iterations, the 34-column block
        in 171).  LOBPCG is therefore run ``chunk`` iterations at a time and
        restarted from its current block (the search directions are lost at each
        restart, which costs a few iterations, and each run repeats SciPy's set-up and
        final Rayleigh-Ritz step).  ``None``: SciPy's ``lobpcg`` in one run until the
        whole block converges (the plain path, for comparison), whatever ``engine``.

    Returns
    -------
    vals : ndarray (n_wanted,), vecs : ndarray (N, n_wanted)
    resid : ndarray (n_wanted,), iterations : int
    """
    H = sp.csr_matrix(H)
    ml = amg_hierarchy(H)
    if preconditioner == "block":
        from qdstack.physics import _sparse_kernels

        cycle = CompiledAMG(ml) if _sparse_kernels.available() else GpuAMG(ml, xp=np, xsp=sp)
        M = sla.LinearOperator(H.shape, matvec=cycle, matmat=cycle, dtype=np.float64)
    elif preconditioner == "pyamg":
        M = ml.aspreconditioner(cycle="V")
    else:
        raise ValueError(f"unknown preconditioner {preconditioner!r}")
    X = np.array(X0, dtype=float, copy=True)
    total = 0
    vals = vecs = None
    budget = 3 * maxiter
    if chunk is not None and engine == "own":
        from qdstack.physics import _sparse_kernels

        if _sparse_kernels.available():
            Hs = _sorted_csr(H)

            def apply_h(V, out):
                _sparse_kernels.spmm(Hs, V, out=out)

        else:

            def apply_h(V, out):
                out[...] = H @ V

        while total < budget:
            vals, vecs, it = _lobpcg_wanted(
                apply_h, M.__matmul__, X, n_wanted, tol_eV, min(maxiter, budget - total)
            )
            total += max(1, it)
            res = residual_norms(H, vals[:n_wanted], vecs[:, :n_wanted])
            if np.all(res <= tol_eV):
                break
            X = vecs  # the recurrences drifted: restart from the current block
        return vals[:n_wanted], vecs[:, :n_wanted], res, total
    if engine not in ("own", "scipy"):
        raise ValueError(f"unknown engine {engine!r}")
    while total < budget:
        step = budget - total if chunk is None else min(chunk, budget - total)
        with warnings.catch_warnings():
            # scipy warns when it stops at maxiter; we check the residuals ourselves below
            warnings.simplefilter("ignore")
            vals, vecs, hist = sla.lobpcg(
                H,
                X,
                M=M,
                tol=tol_eV,
                maxiter=min(step, maxiter),
                largest=False,
                retLambdaHistory=True,
            )
        # the history holds the start's and the returned block's Ritz values besides the iterations
        total += max(1, len(hist) - 3)
        order = np.argsort(vals)
        vals, vecs = vals[order], vecs[:, order]
        res = residual_norms(H, vals[:n_wanted], vecs[:, :n_wanted])
        if np.all(res <= tol_eV):
            break
        X = vecs  # restart from the current block
    return vals[:n_wanted], vecs[:, :n_wanted], res, total


def cupy_available() -> bool:
    """Whether CuPy imports and sees a GPU."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, CUDA driver errors: no GPU path
        return False


class GpuAMG:
    """A symmetric AMG V-cycle on the GPU for a whole block of vectors at once.

    The hierarchy (aggregates, smoothed prolongators P, Galerkin operators
    A_l = P^T A_{l-1} P) is set up by pyamg on the CPU, exactly as for the CPU
    path; the cycle runs on the GPU with CuPy: sparse-times-block products
    (cuSPARSE SpMM, one pass over each matrix for all the vectors), damped-Jacobi
    smoothing (``nu`` sweeps before and after, weight ``4 / (3 rho(D^-1 A))``: no
    sequential Gauss-Seidel on a GPU), and a dense pseudo-inverse on the coarsest
    level.  Pre- and post-smoothing are the same, so the preconditioner is
    symmetric positive definite, as LOBPCG needs.
    """

    def __init__(self, ml, nu: int = 2, *, xp=None, xsp=None):
        if xp is None:  # the GPU; ``xp=numpy, xsp=scipy.sparse`` runs the same cycle on the CPU
            import cupy as xp
            import cupyx.scipy.sparse as xsp
        cp, csp = xp, xsp
        self.cp = cp
        self.nu = nu
        self.levels = []
        for lv in ml.levels[:-1]:
            A = sp.csr_matrix(lv.A)
            d = A.diagonal()
            dinv = 1.0 / d
            rho = _rho_jacobi(A, dinv)
            self.levels.append(
                (
                    csp.csr_matrix(A),
                    csp.csr_matrix(sp.csr_matrix(lv.P)),
                    csp.csr_matrix(sp.csr_matrix(lv.P).T.tocsr()),
                    cp.asarray((4.0 / (3.0 * rho)) * dinv)[:, None],
                )
            )
        Ac = ml.levels[-1].A.toarray()
        self.coarse = cp.asarray(np.linalg.pinv(Ac))

    def _cycle(self, B, lvl: int):
        if lvl == len(self.levels):
            return self.coarse @ B
        A, P, R, wd = self.levels[lvl]
        X = wd * B
        for _ in range(self.nu - 1):
            X += wd * (B - A @ X)
        X += P @ self._cycle(R @ (B - A @ X), lvl + 1)
        for _ in range(self.nu):
            X += wd * (B - A @ X)
        return X

    def __call__(self, B):
        B2 = B if B.ndim == 2 else B[:, None]
        out = self._cycle(self.cp.ascontiguousarray(B2), 0)
        return out if B.ndim == 2 else out[:, 0]


class CompiledAMG(GpuAMG):
    """The V-cycle of :class:`GpuAMG` on the CPU with the compiled kernels of
    :mod:`qdstack.physics._sparse_kernels`: each damped-Jacobi sweep and each residual
    is one pass over the rows (instead of four NumPy passes writing temporaries), on all
    cores.  Same hierarchy, same arithmetic up to the order of summation."""

    def __init__(self, ml, nu: int = 2):
        super().__init__(ml, nu, xp=np, xsp=sp)
        self.levels = [
            (_sorted_csr(A), _sorted_csr(P), _sorted_csr(R), np.ascontiguousarray(wd[:, 0]))
            for A, P, R, wd in self.levels
        ]

    def _cycle(self, B, lvl: int):
        from qdstack.physics import _sparse_kernels as K

        if lvl == len(self.levels):
            return self.coarse @ B
        A, P, R, wd = self.levels[lvl]
        X = K.scale_rows(wd, B)
        Y = np.empty_like(X)
        for _ in range(self.nu - 1):
            K.jacobi_sweep(A, X, B, wd, out=Y)
            X, Y = Y, X
        r = K.residual(A, X, B, out=Y)
        K.spmm_add(P, self._cycle(K.spmm(R, r), lvl + 1), X)
        for _ in range(self.nu):
            K.jacobi_sweep(A, X, B, wd, out=Y)
            X, Y = Y, X
        return X


def _sorted_csr(M):
    M = sp.csr_matrix(M)
    M.sum_duplicates()
    M.sort_indices()
    return M


def _rho_jacobi(A, dinv, iters: int = 20) -> float:
    """Spectral radius of D^-1 A (power iteration, 5 % safety margin; D^-1 A ~ 2 for a Laplacian)."""
    x = np.random.default_rng(0).standard_normal(A.shape[0])
    lam = 1.0
    for _ in range(iters):
        y = dinv * (A @ x)
        lam = float(np.linalg.norm(y) / np.linalg.norm(x))
        x = y / np.linalg.norm(y)
    return 1.05 * lam


def lowest_lobpcg_cupy(
    H,
    X0,
    *,
    n_wanted: int,
    tol_eV: float = 1e-6,
    maxiter: int = 400,
    preconditioner: str = "amg",
):
    """As :func:`lowest_lobpcg`, on the GPU (CuPy).

    ``preconditioner="amg"`` (default): :class:`GpuAMG`, the same hierarchy as the
    CPU path with a block V-cycle on the GPU; ``"jacobi"``: the diagonal (the old
    path: thousands of iterations, kept for comparison in the benchmark).
    """
    import cupy as cp
    import cupyx.scipy.sparse as csp
    import cupyx.scipy.sparse.linalg as csla

    H = sp.csr_matrix(H)
    Hg = csp.csr_matrix(H)
    n = H.shape[0]
    if preconditioner == "amg":
        amg = GpuAMG(amg_hierarchy(H))
        M = csla.LinearOperator((n, n), matvec=amg, matmat=amg, dtype=np.float64)
    elif preconditioner == "jacobi":
        M = csp.diags(1.0 / cp.asarray(H.diagonal()))
        maxiter = max(maxiter, 2000)
    else:
        raise ValueError(f"unknown preconditioner {preconditioner!r}")
    X = cp.asarray(np.asarray(X0, dtype=float))
    total = 0
    for _attempt in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vals, vecs, hist = csla.lobpcg(
                Hg, X, M=M, tol=tol_eV, maxiter=maxiter, largest=False, retLambdaHistory=True
            )
        total += len(hist)
        order = cp.argsort(vals)
        vals, vecs = vals[order], vecs[:, order]
        R = Hg @ vecs[:, :n_wanted] - vecs[:, :n_wanted] * vals[None, :n_wanted]
        res = cp.asnumpy(cp.linalg.norm(R, axis=0) / cp.linalg.norm(vecs[:, :n_wanted], axis=0))
        if np.all(res <= tol_eV):
            break
        X = vecs
    return cp.asnumpy(vals[:n_wanted]), cp.asnumpy(vecs[:, :n_wanted]), res, total


def _interp_matrix(x_old: np.ndarray, x_new: np.ndarray) -> sp.csr_matrix:
    """Linear interpolation (linear extrapolation beyond the ends) as a sparse matrix."""
    n_old = len(x_old)
    if n_old == 1:
        return sp.csr_matrix(np.ones((len(x_new), 1)))
    idx = np.clip(np.searchsorted(x_old, x_new) - 1, 0, n_old - 2)
    t = (x_new - x_old[idx]) / (x_old[idx + 1] - x_old[idx])
    rows = np.repeat(np.arange(len(x_new)), 2)
    cols = np.stack([idx, idx + 1], axis=1).ravel()
    data = np.stack([1 - t, t], axis=1).ravel()
    return sp.csr_matrix((data, (rows, cols)), shape=(len(x_new), n_old))


def prolongate(
    values: np.ndarray, centres_old: list[np.ndarray], centres_new: list[np.ndarray]
) -> np.ndarray:
    """Interpolate grid functions (columns of ``values``, C order) onto new cell centres."""
    shape_old = [len(c) for c in centres_old]
    mats = [_interp_matrix(o, n) for o, n in zip(centres_old, centres_new)]
    out = []
    for col in np.atleast_2d(values.T):
        a = col.reshape(shape_old)
        for axis, Mx in enumerate(mats):
            a = np.moveaxis(a, axis, 0)
            sh = a.shape
            a = (Mx @ a.reshape(sh[0], -1)).reshape((Mx.shape[0],) + sh[1:])
            a = np.moveaxis(a, 0, axis)
        out.append(a.ravel())
    return np.array(out).T
