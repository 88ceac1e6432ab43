"""Compiled kernel of the Chebyshev recursion of :mod:`qdstack.physics.exciton_stack`.

The numpy path (``_ScaledOperator`` + ``_moments_block``) makes about a dozen
passes over memory per matrix-vector product, each a separate numpy call, on
copies of the stack's arrays transposed to put the realisations last.  This
kernel does the same arithmetic (the same operator, the same three-term
recursion and doubling relations, float64 throughout) in one compiled loop
nest: it reads the stack's arrays as they are, transposes one small block of
realisations at a time into buffers that stay in the L1/L2 cache, and computes
each matrix-vector product in a single pass that also accumulates the two
scalar products the doubling relations need.  It is used when numba is
importable; :func:`available` says whether it is.

Inside a block every work array has the realisation index last, so the
innermost loops run over contiguous realisations and vectorise whatever the
number of dots.
"""

from __future__ import annotations

import math

import numpy as np

try:  # numba is a dependency, but the numpy path must keep working without it
    import numba as _nb
except ImportError:  # pragma: no cover - exercised only where numba is missing
    _nb = None

#: numbers per work vector of a cache block (S * S * block): 128 KiB of float64, so the
#: kernel's five block arrays stay in a core's L2 cache; 256 realisations for 8 dots
BLOCK_NUMBERS = 1 << 14


