"""SBPCA and full-gradient kernels (numba), their plain-numpy references, and exact op counts.

These functions *define* the weight-gradient work that the hardware model charges for: the
counts returned by `sbpca_counts` and `full_gradient_counts` are derived from the loops below
(and a test runs the kernels' Python bodies on counting scalars to check them).

Streaming batch PCA (Hoskins et al. 2019, Huang et al. 2020). A layer's weight
gradient over a batch is a sum of rank-1 terms G = Σ_j δ_j x_jᵀ (δ_j ∈ R^m output error, already
carrying the 1/B of the mean loss; x_j ∈ R^n layer input / im2col patch). SBPCA keeps a rank-k
factorisation Δ (m×k), X (n×k), σ (k) that persists from batch to batch. A batch of N pairs is cut
into sub-batches of s pairs (the last one may be shorter, it is never dropped); sub-batch i with
s_i pairs, after `seen` pairs of this batch, does one stochastic bi-iteration step with

    w = s + seen,  c = w / (w + s_i),  d = 1 / (w + s_i)

which is exactly c = (i+1)/(i+2), d = 1/((i+2)·s) of the algorithm's statement for full sub-batches, and weights
a short last sub-batch by the number of pairs it really has:

    1. X ← c·X + d·(Xsᵀ (Ds Δ)) / σ          (column j divided by σ_j)
    2. X ← orthonormalise(X)                  (QR, columns signed so that diag R > 0)
    3. Δ ← c·Δ + d·(Dsᵀ (Xs X)) / σ
    4. Δ ← orthonormalise(Δ)
    5. σ ← c·σ + d·colsum((Ds Δ) ⊙ (Xs X))

σ starts at 0 ("not initialised"); on the first sub-batch that sees a column j with σ_j ≤ 0,
σ_j is set from that sub-batch, σ_j = ‖Xsᵀ Ds Δ_j‖ / s_i (the scale step 1 divides by), instead of
1 (which makes the first update far too large). After the batch, σ_j estimates the j-th singular
value of the *mean per pair* gradient, so the update is

    Ĝ = Δ · diag(σ) · Xᵀ · N        (N = pairs in the batch: B for a linear layer, B·H_out·W_out
                                      for a conv layer)

which has the scale of the mean-loss gradient G = Σ_j δ_j x_jᵀ. (the algorithm's statement writes ·B; that is the
linear-layer case, for a conv layer the factor must be the number of pairs B·P.)

Orthonormalisation is modified Gram-Schmidt. Its R has a non-negative diagonal by construction,
so the usual "flip each column by sign(diag R)" of a Householder QR is implicit (no extra ops);
for a full-rank input the Q is the same as numpy's `qr` followed by the sign fix (the numpy
reference does exactly that).

State layout: the kernels hold Δᵀ (k×m) and Xᵀ (k×n), C-contiguous, so every column of Δ and X is a
contiguous row; `SBPCAState.delta` / `.x` give the m×k / n×k views of the algorithm's statement.
All kernels are single-threaded and deterministic (``cache=True``: compiled once per machine into
``__pycache__``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asicsim.kernels import (
    jit,  # module reference: tests swap in the kernels' Python bodies
)
from asicsim.kernels.reference import qr_signfix

# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------

@dataclass
class SBPCAState:
    """Persistent SBPCA state of one weight matrix (m×n) at rank k: Δᵀ (k×m), Xᵀ (k×n), σ (k).
    σ = 0 means "not initialised yet" (set from the next sub-batch)."""
    dt: np.ndarray
    xt: np.ndarray
    sigma: np.ndarray

    @property
    def k(self) -> int:
        return self.dt.shape[0]

    @property
    def m(self) -> int:
        return self.dt.shape[1]

    @property
    def n(self) -> int:
        return self.xt.shape[1]

    @property
    def delta(self) -> np.ndarray:
        """Δ, m×k (a view)."""
        return self.dt.T

    @property
    def x(self) -> np.ndarray:
        """X, n×k (a view)."""
        return self.xt.T

    @property
    def numbers(self) -> int:
        """State size in numbers: k·(m+n+1)."""
        return self.k * (self.m + self.n + 1)

    def copy(self) -> "SBPCAState":
        return SBPCAState(self.dt.copy(), self.xt.copy(), self.sigma.copy())

    @classmethod
    def random(cls, m: int, n: int, k: int, rng: np.random.Generator | int = 0) -> "SBPCAState":
        """Random orthonormal Δ and X (QR of Gaussian matrices, sign-fixed), σ = 0."""
        if not 1 <= k <= min(m, n):
            raise ValueError(f"rank k={k} must be in 1..min(m, n)={min(m, n)}")
        rng = np.random.default_rng(rng)
        delta = qr_signfix(rng.standard_normal((m, k)))
        x = qr_signfix(rng.standard_normal((n, k)))
        return cls(np.ascontiguousarray(delta.T), np.ascontiguousarray(x.T), np.zeros(k))


def _f64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def _check_pairs(state: SBPCAState, Xp: np.ndarray, Dp: np.ndarray, s: int):
    if Xp.ndim != 2 or Dp.ndim != 2 or Xp.shape[0] != Dp.shape[0]:
        raise ValueError(f"pairs must be 2-D with the same row count, got {Xp.shape} and {Dp.shape}")
    if Xp.shape[1] != state.n or Dp.shape[1] != state.m:
        raise ValueError(f"pairs are {Dp.shape[1]}×{Xp.shape[1]} (m×n), state is {state.m}×{state.n}")
    if s < 1:
        raise ValueError(f"sub-batch size must be >= 1, got {s}")


def _workspaces(state: SBPCAState, s: int):
    k = state.k
    return np.empty((s, k)), np.empty((s, k)), np.empty((k, state.n)), np.empty((k, state.m))


def sbpca_step(state: SBPCAState, Xs: np.ndarray, Ds: np.ndarray, s: int | None = None, seen: int = 0) -> None:
    """One streaming step on a sub-batch Xs (s_i×n inputs), Ds (s_i×m output errors), in place.
    ``s`` is the nominal sub-batch size (default s_i) and ``seen`` the pairs of this batch already
    streamed (i·s for sub-batch i)."""
    Xs, Ds = _f64(Xs), _f64(Ds)
    s = Xs.shape[0] if s is None else int(s)
    _check_pairs(state, Xs, Ds, s)
    P, Q, Yt, Zt = _workspaces(state, max(s, Xs.shape[0]))
    jit._step(Xs, Ds, s, int(seen), state.dt, state.xt, state.sigma, P, Q, Yt, Zt)


def sbpca_stream(state: SBPCAState, Xp: np.ndarray, Dp: np.ndarray, s: int) -> None:
    """Stream a whole batch of pairs (rows of Xp: N×n, Dp: N×m) in sub-batches of s, in place.
    Cost: `sbpca_counts(m, n, k, s, N)`."""
    Xp, Dp = _f64(Xp), _f64(Dp)
    _check_pairs(state, Xp, Dp, int(s))
    if Xp.shape[0] == 0:
        return
    P, Q, Yt, Zt = _workspaces(state, int(s))
    jit._stream(Xp, Dp, int(s), state.dt, state.xt, state.sigma, P, Q, Yt, Zt)


def sbpca_expand(state: SBPCAState, scale: float) -> np.ndarray:
    """Ĝ = Δ·diag(σ)·Xᵀ·scale (m×n); ``scale`` = pairs in the batch for the mean-loss gradient."""
    G = np.empty((state.m, state.n))
    jit._expand(state.dt, state.xt, state.sigma, float(scale), G)
    return G


def full_gradient(Xp: np.ndarray, Dp: np.ndarray) -> np.ndarray:
    """G = Σ_j δ_j x_jᵀ = Dpᵀ Xp (m×n) by explicit accumulation. Cost: `full_gradient_counts`."""
    Xp, Dp = _f64(Xp), _f64(Dp)
    if Xp.ndim != 2 or Dp.ndim != 2 or Xp.shape[0] != Dp.shape[0]:
        raise ValueError(f"pairs must be 2-D with the same row count, got {Xp.shape} and {Dp.shape}")
    G = np.empty((Dp.shape[1], Xp.shape[1]))
    jit._full_gradient(Xp, Dp, G)
    return G


