"""SRHT sketch kernel: numba vs the dense-Φ numpy reference, both methods, unbiasedness, rank,
determinism, and exact op counts (by running the kernels' Python bodies on counting scalars)."""
from __future__ import annotations

import numpy as np
import pytest
from counting import CF, counting_array

from asicsim.kernels import sketch as SK
from asicsim.kernels.reference import relative_error


def _f(a):
    return np.vectorize(float, otypes=[np.float64])(a)


@pytest.mark.parametrize("m,n,k,N", [(3, 5, 2, 7), (6, 4, 4, 16), (8, 11, 1, 33), (5, 9, 7, 100)])
def test_both_methods_match_dense_reference(m, n, k, N):
    rng = np.random.default_rng(N)
    Xp, Dp = rng.standard_normal((N, n)), rng.standard_normal((N, m))
    ref = SK.sketch_gradient_ref(Xp, Dp, k, 11)
    for method in ("fwht", "rows", "auto"):
        G = SK.sketch_gradient(Xp, Dp, k, 11, method=method)
        np.testing.assert_allclose(G, ref, rtol=0, atol=1e-10 * np.abs(ref).max())
        assert np.linalg.matrix_rank(G) <= k


def test_hadamard_rows_are_sylvester_rows():
    # H (unnormalised, Sylvester) by Kronecker products — independent of the popcount formula
    H = np.array([[1.0]])
    for _ in range(4):
        H = np.block([[H, H], [H, -H]])
    W = np.eye(16)
    SK._fwht(W)
    np.testing.assert_array_equal(W, H)
    out = np.zeros((3, 16))
    SK._rows_sketch(np.eye(16), np.ones(16), np.array([1, 6, 15]), out)
    np.testing.assert_array_equal(out, H[[1, 6, 15]])


def test_unbiased_and_full_sketch_is_exact():
    rng = np.random.default_rng(0)
    m, n, N = 4, 6, 16
    Xp, Dp = rng.standard_normal((N, n)), rng.standard_normal((N, m))
    G = Dp.T @ Xp
    # k = N' = N: R is a permutation, ΦᵀΦ = HᵀH/N = I, so Ĝ = G exactly
    np.testing.assert_allclose(SK.sketch_gradient(Xp, Dp, N, 3), G, atol=1e-12)
    # the mean over many draws converges to G (unbiased); error falls like 1/√draws
    draws = 4000
    mean = sum(SK.sketch_gradient(Xp, Dp, 2, s) for s in range(draws)) / draws
    assert relative_error(mean, G) < 0.08
    single = np.mean([relative_error(SK.sketch_gradient(Xp, Dp, 2, s), G) for s in range(50)])
    assert relative_error(mean, G) < single / 10


def test_deterministic_and_seed_dependent():
    rng = np.random.default_rng(1)
    Xp, Dp = rng.standard_normal((50, 7)), rng.standard_normal((50, 3))
    a = SK.sketch_gradient(Xp, Dp, 3, 5)
    assert a.tobytes() == SK.sketch_gradient(Xp, Dp, 3, 5).tobytes()
    assert a.tobytes() == SK.sketch_gradient(Xp, Dp, 3, np.random.default_rng(5)).tobytes()
    assert not np.allclose(a, SK.sketch_gradient(Xp, Dp, 3, 6))


def test_bad_input():
    Xp, Dp = np.zeros((5, 3)), np.zeros((5, 2))
    with pytest.raises(ValueError):
        SK.sketch_gradient(Xp, Dp, 0, 0)
    with pytest.raises(ValueError):
        SK.sketch_gradient(Xp, Dp, 9, 0)            # N' = 8 < k
    with pytest.raises(ValueError):
        SK.sketch_gradient(Xp, np.zeros((4, 2)), 2, 0)
    with pytest.raises(ValueError):
        SK.sketch_gradient(Xp, Dp, 2, 0, method="dense")
    assert np.all(SK.sketch_gradient(np.zeros((0, 3)), np.zeros((0, 2)), 2, 0) == 0)


def test_counts_hand_example():
    # m=3, n=5, N=10 → N'=16, L=4, c=8
    c = SK.sketch_counts(3, 5, 2, 10, "fwht")
    assert (c["padded"], c["log2_padded"]) == (16, 4)
    assert c["sign_mul"] == 80 and c["sketch_adds"] == 16 * 4 * 8 == 512 and c["scale_mul"] == 6
    assert c["expand_macs"] == 30 and c["state_numbers"] == 16 and c["workspace_numbers"] == 128
    r = SK.sketch_counts(3, 5, 2, 10, "rows")
    assert r["sketch_adds"] == 2 * 10 * 8 == 160 and r["workspace_numbers"] == 0
    assert SK.sketch_counts(3, 5, 2, 10)["method"] == "rows"
    # fwht wins once k exceeds N'·log2 N' / N
    assert SK.sketch_counts(3, 5, 8, 16)["method"] == "fwht"


@pytest.mark.parametrize("m,n,k,N", [(3, 5, 2, 10), (2, 4, 3, 8), (4, 3, 1, 5), (3, 2, 5, 13)])
@pytest.mark.parametrize("method", ["fwht", "rows"])
def test_counts_match_instrumented_kernels(m, n, k, N, method):
    rng = np.random.default_rng(N * 7 + k)
    Xp, Dp = counting_array(rng.standard_normal((N, n))), counting_array(rng.standard_normal((N, m)))
    signs, rows = SK.sketch_draw(N, k, 0)
    Np = SK._pow2_at_least(N)
    CF.n = dict.fromkeys(CF.n, 0)
    facs = []
    for A in (Dp, Xp):
        c = A.shape[1]
        if method == "fwht":
            W = counting_array(np.zeros((Np, c)))
            SK._signed_into.py_func(A, signs, W)
            SK._fwht.py_func(W)
            facs.append(W[rows])
        else:
            out = counting_array(np.zeros((k, c)))
            SK._rows_sketch.py_func(A, signs, rows, out)
            facs.append(out)
    SK._scale.py_func(facs[0], 1.0 / k)
    sketch = dict(CF.n)
    CF.n = dict.fromkeys(CF.n, 0)
    SK._full_gradient.py_func(facs[1], facs[0], counting_array(np.zeros((m, n))))   # Ĝ = D̃ᵀX̃
    expand = dict(CF.n)
    c = SK.sketch_counts(m, n, k, N, method)
    assert sketch == {"mul": c["sign_mul"] + c["scale_mul"], "add": c["sketch_adds"], "div": 0, "sqrt": 0}
    assert expand == {"mul": c["expand_macs"], "add": c["expand_macs"], "div": 0, "sqrt": 0}
    # and the counted bodies compute the same Ĝ as the compiled kernel
    ref = SK.sketch_gradient(_f(Xp), _f(Dp), k, 0, method)
    np.testing.assert_allclose(_f(facs[0]).T @ _f(facs[1]), ref, atol=1e-10)
