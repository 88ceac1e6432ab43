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
  chunks on all cores (:class:`_RowPasses`).
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


def _sym(G):
    return 0.5 * (G + G.T)


def _cholesky_qr(V):
    """Orthonormal columns spanning V by Cholesky QR: ``(Q, T)`` with ``Q = V @ T``.

    ``None`` when the Gram matrix is numerically singular (the caller drops the block).
    """
    import scipy.linalg as sl

    try:
        L = np.linalg.cholesky(_sym(V.T @ V))
    except np.linalg.LinAlgError:
        return None
    T = sl.solve_triangular(L, np.eye(L.shape[0]), lower=True).T
    return V @ T, T


#: Rows per chunk of the block passes in :func:`_lobpcg_wanted`: a chunk of the six
#: N x m blocks (m ~ 20) is ~8 MB and stays in cache between the products that read it.
_CHUNK_ROWS = 8192
#: The rows of the block passes are split into this many contiguous parts, each summed
#: in order and the parts then in order, whatever the number of threads that run them,
#: so the result does not depend on the machine's core count.
_ROW_PARTS = 4


def _inv_chol(G):
    """``T`` with ``T^T G T = I`` (inverse transposed Cholesky factor), or None if G is singular."""
    import scipy.linalg as sl

    try:
        L = np.linalg.cholesky(_sym(G))
    except np.linalg.LinAlgError:
        return None
    return sl.solve_triangular(L, np.eye(L.shape[0]), lower=True).T


def _n_threads() -> int:
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(_ROW_PARTS, cores))


class _RowPasses:
    """Runs a function over row chunks of the LOBPCG blocks, the parts on threads.

    ``run(fn)`` calls ``fn(rows)`` for every chunk (``rows`` a slice) and returns the
    sum of the results (small matrices or vectors; None when ``fn`` returns None).  The
    BLAS and NumPy calls inside release the GIL, so the parts run on separate cores
    (each BLAS call single-threaded: no spin-waiting BLAS threads).
    """

    def __init__(self, n_rows: int, chunk_rows: int, threads: int):
        size = -(-n_rows // _ROW_PARTS)
        self.parts = []
        for a in range(0, n_rows, size):
            b = min(a + size, n_rows)
            self.parts.append([slice(c, min(c + chunk_rows, b)) for c in range(a, b, chunk_rows)])
        self.threads = threads

    def run(self, fn):
        def part(chunks):
            acc = None
            for rows in chunks:
                r = fn(rows)
                if r is not None:
                    acc = r if acc is None else acc + r
            return acc

        if self.threads > 1 and len(self.parts) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(self.threads, len(self.parts))) as pool:
                results = list(pool.map(part, self.parts))
        else:
            results = [part(c) for c in self.parts]
        acc = None
        for r in results:
            if r is not None:
                acc = r if acc is None else acc + r
        return acc


