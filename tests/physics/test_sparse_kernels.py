"""The compiled sparse-times-block kernels of the dot solver's preconditioner
(:mod:`qdstack.physics._sparse_kernels`) against SciPy's sparse products."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from qdstack.physics import _eigen, _sparse_kernels as K

pytestmark = pytest.mark.skipif(not K.available(), reason="numba is not importable")


def _matrix(n=500, seed=0):
    rng = np.random.default_rng(seed)
    A = sp.random(n, n, density=0.02, random_state=rng, format="csr")
    return (A + A.T + sp.diags(rng.uniform(1, 2, n))).tocsr()


@pytest.mark.parametrize("strided", [False, True])
def test_kernels_match_scipy(strided):
    """spmm, one damped-Jacobi sweep and the residual, on contiguous blocks and on column
    views of a wider array (how the LOBPCG engine hands them over): to 1e-12."""
    A = _matrix()
    rng = np.random.default_rng(1)
    wide = rng.standard_normal((A.shape[0], 9))
    X = wide[:, 2:7] if strided else np.ascontiguousarray(wide[:, 2:7])
    B = rng.standard_normal(X.shape)
    wd = rng.uniform(0.1, 0.5, A.shape[0])
    np.testing.assert_allclose(K.spmm(A, X), A @ X, rtol=0, atol=1e-12)
    out = np.zeros((A.shape[0], 12))[:, 3:8]
    K.spmm(A, X, out=out)
    np.testing.assert_allclose(out, A @ X, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        K.jacobi_sweep(A, X, B, wd), X + wd[:, None] * (B - A @ X), rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(K.residual(A, X, B), B - A @ X, rtol=0, atol=1e-12)
    np.testing.assert_allclose(K.scale_rows(wd, X), wd[:, None] * X, rtol=0, atol=1e-15)
    acc = B.copy()
    K.spmm_add(A, X, acc)
    np.testing.assert_allclose(acc, B + A @ X, rtol=0, atol=1e-12)


def test_compiled_vcycle_is_the_numpy_vcycle():
    """:class:`_eigen.CompiledAMG` runs the same V-cycle as :class:`_eigen.GpuAMG` with
    NumPy (same hierarchy, same sweeps): equal to rounding, and symmetric positive."""
    import pyamg

    A = pyamg.gallery.poisson((24, 24, 24), format="csr")
    ml = _eigen.amg_hierarchy(A)
    B = np.random.default_rng(2).standard_normal((A.shape[0], 3))
    ref = _eigen.GpuAMG(ml, xp=np, xsp=sp)(B)
    Y = _eigen.CompiledAMG(ml)(B)
    np.testing.assert_allclose(Y, ref, rtol=1e-11, atol=1e-12 * np.abs(ref).max())
    assert B[:, 0] @ Y[:, 1] == pytest.approx(B[:, 1] @ Y[:, 0], rel=1e-10)
    assert np.all(np.einsum("ij,ij->j", B, Y) > 0)
    np.testing.assert_allclose(
        _eigen.CompiledAMG(ml)(B[:, 0]), Y[:, 0], rtol=1e-12, atol=1e-12 * np.abs(Y).max()
    )