def block_size(n_sites: int) -> int:
    """Realisations per cache block: ``BLOCK_NUMBERS / S**2``, at least 32, at most 256."""
    return int(max(32, min(256, BLOCK_NUMBERS // max(n_sites * n_sites, 1))))


_WARM = False  # set once a kernel has run in this process (compiled or loaded from the cache)


def available() -> bool:
    """True when the compiled kernel can be used (numba importable)."""
    return _nb is not None


def is_warm() -> bool:
    """True once a kernel has run in this process (no compilation or cache load left to pay)."""
    return _WARM


def _neighbours(bonds: np.ndarray, n_sites: int):
    """CSR adjacency of the bond graph: for site i, ``nbr[ptr[i]:ptr[i+1]]`` and their bond ids."""
    lists = [[] for _ in range(n_sites)]
    for k, (a, b) in enumerate(np.asarray(bonds, dtype=np.int64).reshape(-1, 2)):
        lists[int(a)].append((int(b), k))
        lists[int(b)].append((int(a), k))
    ptr = np.zeros(n_sites + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(x) for x in lists])
    flat = [pair for x in lists for pair in x]
    nbr = np.array([p for p, _ in flat], dtype=np.int64)
    bond = np.array([k for _, k in flat], dtype=np.int64)
    return ptr, nbr, bond


def _step(diag, ce, ch, ptr, nbr, bid, dip, has_dip, n, v, out, prev, use_prev, sums):
    """``out = 2H~ v (- prev)`` on one block; ``sums = (<v|v>, <out|v>)`` accumulated on the way.

    Each output element is written once: the diagonal term, then the hops of
    the electron (to the neighbours of its dot i) and of the hole (neighbours
    of j), then the dipolar transfer on the |ii> components.
    """
    s = diag.shape[0]
    vv = 0.0
    ov = 0.0
    for i in range(s):
        for j in range(s):
            d = diag[i, j]
            x = v[i, j]
            o = out[i, j]
            if use_prev:
                w = prev[i, j]
                for r in range(n):
                    o[r] = d[r] * x[r] - w[r]
            else:
                for r in range(n):
                    o[r] = d[r] * x[r]
            for t in range(ptr[i], ptr[i + 1]):
                c = ce[bid[t]]
                y = v[nbr[t], j]
                for r in range(n):
                    o[r] += c[r] * y[r]
            for t in range(ptr[j], ptr[j + 1]):
                c = ch[bid[t]]
                y = v[i, nbr[t]]
                for r in range(n):
                    o[r] += c[r] * y[r]
            if has_dip and i == j:
                for m in range(s):
                    if m != i:
                        c = dip[i, m]
                        y = v[m, m]
                        for r in range(n):
                            o[r] += c[r] * y[r]
            for r in range(n):
                vv += x[r] * x[r]
                ov += o[r] * x[r]
    sums[0] = vv
    sums[1] = ov


def _moments(e, h, u, be, bh, jd, has_dip, ptr, nbr, bid, alpha, shift, n_moments, block):
    """Sum over realisations of ``<b| T_m(H~) |b>``, m < n_moments (doubling relations).

    ``2H~ = alpha (H - shift)`` with ``alpha = 2 / a``; ``e``, ``h`` (R, S),
    ``u`` and ``jd`` (R, S, S), ``be``, ``bh`` (R, B) are the stack's arrays.
    """
    r_total = e.shape[0]
    s = e.shape[1]
    n_b = be.shape[1]
    mu = np.zeros(n_moments)
    va = np.zeros((s, s, block))
    vb = np.zeros((s, s, block))
    vc = np.zeros((s, s, block))
    diag = np.zeros((s, s, block))
    ce = np.zeros((max(n_b, 1), block))
    ch = np.zeros((max(n_b, 1), block))
    dip = np.zeros((s, s, block)) if has_dip else np.zeros((1, 1, block))
    sums = np.zeros(2)
    inv = 1.0 / math.sqrt(s)
    for r0 in range(0, r_total, block):
        n = min(block, r_total - r0)
        # this block's operator, realisations last
        for r in range(n):
            q = r0 + r
            for i in range(s):
                for j in range(s):
                    diag[i, j, r] = alpha * (e[q, i] + h[q, j] - u[q, i, j] - shift)
            for k in range(n_b):
                ce[k, r] = -alpha * be[q, k]
                ch[k, r] = -alpha * bh[q, k]
            if has_dip:
                for i in range(s):
                    for j in range(s):
                        dip[i, j, r] = alpha * jd[q, i, j]
        prev, cur, nxt = va, vb, vc
        for i in range(s):
            for j in range(s):
                for r in range(n):
                    prev[i, j, r] = inv if i == j else 0.0
        # v_1 = H~ v_0 = (2H~ v_0) / 2
        _step(diag, ce, ch, ptr, nbr, bid, dip, has_dip, n, prev, cur, prev, False, sums)
        mu0 = float(n)  # every start vector has norm 1
        mu1 = 0.5 * sums[1]
        for i in range(s):
            for j in range(s):
                for r in range(n):
                    cur[i, j, r] *= 0.5
        mu[0] += mu0
        if n_moments > 1:
            mu[1] += mu1
        k = 1
        while 2 * k < n_moments:
            if 2 * k + 1 >= n_moments:
                vv = 0.0
                for i in range(s):
                    for j in range(s):
                        for r in range(n):
                            vv += cur[i, j, r] * cur[i, j, r]
                mu[2 * k] += 2.0 * vv - mu0
                break
            # v_{k+1} = 2 H~ v_k - v_{k-1}; sums = (<v_k|v_k>, <v_{k+1}|v_k>)
            _step(diag, ce, ch, ptr, nbr, bid, dip, has_dip, n, cur, nxt, prev, True, sums)
            mu[2 * k] += 2.0 * sums[0] - mu0
            mu[2 * k + 1] += 2.0 * sums[1] - mu1
            prev, cur, nxt = cur, nxt, prev
            k += 1
    return mu


def _bounds_centroid(e, h, u, be, bh, jd, has_dip, ptr, nbr, bid):
    """Gershgorin bounds of every realisation and the sum of the bright centroids.

    The same quantities as :func:`qdstack.physics.exciton_stack.spectral_bounds_meV`
    and ``bright_centroid_meV(stack).sum()``, in one pass over the arrays.
    """
    r_total = e.shape[0]
    s = e.shape[1]
    lo = np.inf
    hi = -np.inf
    csum = 0.0
    rad_e = np.zeros(s)
    rad_h = np.zeros(s)
    rad_j = np.zeros(s)
    for q in range(r_total):
        for i in range(s):
            a = 0.0
            b = 0.0
            for t in range(ptr[i], ptr[i + 1]):
                a += abs(be[q, bid[t]])
                b += abs(bh[q, bid[t]])
            rad_e[i] = a
            rad_h[i] = b
            rad_j[i] = 0.0
        c = 0.0
        if has_dip:
            for i in range(s):
                for m in range(s):
                    rad_j[i] += abs(jd[q, i, m])
                    c += jd[q, i, m]
        for i in range(s):
            c += e[q, i] + h[q, i] - u[q, i, i]
            for j in range(s):
                d = e[q, i] + h[q, j] - u[q, i, j]
                rad = rad_e[i] + rad_h[j]
                if i == j:
                    rad += rad_j[i]
                if d - rad < lo:
                    lo = d - rad
                if d + rad > hi:
                    hi = d + rad
        csum += c / s
    return lo, hi, csum


def _compile(func, **options):
    """numba-compile ``func``, cached on disk (next to this file, else numba's user cache);
    in memory only when no cache location is writable (numba refuses ``cache=True`` then)."""
    try:
        return _nb.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy", **options)(
            func
        )
    except RuntimeError:
        return _nb.njit(cache=False, nogil=True, boundscheck=False, error_model="numpy", **options)(
            func
        )


if _nb is not None:
    # fastmath lets the scalar products be vectorised (summation order differs from the
    # numpy path at the 1e-16 level); everything else is the same float64 arithmetic
    _step = _compile(_step, fastmath=True)
    _moments = _compile(_moments, fastmath=True)
    _bounds_centroid = _compile(_bounds_centroid)


def _arrays(stack, rows):
    """The stack's arrays for the kernels: contiguous float64, bonds as CSR adjacency."""
    ptr, nbr, bid = _neighbours(stack.bonds, stack.n_sites)
    has_dip = stack.dipolar_meV is not None
    jd = stack.dipolar_meV[rows] if has_dip else np.zeros((1, 1, 1))
    be = stack.beta_e_meV[rows]
    bh = stack.beta_h_meV[rows]
    if be.shape[1] == 0:  # no bonds: keep a 2-D array numba can type
        be = bh = np.zeros((stack.electron_meV[rows].shape[0], 0))
    c = np.ascontiguousarray
    return (
        c(stack.electron_meV[rows], dtype=np.float64),
        c(stack.hole_meV[rows], dtype=np.float64),
        c(stack.coulomb_meV[rows], dtype=np.float64),
        c(be, dtype=np.float64),
        c(bh, dtype=np.float64),
        c(jd, dtype=np.float64),
        has_dip,
        ptr,
        nbr,
        bid,
    )


def bounds_and_centroid(stack) -> tuple[float, float, float]:
    """Gershgorin bounds [meV] of the whole ensemble and the mean bright centroid [meV].

    Same definitions as :func:`qdstack.physics.exciton_stack.spectral_bounds_meV` and
    the mean of :func:`~qdstack.physics.exciton_stack.bright_centroid_meV` (tested).
    """
    global _WARM
    lo, hi, csum = _bounds_centroid(*_arrays(stack, slice(None)))
    _WARM = True
    return float(lo), float(hi), float(csum) / stack.n_realisations


def moments_sum(
    stack, rows: slice, n_moments: int, alpha: float, shift_meV: float, block: int | None = None
) -> np.ndarray:
    """Sum over the realisations ``rows`` of the bright-vector Chebyshev moments.

    Parameters
    ----------
    stack : qdstack.physics.exciton_stack.ExcitonStack
    rows : slice
    n_moments : int
    alpha, shift_meV : float
        The operator ``2H~ = alpha (H - shift)`` (``alpha = 2 / half width``).
    block : int, optional
        Realisations per cache block (default :func:`block_size`).

    Returns
    -------
    ndarray, shape (n_moments,)
        ``sum_r <b_r| T_m(H~_r) |b_r>``.
    """
    global _WARM
    block = block_size(stack.n_sites) if block is None else max(1, int(block))
    mu = _moments(*_arrays(stack, rows), float(alpha), float(shift_meV), int(n_moments), int(block))
    _WARM = True
    return mu