def _lobpcg_wanted(
    A, M, X, n_wanted: int, tol: float, maxiter: int, *, chunk_rows=_CHUNK_ROWS, threads=None
):
    """LOBPCG (Knyazev 2001) for the lowest ``m = X.shape[1]`` pairs of A, preconditioner M.

    The textbook iteration with soft locking: each step Rayleigh-Ritz on
    ``[X, W, P]`` (W = M R of the unconverged columns, orthogonalised against X;
    P the previous step's search directions of those columns), the generalised dense
    eigenproblem ``G_A c = lambda G_B c`` solved for the lowest m.  It stops as soon as
    the ``n_wanted`` lowest residuals ``||A x - lambda x||`` are below ``tol``; guard
    columns (beyond n_wanted) only widen the subspace.  When G_B is too ill-conditioned
    for its Cholesky factor P is dropped for that step (as SciPy's restart does).  The
    result is finished by an explicit Rayleigh-Ritz step with a freshly computed ``A X``.

    ``A(V, out)`` writes ``A V`` into ``out``; ``M(R)`` returns the preconditioned block.

    The N x m blocks are large (a 1.6 M-unknown grid: 256 MB each) and every
    operation on them is memory-bound, so the work passes over them as few times as
    possible: X, P, W live side by side in one array (A X, A P, A W in another), W and
    P are never normalised in place (their Cholesky factors are folded into the small
    Gram and coefficient matrices), the Gram matrices are accumulated in one pass over
    row chunks that stay in cache, and the update ``X <- X C0 + W C1 + P C2`` (with
    A X, P, A P and the next residual) is a second pass, in place.  The passes run on
    up to :data:`_ROW_PARTS` threads (:class:`_RowPasses`).  The iteration is the same
    as the block-by-block one (agreement to rounding, tests).

    Returns ``(vals, vecs, iterations)``, all m columns, ascending.
    """
    import scipy.linalg as sl

    Q = _cholesky_qr(X)
    X0 = Q[0] if Q is not None else np.linalg.qr(X)[0]
    N, m = X0.shape
    S = np.empty((N, 3 * m))  # [X | P | W]
    AS = np.empty((N, 3 * m))  # [AX | AP | AW]
    X, P, Wb = S[:, :m], S[:, m : 2 * m], S[:, 2 * m :]
    AX, AP, AWb = AS[:, :m], AS[:, m : 2 * m], AS[:, 2 * m :]
    X[...] = X0
    del X0, Q
    A(X, AX)
    passes = _RowPasses(N, chunk_rows, _n_threads() if threads is None else threads)
    lam, C = sl.eigh(_sym(passes.run(lambda r: X[r].T @ AX[r])))
    R = np.empty((N, m))

    def rotate(r):
        Xs, AXs = X[r] @ C, AX[r] @ C
        X[r], AX[r] = Xs, AXs
        Rs = AXs - Xs * lam
        R[r] = Rs
        return np.einsum("ij,ij->j", Rs, Rs)

    res2 = passes.run(rotate)
    have_p = False
    it = 0
    while it < maxiter:
        res = np.sqrt(res2)
        if np.all(res[:n_wanted] <= tol):
            break
        act = res > tol
        Wn = M(R if act.all() else np.ascontiguousarray(R[:, act]))
        Wn = Wn if Wn.ndim == 2 else Wn[:, None]
        na = Wn.shape[1]
        W, AW = Wb[:, :na], AWb[:, :na]
        # W <- W - X (X^T W), and W^T W
        G = passes.run(lambda r: X[r].T @ Wn[r])

        def orthogonalise(r):
            Ws = Wn[r] - X[r] @ G
            W[r] = Ws
            return Ws.T @ Ws

        WtW = passes.run(orthogonalise)
        del Wn
        TW = _inv_chol(WtW)
        if TW is None:
            W[...] = np.linalg.qr(W)[0]
            TW = np.eye(na)
        A(W, AW)
        cols = np.flatnonzero(act) if have_p else np.zeros(0, dtype=int)
        nP = len(cols)
        tot = m + na + nP
        # Gram matrices in the order [X, W, P(active columns)], upper blocks
        if have_p:

            def gram(r):
                x, w, p = X[r], W[r], P[r]
                xs, axs = S[r, : 2 * m + na], AS[r, : 2 * m + na]
                return np.concatenate(
                    [
                        (x.T @ axs).ravel(),  # X^T [AX AP AW]
                        (x.T @ xs).ravel(),  # X^T [X P W]
                        (p.T @ AS[r, m : 2 * m + na]).ravel(),  # P^T [AP AW]
                        (p.T @ S[r, m : 2 * m + na]).ravel(),  # P^T [P W]
                        (w.T @ AW[r]).ravel(),  # W^T AW
                    ]
                )

        else:

            def gram(r):
                x, w, ax, aw = X[r], W[r], AX[r], AW[r]
                return np.concatenate(
                    [
                        (x.T @ ax).ravel(),
                        (x.T @ aw).ravel(),
                        (x.T @ x).ravel(),
                        (x.T @ w).ravel(),
                        (w.T @ aw).ravel(),
                    ]
                )

        flat = passes.run(gram)
        GA = np.zeros((tot, tot))
        GB = np.zeros((tot, tot))
        iX, iW, iP = slice(0, m), slice(m, m + na), slice(m + na, tot)
        if have_p:
            w1, w2 = 2 * m + na, m + na
            o = 0
            XA = flat[o : o + m * w1].reshape(m, w1)
            o += m * w1
            XB = flat[o : o + m * w1].reshape(m, w1)
            o += m * w1
            PA = flat[o : o + m * w2].reshape(m, w2)[cols]
            o += m * w2
            PB = flat[o : o + m * w2].reshape(m, w2)[cols]
            o += m * w2
            WA = flat[o:].reshape(na, na)
            GA[iX, iX], GA[iX, iP], GA[iX, iW] = (
                XA[:, :m],
                XA[:, m : 2 * m][:, cols],
                XA[:, 2 * m :],
            )
            GB[iX, iX], GB[iX, iP], GB[iX, iW] = (
                XB[:, :m],
                XB[:, m : 2 * m][:, cols],
                XB[:, 2 * m :],
            )
            GA[iP, iP], GA[iW, iP] = PA[:, :m][:, cols], PA[:, m:].T
            GB[iP, iP], GB[iW, iP] = PB[:, :m][:, cols], PB[:, m:].T
            GA[iW, iW] = WA
        else:
            o = 0
            GA[iX, iX] = flat[o : o + m * m].reshape(m, m)
            o += m * m
            GA[iX, iW] = flat[o : o + m * na].reshape(m, na)
            o += m * na
            GB[iX, iX] = flat[o : o + m * m].reshape(m, m)
            o += m * m
            GB[iX, iW] = flat[o : o + m * na].reshape(m, na)
            o += m * na
            GA[iW, iW] = flat[o:].reshape(na, na)
        GA = np.triu(GA) + np.triu(GA, 1).T
        GB = np.triu(GB) + np.triu(GB, 1).T
        # fold the normalisations of W (TW) and P (TP) into the Gram matrices
        T = np.zeros((tot, tot))
        T[iX, iX] = np.eye(m)
        T[iW, iW] = TW
        nb = 2
        if have_p:
            TP = _inv_chol(GB[iP, iP])
            if TP is not None:
                T[iP, iP] = TP
                nb = 3
        vals = Cc = None
        while vals is None:
            n_sub = m + na + (nP if nb == 3 else 0)
            Ts = T[:n_sub, :n_sub]
            GAs = Ts.T @ GA[:n_sub, :n_sub] @ Ts
            GBs = Ts.T @ GB[:n_sub, :n_sub] @ Ts
            GBs[iW, iW] = np.eye(na)  # orthonormal by construction
            if nb == 3:
                GBs[iP, iP] = np.eye(nP)
            try:
                vals, Cc = sl.eigh(_sym(GAs), _sym(GBs), subset_by_index=[0, m - 1])
            except (np.linalg.LinAlgError, ValueError):
                if nb == 2:
                    raise
                nb = 2  # drop P for this step
        Cc = Ts @ Cc
        C0, C1 = Cc[iX], Cc[iW]
        C2 = Cc[iP] if nb == 3 else None

        def update(r):
            Pn = W[r] @ C1
            APn = AW[r] @ C1
            if C2 is not None:
                Pn += P[r][:, cols] @ C2
                APn += AP[r][:, cols] @ C2
            Xn = X[r] @ C0
            Xn += Pn
            AXn = AX[r] @ C0
            AXn += APn
            X[r], AX[r], P[r], AP[r] = Xn, AXn, Pn, APn
            Rs = AXn - Xn * vals
            R[r] = Rs
            return np.einsum("ij,ij->j", Rs, Rs)

        res2 = passes.run(update)
        have_p = True
        lam = vals
        it += 1
    A(X, AX)
    lam, C = sl.eigh(
        _sym(passes.run(lambda r: X[r].T @ AX[r])), _sym(passes.run(lambda r: X[r].T @ X[r]))
    )
    return lam, X @ C, it


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

    def __call__(self, B):
        B2 = B if B.ndim == 2 else B[:, None]
        out = self._cycle(np.ascontiguousarray(B2, dtype=float), 0)
        return out if B.ndim == 2 else out[:, 0]


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
