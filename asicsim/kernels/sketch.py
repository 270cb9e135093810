"""Sketched weight gradient: a subsampled randomized Hadamard transform (SRHT, a Fast-JL map) of
the pair stream, giving a rank-k gradient. numba kernels, a plain-numpy reference, exact counts.

A layer's batch gradient is G = Σ_j δ_j x_jᵀ = Dpᵀ Xp over N pairs (Dp: N×m errors, Xp: N×n
inputs, as `asicsim.kernels.sbpca.full_gradient`). An SRHT Φ (k×N) compresses the *pair* axis:

    Φ = (1/√k) · R · H · S        (N' = next power of two ≥ N; the pairs are zero-padded to N')

S: N'×N' diagonal of independent random signs ±1 (only the first N matter); H: the unnormalised
N'×N' Walsh–Hadamard matrix, H[r, p] = (−1)^popcount(r & p); R: k distinct rows of N' drawn
uniformly without replacement. Then E[ΦᵀΦ] = I, and the sketched gradient

    Ĝ = (Φ Dp)ᵀ (Φ Xp) = D̃ᵀ X̃,   D̃ = (R H S Dp)/k (k×m),  X̃ = R H S Xp (k×n)

is an unbiased estimate of G (approximate matrix multiplication, Woodruff 2014 §2.4; Sarlós 2006)
with rank ≤ k, stored as its two factors: k·(m+n) numbers, like SBPCA's k·(m+n+1). The SRHT's
row mixing spreads the pairs' energy evenly so that uniform row sampling works (Tropp 2011,
"Improved analysis of the subsampled randomized Hadamard transform", Adv. Adapt. Data Anal. 3).

Two exact ways to form R·H·S·A (the same Φ, equal up to floating-point rounding):

- ``fwht``: the fast Walsh–Hadamard transform (the Fast-JL algorithm of Ailon & Chazelle 2009):
  N'·log2(N') additions per column, then keep k rows. Needs the whole N'×(m+n) block.
- ``rows``: only the k sampled rows, each a ±1 sum over the N pairs: k·N additions per column,
  streaming (k accumulator rows, the pairs read once).

``rows`` is cheaper while k < N'·log2(N')/N (≈ log2 N'); ``auto`` picks whichever `sketch_counts`
says adds less (ties → ``fwht``). There are no multiplies in the transform itself: the sign flips
are the kernel's multiplies by ±1.0 (on hardware a sign-bit toggle), the 1/k is k·m multiplies.

Random draws (from ``numpy.random.default_rng(rng_or_seed)``, in this order): N signs
(``integers(0, 2, N)``), then the k rows (``choice(N', k, replace=False)``, sorted) — see
`sketch_draw`. Same inputs and seed → byte-identical result. Kernels are single-threaded.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from asicsim.kernels.jit import _full_gradient

_JIT = {"cache": True, "error_model": "numpy", "nogil": True}

METHODS = ("auto", "fwht", "rows")


# --------------------------------------------------------------------------------------------
# exact operation counts (what the hardware model charges)
# --------------------------------------------------------------------------------------------

def pow2_at_least(x: int) -> int:
    """The smallest power of two ≥ x (1 for x ≤ 1): N', the padded pair count."""
    return 1 << max(0, (int(x) - 1).bit_length())


_pow2_at_least = pow2_at_least


