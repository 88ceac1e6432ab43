"""The LOBPCG iteration of the 3D dot solver (:func:`_lobpcg_wanted`) and its block passes.

Private helper of :mod:`qdstack.physics._eigen` (which re-exports it): the textbook
LOBPCG of Knyazev (SIAM J. Sci. Comput. 23, 517 (2001)) with soft locking, stopping on
the wanted pairs, written so that its N x m blocks are passed over as few times as
possible (row chunks that stay in cache, on all cores; see :func:`_lobpcg_wanted`).
"""

from __future__ import annotations

import numpy as np


def _sym(G):
    return 0.5 * (G + G.T)


def _cholesky_qr(V):
    """Orthonormal columns spanning V by Cholesky QR: ``(Q, T)`` with ``Q = V @ T``.

    ``None`` when the Gram matrix is numerically singular (the caller drops the block).
    """
    T = _inv_chol(V.T @ V)
    return None if T is None else (V @ T, T)


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
    from qdstack._parallel import usable_cpus

    return max(1, min(_ROW_PARTS, usable_cpus()))


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
