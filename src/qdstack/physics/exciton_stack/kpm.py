"""Chebyshev moments of the bright vector (kernel polynomial method), matrix-free.

Gershgorin spectral bounds, the scaled matrix-free operator on (R, S, S) arrays, the
moment recursion (numpy blocks or the compiled kernel of :mod:`qdstack.physics._stack_kernels`)
and the exact Chebyshev coefficients of a Gaussian line.  The method:
:mod:`qdstack.physics.exciton_stack`.
"""

from __future__ import annotations

import math
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np

from qdstack.errors import InputError
from qdstack.physics.exciton_stack.hamiltonian import ExcitonStack, _single_thread_blas


def _incidence(bonds: np.ndarray, n_sites: int) -> np.ndarray:
    """Bond-site incidence matrix, shape (B, S): 1 where the bond touches the dot."""
    inc = np.zeros((bonds.shape[0], n_sites))
    if bonds.size:
        k = np.arange(bonds.shape[0])
        inc[k, bonds[:, 0]] = 1.0
        inc[k, bonds[:, 1]] = 1.0
    return inc


def spectral_bounds_meV(
    stack: ExcitonStack, chunk: int = 8192, *, engine: str = "auto"
) -> tuple[float, float]:
    """Gershgorin bounds [meV] that contain every eigenvalue of every realisation.

    Row ``|ij>`` has the centre ``e_i + h_j - U_ij`` and the radius
    ``sum_b |beta^e_b| (bonds at i) + sum_b |beta^h_b| (bonds at j)``
    (+ ``sum_k |J_ik|`` when i = j).  ``engine``: as in :func:`chebyshev_moments`
    (the compiled one makes one pass over the arrays; the same numbers).
    """
    if _use_compiled(engine, float(stack.n_realisations) * stack.dimension * _TYPICAL_MOMENTS):
        lo, hi, _ = _compiled_kernels().bounds_and_centroid(stack)
        return lo, hi
    s = stack.n_sites
    inc = _incidence(stack.bonds, s)
    lo, hi = math.inf, -math.inf
    for a in range(0, stack.n_realisations, chunk):
        rows = slice(a, a + chunk)
        rad_e = np.abs(stack.beta_e_meV[rows]) @ inc  # (R, S)
        rad_h = np.abs(stack.beta_h_meV[rows]) @ inc
        d = stack.pair_energies_meV(rows)
        rad = rad_e[:, :, None] + rad_h[:, None, :]
        if stack.dipolar_meV is not None:
            i = np.arange(s)
            rad[:, i, i] += np.abs(stack.dipolar_meV[rows]).sum(axis=2)
        lo = min(lo, float(np.min(d - rad)))
        hi = max(hi, float(np.max(d + rad)))
    return lo, hi


# ----------------------------------------------------------------------------- matrix-free operator


def _hop_groups(bonds: np.ndarray):
    """Directed hops grouped so that the targets inside a group are unique.

    Returns a list of (targets, sources, bond_ids); each index is a slice when
    it is a contiguous run, so that the hops of a chain are plain array views.
    """
    directed = [(int(a), int(b), k) for k, (a, b) in enumerate(bonds)]
    directed += [(int(b), int(a), k) for k, (a, b) in enumerate(bonds)]
    groups: list[list[tuple[int, int, int]]] = []
    for hop in directed:
        for g in groups:
            if all(hop[0] != t for t, _, _ in g):
                g.append(hop)
                break
        else:
            groups.append([hop])

    def as_index(values):
        values = np.asarray(values, dtype=np.intp)
        if values.size and np.all(np.diff(values) == 1):
            return slice(int(values[0]), int(values[-1]) + 1)
        return values

    out = []
    for g in groups:
        g.sort()
        t, s_, k = zip(*g)
        out.append((as_index(t), as_index(s_), as_index(k)))
    return out