def sketch_counts(m: int, n: int, k: int, pairs: int, method: str = "auto") -> dict:
    """Exact operations of `sketch_factors` + one expansion (`sketch_gradient`) for an m×n weight
    matrix, sketch rank k, on one batch of ``pairs`` (δ, x) pairs.

    Keys (N = pairs, N' = padded = next power of two ≥ N, L = log2 N', c = m + n columns):
      method        ``fwht`` or ``rows`` (``auto`` resolved: fewer ``sketch_adds``, ties → fwht)
      sign_mul      N·c      the random sign flips (multiplies by ±1)
      sketch_adds   fwht: N'·L·c (N'/2 butterflies of one add and one subtract per stage)
                    rows: k·N·c (each sampled row is a ±1 sum over the N pairs)
      scale_mul     k·m      the 1/k on D̃ (the 1/k itself is one scalar division, ``scalar_ops``)
      elem_ops      sign_mul + sketch_adds + scale_mul (vector-unit work; no MACs in the sketch)
      expand_macs   m·n·k    Ĝ = D̃ᵀ X̃
      state_numbers k·(m+n)  the factors, kept until the update
      workspace_numbers  fwht: N'·c (the transformed block); rows: 0 besides the factors
      rng_draws     N + k    random signs and sampled rows
    """
    m, n, k, pairs = int(m), int(n), int(k), int(pairs)
    if min(m, n, k) < 1 or pairs < 0:
        raise ValueError("m, n, k must be >= 1 and pairs >= 0")
    if method not in METHODS:
        raise ValueError(f"method {method!r} must be one of {METHODS}")
    padded = _pow2_at_least(pairs) if pairs else 0
    log2 = padded.bit_length() - 1 if padded else 0
    c = m + n
    fwht_adds, rows_adds = padded * log2 * c, k * pairs * c
    if method == "auto":
        method = "rows" if rows_adds < fwht_adds else "fwht"
    adds = fwht_adds if method == "fwht" else rows_adds
    out = {"m": m, "n": n, "k": k, "pairs": pairs, "padded": padded, "log2_padded": log2,
           "method": method, "sign_mul": pairs * c if pairs else 0, "sketch_adds": adds if pairs else 0,
           "scale_mul": k * m if pairs else 0, "scalar_ops": 1 if pairs else 0}
    out["elem_ops"] = out["sign_mul"] + out["sketch_adds"] + out["scale_mul"]
    out["macs"] = 0
    out["expand_macs"] = m * n * k
    out["state_numbers"] = k * c
    out["workspace_numbers"] = padded * c if (method == "fwht" and pairs) else 0
    out["rng_draws"] = pairs + k if pairs else 0
    return out


# --------------------------------------------------------------------------------------------
# numba kernels (every arithmetic operation on data written out, so the counts can be checked
# by running the Python bodies on counting scalars)
# --------------------------------------------------------------------------------------------

@njit(**_JIT)
def _signed_into(A, signs, W):
    """W[p] = signs[p]·A[p] for the N rows of A (N·c mul); rows N.. of W are left as they are
    (the caller passes them zeroed)."""
    N, c = A.shape
    for p in range(N):
        s = signs[p]
        for q in range(c):
            W[p, q] = s * A[p, q]


@njit(**_JIT)
def _fwht(W):
    """In-place unnormalised Walsh–Hadamard transform along axis 0 of W (N'×c, N' a power of 2):
    N'·log2(N')·c additions/subtractions, Sylvester ordering (H[r, p] = (−1)^popcount(r&p))."""
    L, c = W.shape
    h = 1
    while h < L:
        for i in range(0, L, 2 * h):
            for p in range(i, i + h):
                for q in range(c):
                    u = W[p, q]
                    v = W[p + h, q]
                    W[p, q] = u + v
                    W[p + h, q] = u - v
        h *= 2


@njit(**_JIT)
def _parity(x):
    """Parity of the set bits of a non-negative int < 2^63 (index arithmetic, not data ops)."""
    x ^= x >> 32
    x ^= x >> 16
    x ^= x >> 8
    x ^= x >> 4
    x ^= x >> 2
    x ^= x >> 1
    return x & 1


@njit(**_JIT)
def _rows_sketch(A, signs, rows, out):
    """out[i] = Σ_p H[rows[i], p]·signs[p]·A[p] for the N rows of A: each pair is read once, its
    signed copy v = signs[p]·A[p] (c mul) is added to or subtracted from the k accumulator rows
    (k·c adds). Totals: N·c mul, k·N·c adds; out must be zeroed by the caller."""
    N, c = A.shape
    k = rows.shape[0]
    v = np.empty(c, dtype=A.dtype)
    for p in range(N):
        s = signs[p]
        for q in range(c):
            v[q] = s * A[p, q]
        for i in range(k):
            o = out[i]
            if _parity(rows[i] & p) == 0:
                for q in range(c):
                    o[q] = o[q] + v[q]
            else:
                for q in range(c):
                    o[q] = o[q] - v[q]


@njit(**_JIT)
def _scale(A, f):
    """A ← f·A in place (one mul per element)."""
    a, b = A.shape
    for i in range(a):
        for j in range(b):
            A[i, j] = A[i, j] * f


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------

