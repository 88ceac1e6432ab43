"""Compiled sparse-times-block kernels for the LOBPCG preconditioner of the 3D dot solver.

The AMG V-cycle of :class:`qdstack.physics._eigen.GpuAMG` run with NumPy/SciPy makes
several passes over memory per damped-Jacobi sweep (``A @ X``, ``B - .``, ``wd * .``,
``X + .``, each a separate call writing a temporary N x m block).  The kernels here do
one sweep, ``out = X + wd (B - A X)``, and the residual ``B - A X`` in a single pass
over the rows of a CSR matrix, reading each row's neighbours once for the whole block
of m vectors, on all cores (numba ``prange`` over rows; every row is independent, so the
result does not depend on the number of threads).  Used when numba is importable
(:func:`available`); the NumPy cycle is the fallback and the reference in the tests.
"""

from __future__ import annotations

import numpy as np

from qdstack.physics._stack_kernels import _nb

__all__ = ["available", "spmm", "spmm_add", "scale_rows", "jacobi_sweep", "residual"]


def available() -> bool:
    """True when the compiled kernels can be used (numba importable)."""
    return _nb is not None


def _spmm(ptr, idx, data, X, out):
    n, m = out.shape
    for i in _prange(n):
        for c in range(m):
            out[i, c] = 0.0
        for jj in range(ptr[i], ptr[i + 1]):
            j = idx[jj]
            a = data[jj]
            for c in range(m):
                out[i, c] += a * X[j, c]


def _spmm_add(ptr, idx, data, X, out):
    n, m = out.shape
    for i in _prange(n):
        for jj in range(ptr[i], ptr[i + 1]):
            j = idx[jj]
            a = data[jj]
            for c in range(m):
                out[i, c] += a * X[j, c]


def _scale_rows(wd, B, out):
    n, m = out.shape
    for i in _prange(n):
        w = wd[i]
        for c in range(m):
            out[i, c] = w * B[i, c]


def _jacobi(ptr, idx, data, X, B, wd, out):
    n, m = out.shape
    for i in _prange(n):
        w = wd[i]
        for c in range(m):
            out[i, c] = X[i, c] + w * B[i, c]
        for jj in range(ptr[i], ptr[i + 1]):
            j = idx[jj]
            a = w * data[jj]
            for c in range(m):
                out[i, c] -= a * X[j, c]


def _residual(ptr, idx, data, X, B, out):
    n, m = out.shape
    for i in _prange(n):
        for c in range(m):
            out[i, c] = B[i, c]
        for jj in range(ptr[i], ptr[i + 1]):
            j = idx[jj]
            a = data[jj]
            for c in range(m):
                out[i, c] -= a * X[j, c]


if _nb is not None:
    _prange = _nb.prange

    def _compile(func):
        try:
            return _nb.njit(cache=True, nogil=True, parallel=True, boundscheck=False)(func)
        except RuntimeError:  # no writable cache location
            return _nb.njit(cache=False, nogil=True, parallel=True, boundscheck=False)(func)

    _spmm = _compile(_spmm)
    _spmm_add = _compile(_spmm_add)
    _scale_rows = _compile(_scale_rows)
    _jacobi = _compile(_jacobi)
    _residual = _compile(_residual)
else:  # pragma: no cover - numba missing
    _prange = range


def _csr_parts(A):
    return A.indptr, A.indices, A.data


def spmm(A, X, out=None):
    """``A @ X`` for a CSR matrix A and a C-contiguous float64 block X."""
    if out is None:
        out = np.empty((A.shape[0], X.shape[1]))
    _spmm(*_csr_parts(A), X, out)
    return out


def spmm_add(A, X, out):
    """``out += A @ X`` in place."""
    _spmm_add(*_csr_parts(A), X, out)
    return out


def scale_rows(wd, B, out=None):
    """``wd[:, None] * B`` (``wd`` 1-D)."""
    if out is None:
        out = np.empty_like(B)
    _scale_rows(wd, B, out)
    return out


def jacobi_sweep(A, X, B, wd, out=None):
    """One damped-Jacobi sweep ``X + wd (B - A X)`` (``wd``: per-row weights, 1-D)."""
    if out is None:
        out = np.empty_like(X)
    _jacobi(*_csr_parts(A), X, B, wd, out)
    return out


def residual(A, X, B, out=None):
    """``B - A X``."""
    if out is None:
        out = np.empty_like(B)
    _residual(*_csr_parts(A), X, B, out)
    return out