class _ScaledOperator:
    """``alpha * (H - shift)`` for a block of realisations, on arrays of shape (S, S, R).

    The realisation index is the last (contiguous) axis, so every operation
    runs over long contiguous runs of memory whatever the number of dots.
    """

    def __init__(self, stack: ExcitonStack, rows: slice, alpha: float, shift_meV: float):
        s = stack.n_sites
        self.s = s
        d = alpha * (stack.pair_energies_meV(rows) - shift_meV)
        self.diag = np.ascontiguousarray(d.transpose(1, 2, 0))
        be = -alpha * stack.beta_e_meV[rows].T  # (B, R)
        bh = -alpha * stack.beta_h_meV[rows].T
        self.e_hops = []
        self.h_hops = []
        for t, src, k in _hop_groups(stack.bonds):
            self.e_hops.append((t, src, np.ascontiguousarray(be[k])[:, None, :]))
            self.h_hops.append((t, src, np.ascontiguousarray(bh[k])[None, :, :]))
        self.dip = None
        if stack.dipolar_meV is not None:
            self.dip = np.ascontiguousarray((alpha * stack.dipolar_meV[rows]).transpose(1, 2, 0))
        self.diag_idx = np.arange(s) * (s + 1)
        self._tmp = None

    def apply(self, v: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out = alpha (H - shift) v`` for ``v`` of shape (S, S, R); returns ``out``."""
        np.multiply(self.diag, v, out=out)
        if self._tmp is None or self._tmp.shape != v.shape:
            self._tmp = np.empty_like(v)
        tmp = self._tmp
        for t, src, c in self.e_hops:
            part = v[src, :, :]
            buf = tmp[: part.shape[0]]
            np.multiply(c, part, out=buf)
            out[t, :, :] += buf
        for t, src, c in self.h_hops:
            part = v[:, src, :]
            buf = tmp[:, : part.shape[1]]
            np.multiply(c, part, out=buf)
            out[:, t, :] += buf
        if self.dip is not None:
            s = self.s
            # |ii> components: a strided view (every (S+1)-th row), no copies
            diag_in = v.reshape(s * s, -1)[:: s + 1]
            out.reshape(s * s, -1)[:: s + 1] += np.einsum("ikr,kr->ir", self.dip, diag_in)
        return out


def _bright_start(r: int, s: int) -> np.ndarray:
    """Bright start vectors ``sum_i |ii> / sqrt(S)`` of r realisations, shape (S, S, r)."""
    v = np.zeros((s, s, r))
    i = np.arange(s)
    v[i, i, :] = 1.0 / math.sqrt(s)
    return v


def chebyshev_moments(
    stack: ExcitonStack,
    n_moments: int,
    centre_meV: float,
    half_width_meV: float,
    *,
    chunk: int | None = None,
    threads: int = 1,
    engine: str = "auto",
) -> np.ndarray:
    """Ensemble-averaged Chebyshev moments of the bright vector, shape (n_moments,).

    ``mu_m = (1/R) sum_r <b_r| T_m((H_r - centre) / half_width) |b_r>`` with
    ``b = sum_i |ii> / sqrt(S)``; every eigenvalue must lie inside
    ``centre +- half_width`` (use :func:`spectral_bounds_meV`).

    Parameters
    ----------
    stack : ExcitonStack
    n_moments : int
        Number of moments M (M/2 + 1 matrix-vector products per realisation).
    centre_meV, half_width_meV : float
        The affine map of the spectrum onto [-1, 1].
    chunk : int, optional
        Realisations per job (default: the compiled engine splits the ensemble
        into one job per thread, or jobs of 2**14 realisations; the numpy engine
        uses blocks of about 2**16 numbers, which stay in cache).
    threads : int
        Jobs computed in parallel threads (numpy and the compiled kernel release
        the GIL); the result does not depend on it (the jobs are summed in order).
    engine : {"auto", "compiled", "numpy"}
        ``"compiled"``: the numba kernel of :mod:`qdstack.physics._stack_kernels`
        (one fused pass per matrix-vector product, 5-6x faster than numpy on an
        8-layer column); ``"numpy"``: array operations; ``"auto"``: compiled when
        numba is importable and either the kernel already ran in this process or
        the numpy path would take longer (about 0.5 s) than importing numba and
        loading the kernel.  Both do the same float64 arithmetic (they agree to
        ~1e-15; tested).

    References
    ----------
    A. Weisse et al., Rev. Mod. Phys. 78, 275 (2006), section II.B (moments,
    the doubling relations mu_2n = 2 <v_n|v_n> - mu_0, mu_2n+1 = 2 <v_n+1|v_n> - mu_1).
    """
    n_moments = int(n_moments)
    if n_moments < 1:
        raise InputError("at least one moment is needed", "n_moments")
    if not half_width_meV > 0:
        raise InputError(
            "the half width of the spectral interval must be positive", "half_width_meV"
        )
    r_total = stack.n_realisations
    compiled = _use_compiled(engine, float(r_total) * stack.dimension * n_moments)
    if chunk is None:
        if compiled:
            chunk = min(1 << 14, -(-r_total // max(1, int(threads))))
        else:
            chunk = (1 << 16) // stack.dimension
    chunk = max(1, int(chunk))
    jobs = [slice(a, min(a + chunk, r_total)) for a in range(0, r_total, chunk)]

    if compiled:
        kernels = _compiled_kernels()
        alpha = 2.0 / half_width_meV  # the kernel applies 2 H~ = alpha (H - centre)

        def work(rows):
            return kernels.moments_sum(stack, rows, n_moments, alpha, centre_meV)
    else:

        def work(rows):
            return _moments_block(stack, rows, n_moments, centre_meV, half_width_meV)

    with nullcontext() if compiled else _single_thread_blas():
        if threads > 1 and len(jobs) > 1:
            with ThreadPoolExecutor(max_workers=int(threads)) as pool:
                parts = list(pool.map(work, jobs))
        else:
            parts = [work(rows) for rows in jobs]
    return np.sum(parts, axis=0) / r_total


def _compiled_kernels():
    """The numba kernel module, or None when numba is not importable."""
    from qdstack.physics import _stack_kernels

    return _stack_kernels if _stack_kernels.available() else None


#: numpy cost of the moments per (realisation x pair state x moment) [s], and what importing
#: numba and loading the compiled kernel from its cache costs a fresh process [s]; both measured
#: on the 2-core reference machine (benchmarks/bench_film.py, docs/guide/performance.md)
_NUMPY_S_PER_UNIT = 3.5e-9
_COMPILED_START_S = 0.5
_TYPICAL_MOMENTS = 48


def _use_compiled(engine: str, work_units: float) -> bool:
    """Whether to run the compiled kernels: ``engine`` as asked; ``"auto"`` picks them when numba
    is there and either they already ran in this process or the numpy path would take longer than
    their start-up (``work_units`` = realisations x pair states x moments)."""
    if engine == "numpy":
        return False
    if engine not in ("auto", "compiled"):
        raise InputError(f"unknown engine {engine!r}; use auto, compiled or numpy", "engine")
    if engine == "compiled":
        if _compiled_kernels() is None:
            raise InputError("the compiled engine needs numba (pip install numba)", "engine")
        return True
    loaded = sys.modules.get("qdstack.physics._stack_kernels")
    if loaded is not None and loaded.available() and loaded.is_warm():
        return True
    if work_units * _NUMPY_S_PER_UNIT < _COMPILED_START_S:
        return False
    return _compiled_kernels() is not None


def _moments_block(stack: ExcitonStack, rows: slice, n_moments: int, centre: float, half: float):
    """Sum over one block of realisations of the bright-vector Chebyshev moments."""
    op = _ScaledOperator(stack, rows, 2.0 / half, centre)  # applies 2 H~
    r = op.diag.shape[2]
    s = stack.n_sites
    mu = np.zeros(n_moments)
    v_prev = _bright_start(r, s)  # v_0
    v_cur = op.apply(v_prev, np.empty_like(v_prev))
    v_cur *= 0.5  # v_1 = H~ v_0
    spare = np.empty_like(v_prev)
    mu0 = float(r)  # every start vector has norm 1
    mu1 = float(np.vdot(v_prev, v_cur))
    mu[0] = mu0
    if n_moments > 1:
        mu[1] = mu1
    n = 1
    while 2 * n < n_moments:
        mu[2 * n] = 2.0 * float(np.vdot(v_cur, v_cur)) - mu0
        if 2 * n + 1 >= n_moments:
            break
        # v_{n+1} = 2 H~ v_n - v_{n-1}
        v_next = op.apply(v_cur, spare)
        v_next -= v_prev
        mu[2 * n + 1] = 2.0 * float(np.vdot(v_next, v_cur)) - mu1
        v_prev, v_cur, spare = v_cur, v_next, v_prev
        n += 1
    return mu


def gaussian_chebyshev_coefficients(
    energy_meV, centre_meV: float, half_width_meV: float, sigma_meV: float, n_moments: int
) -> tuple[np.ndarray, np.ndarray]:
    """Chebyshev coefficients of a Gaussian line, ``x -> g(E - c - a x)`` on [-1, 1].

    .. math::

        g(E - c - a x) = \\sum_m c_m(E) T_m(x), \\qquad
        c_m(E) = \\frac{2 - \\delta_{m0}}{\\pi} \\int_0^\\pi g(E - c - a\\cos\\theta)
                 \\cos(m\\theta)\\, d\\theta,

    with ``g(u) = exp(-u^2 / 2 sigma^2) / (sqrt(2 pi) sigma)`` [1/meV], by
    Gauss-Chebyshev quadrature on enough nodes that the quadrature error is at
    machine precision (a DCT-II).

    Parameters
    ----------
    energy_meV : array_like, shape (n_E,)
        Energies where the spectrum is wanted [meV, same zero as the centre].
    centre_meV, half_width_meV : float
        The map of the spectrum onto [-1, 1].
    sigma_meV : float
        Standard deviation of the homogeneous Gaussian line [meV].
    n_moments : int
        Number of coefficients M.

    Returns
    -------
    coeffs : ndarray, shape (M, n_E)
    tail : ndarray, shape (M + 1,)
        ``tail[k] = max_E sum_{m >= k} |c_m(E)|`` for the coefficients computed:
        the truncation-error bound of a spectrum made of the first k moments
        (exact bound when the coefficients beyond M are negligible, which the
        caller checks by asking for more than it needs).
    """
    from scipy.fft import dct

    e = np.asarray(energy_meV, dtype=float)
    a = float(half_width_meV)
    sig = float(sigma_meV)
    m = int(n_moments)
    # nodes: resolve the Gaussian (a dtheta << sigma) and exceed the degree: the quadrature
    # aliases c_{2K - m} onto c_m, and with K >= 2M that is c_{3M} or beyond, negligible
    # against the tail bound at M (the coefficients fall like exp(-(m sigma / a)^2 / 2))
    k = 1 << int(math.ceil(math.log2(max(2 * m, 32 * a / sig, 128))))
    theta = np.pi * (np.arange(k) + 0.5) / k
    x = centre_meV + a * np.cos(theta)
    u = (e[:, None] - x[None, :]) / sig
    g = np.exp(-0.5 * u * u) / (math.sqrt(2.0 * math.pi) * sig)
    # DCT-II: y_m = 2 sum_k g_k cos(pi m (2k + 1) / 2K) = 2 sum_k g_k cos(m theta_k), and
    # c_m = (2 - delta_m0) / K sum_k g_k cos(m theta_k) = (2 - delta_m0) y_m / (2K)
    c = dct(g, type=2, axis=1)[:, :m] / k
    c[:, 0] *= 0.5
    coeffs = np.ascontiguousarray(c.T)
    absc = np.abs(coeffs)
    tail = np.concatenate([np.cumsum(absc[::-1], axis=0)[::-1].max(axis=1), [0.0]])
    return coeffs, tail