def sketch_draw(pairs: int, k: int, rng_or_seed) -> tuple[np.ndarray, np.ndarray]:
    """The SRHT's random draws: ``signs`` (pairs,) of ±1.0 and ``rows`` (k,) sorted distinct int64
    in [0, N'). Raises ValueError when k is not in 1..N'."""
    pairs, k = int(pairs), int(k)
    padded = _pow2_at_least(pairs) if pairs else 0
    if k < 1 or k > max(padded, 1):
        raise ValueError(f"sketch rank k={k} must be in 1..{max(padded, 1)} (pairs padded to a power of two)")
    rng = np.random.default_rng(rng_or_seed)
    signs = rng.integers(0, 2, pairs).astype(np.float64) * 2.0 - 1.0
    rows = np.sort(rng.choice(max(padded, 1), size=k, replace=False)).astype(np.int64)
    return signs, rows


def _check(Xp, Dp, k, method):
    if Xp.ndim != 2 or Dp.ndim != 2 or Xp.shape[0] != Dp.shape[0]:
        raise ValueError(f"pairs must be 2-D with the same row count, got {Xp.shape} and {Dp.shape}")
    if method not in METHODS:
        raise ValueError(f"method {method!r} must be one of {METHODS}")
    if int(k) < 1:
        raise ValueError(f"sketch rank k={k} must be >= 1")


def _transform(A, signs, rows, method):
    """R·H·S·A (k×c) by the chosen method."""
    N, c = A.shape
    k = rows.shape[0]
    if method == "fwht":
        W = np.zeros((_pow2_at_least(N), c))
        _signed_into(A, signs, W)
        _fwht(W)
        return np.ascontiguousarray(W[rows])
    out = np.zeros((k, c))
    _rows_sketch(A, signs, rows, out)
    return out


def sketch_factors(Xp: np.ndarray, Dp: np.ndarray, k: int, rng_or_seed, method: str = "auto"):
    """The factors (D̃ k×m, X̃ k×n) of the sketched gradient Ĝ = D̃ᵀ X̃ (module docstring).
    Cost: `sketch_counts(m, n, k, N, method)` without ``expand_macs``."""
    Xp = np.ascontiguousarray(Xp, dtype=np.float64)
    Dp = np.ascontiguousarray(Dp, dtype=np.float64)
    _check(Xp, Dp, k, method)
    N, n = Xp.shape
    m = Dp.shape[1]
    if N == 0:
        return np.zeros((int(k), m)), np.zeros((int(k), n))
    signs, rows = sketch_draw(N, k, rng_or_seed)
    method = sketch_counts(m, n, k, N, method)["method"]
    Dt = _transform(Dp, signs, rows, method)
    _scale(Dt, 1.0 / int(k))
    return Dt, _transform(Xp, signs, rows, method)


def sketch_gradient(Xp: np.ndarray, Dp: np.ndarray, k: int, rng_or_seed, method: str = "auto") -> np.ndarray:
    """Rank-k SRHT-sketched gradient Ĝ ≈ Dpᵀ Xp (m×n) of the pairs Xp (N×n inputs), Dp (N×m
    errors), same orientation and scale as `asicsim.kernels.sbpca.full_gradient`; unbiased,
    E[Ĝ] = G. ``rng_or_seed``: a numpy Generator or seed for the sign and row draws.
    ``method``: ``auto``/``fwht``/``rows`` (same result up to rounding). Cost: `sketch_counts`."""
    Dt, Xt = sketch_factors(Xp, Dp, k, rng_or_seed, method)
    G = np.empty((Dt.shape[1], Xt.shape[1]))
    _full_gradient(Xt, Dt, G)      # Ĝ = D̃ᵀ X̃: the full-gradient kernel on the k sketched pairs
    return G


def sketch_gradient_ref(Xp: np.ndarray, Dp: np.ndarray, k: int, rng_or_seed) -> np.ndarray:
    """Plain-numpy reference: forms the k sampled Hadamard rows explicitly (popcount parity) and
    Φ = R·H·S/√k as a dense k×N matrix, Ĝ = (Φ Dp)ᵀ (Φ Xp)."""
    Xp, Dp = np.asarray(Xp, dtype=np.float64), np.asarray(Dp, dtype=np.float64)
    N = Xp.shape[0]
    if N == 0:
        return np.zeros((Dp.shape[1], Xp.shape[1]))
    signs, rows = sketch_draw(N, k, rng_or_seed)
    bits = rows[:, None] & np.arange(N, dtype=np.int64)[None, :]
    parity = np.zeros(bits.shape, dtype=np.int64)
    while bits.any():
        parity ^= bits & 1
        bits = bits >> 1
    Phi = (1.0 - 2.0 * parity) * signs[None, :] / np.sqrt(k)
    return (Phi @ Dp).T @ (Phi @ Xp)
