"""SBPCA and full-gradient kernels (numba), their plain-numpy references, and exact op counts.

These functions *define* the weight-gradient work that the hardware model charges for: the
counts returned by `sbpca_counts` and `full_gradient_counts` are derived from the loops below
(and a test runs the kernels' Python bodies on counting scalars to check them).

Streaming batch PCA (DESIGN.md §2; Hoskins et al. 2019, Huang et al. 2020). A layer's weight
gradient over a batch is a sum of rank-1 terms G = Σ_j δ_j x_jᵀ (δ_j ∈ R^m output error, already
carrying the 1/B of the mean loss; x_j ∈ R^n layer input / im2col patch). SBPCA keeps a rank-k
factorisation Δ (m×k), X (n×k), σ (k) that persists from batch to batch. A batch of N pairs is cut
into sub-batches of s pairs (the last one may be shorter, it is never dropped); sub-batch i with
s_i pairs, after `seen` pairs of this batch, does one stochastic bi-iteration step with

    w = s + seen,  c = w / (w + s_i),  d = 1 / (w + s_i)

which is exactly c = (i+1)/(i+2), d = 1/((i+2)·s) of DESIGN.md for full sub-batches, and weights
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

which has the scale of the mean-loss gradient G = Σ_j δ_j x_jᵀ. (DESIGN.md writes ·B; that is the
linear-layer case, for a conv layer the factor must be the number of pairs B·P.)

Orthonormalisation is modified Gram-Schmidt. Its R has a non-negative diagonal by construction,
so the DESIGN "flip each column by sign(diag R)" of a Householder QR is implicit (no extra ops);
for a full-rank input the Q is the same as numpy's `qr` followed by the sign fix (the numpy
reference does exactly that).

State layout: the kernels hold Δᵀ (k×m) and Xᵀ (k×n), C-contiguous, so every column of Δ and X is a
contiguous row; `SBPCAState.delta` / `.x` give the m×k / n×k views of DESIGN.md.
All kernels are single-threaded and deterministic (``cache=True``: compiled once per machine into
``__pycache__``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

# reassociation lets LLVM vectorise the dot-product reductions; no NaN/Inf assumptions are made
_FM = {"reassoc", "contract", "nsz"}
_JIT = dict(cache=True, fastmath=_FM, error_model="numpy", nogil=True)

# --------------------------------------------------------------------------------------------
# numba kernels. Every arithmetic operation on data is written out so that `sbpca_counts`
# can be checked by running these bodies (``.py_func``) on counting scalars.
# --------------------------------------------------------------------------------------------

_BLOCK = 1024  # column block of the GEMM loops (keeps the touched rows of both operands in L1/L2)


@njit(**_JIT)
def _mgs_rows(A):
    """Orthonormalise the k rows of A (k×L) in place by modified Gram-Schmidt.
    Ops: L·k² MACs (k(k-1)/2 projections of 2·L MACs each, k norms of L MACs), k sqrt, k div,
    k·L mul. A zero row stays zero (no div, no mul for it)."""
    k, L = A.shape
    for j in range(k):
        aj = A[j]
        for p in range(j):
            ap = A[p]
            r = 0.0
            for b in range(L):
                r += ap[b] * aj[b]
            for b in range(L):
                aj[b] -= r * ap[b]
        nrm = 0.0
        for b in range(L):
            nrm += aj[b] * aj[b]
        nrm = np.sqrt(nrm)
        if nrm > 0.0:
            inv = 1.0 / nrm
            for b in range(L):
                aj[b] = aj[b] * inv


@njit(**_JIT)
def _rows_dot(Xs, Wt, out):
    """out[r, j] = Σ_b Xs[r, b]·Wt[j, b] for r < si  (si×L by L×k: exactly si·L·k MACs).
    Register-blocked 2 rows × 4 columns (eight accumulators share six loads); L is blocked."""
    si, L = Xs.shape
    k = Wt.shape[0]
    for r in range(si):
        for j in range(k):
            out[r, j] = 0.0
    for b0 in range(0, L, _BLOCK):
        b1 = min(L, b0 + _BLOCK)
        nb = b1 - b0
        r = 0
        while r < si:
            two = r + 1 < si
            x = Xs[r, b0:b1]
            z = Xs[r + 1 if two else r, b0:b1]
            j = 0
            while j + 4 <= k:
                w0 = Wt[j, b0:b1]
                w1 = Wt[j + 1, b0:b1]
                w2 = Wt[j + 2, b0:b1]
                w3 = Wt[j + 3, b0:b1]
                a0 = out[r, j]
                a1 = out[r, j + 1]
                a2 = out[r, j + 2]
                a3 = out[r, j + 3]
                if two:
                    c0 = out[r + 1, j]
                    c1 = out[r + 1, j + 1]
                    c2 = out[r + 1, j + 2]
                    c3 = out[r + 1, j + 3]
                    for b in range(nb):
                        xv = x[b]
                        zv = z[b]
                        u0 = w0[b]
                        u1 = w1[b]
                        u2 = w2[b]
                        u3 = w3[b]
                        a0 += xv * u0
                        a1 += xv * u1
                        a2 += xv * u2
                        a3 += xv * u3
                        c0 += zv * u0
                        c1 += zv * u1
                        c2 += zv * u2
                        c3 += zv * u3
                    out[r + 1, j] = c0
                    out[r + 1, j + 1] = c1
                    out[r + 1, j + 2] = c2
                    out[r + 1, j + 3] = c3
                else:
                    for b in range(nb):
                        xv = x[b]
                        a0 += xv * w0[b]
                        a1 += xv * w1[b]
                        a2 += xv * w2[b]
                        a3 += xv * w3[b]
                out[r, j] = a0
                out[r, j + 1] = a1
                out[r, j + 2] = a2
                out[r, j + 3] = a3
                j += 4
            while j < k:
                w = Wt[j, b0:b1]
                a = out[r, j]
                for b in range(nb):
                    a += x[b] * w[b]
                out[r, j] = a
                if two:
                    c = out[r + 1, j]
                    for b in range(nb):
                        c += z[b] * w[b]
                    out[r + 1, j] = c
                j += 1
            r += 2


@njit(**_JIT)
def _cols_acc(Xs, P, Yt):
    """Yt[j, b] = Σ_r P[r, j]·Xs[r, b]  (the k×L result of (Xsᵀ P)ᵀ: exactly si·L·k MACs).
    Register-blocked 4 outputs j × 4 rows r (four loads of Xs feed sixteen MACs); L is blocked."""
    si, L = Xs.shape
    k = Yt.shape[0]
    for b0 in range(0, L, _BLOCK):
        b1 = min(L, b0 + _BLOCK)
        nb = b1 - b0
        for j in range(k):
            y = Yt[j, b0:b1]
            for b in range(nb):
                y[b] = 0.0
        j = 0
        while j + 4 <= k:
            y0 = Yt[j, b0:b1]
            y1 = Yt[j + 1, b0:b1]
            y2 = Yt[j + 2, b0:b1]
            y3 = Yt[j + 3, b0:b1]
            r = 0
            while r + 4 <= si:
                x0 = Xs[r, b0:b1]
                x1 = Xs[r + 1, b0:b1]
                x2 = Xs[r + 2, b0:b1]
                x3 = Xs[r + 3, b0:b1]
                p00, p10, p20, p30 = P[r, j], P[r + 1, j], P[r + 2, j], P[r + 3, j]
                p01, p11, p21, p31 = P[r, j + 1], P[r + 1, j + 1], P[r + 2, j + 1], P[r + 3, j + 1]
                p02, p12, p22, p32 = P[r, j + 2], P[r + 1, j + 2], P[r + 2, j + 2], P[r + 3, j + 2]
                p03, p13, p23, p33 = P[r, j + 3], P[r + 1, j + 3], P[r + 2, j + 3], P[r + 3, j + 3]
                for b in range(nb):
                    e0 = x0[b]
                    e1 = x1[b]
                    e2 = x2[b]
                    e3 = x3[b]
                    y0[b] += p00 * e0 + p10 * e1 + p20 * e2 + p30 * e3
                    y1[b] += p01 * e0 + p11 * e1 + p21 * e2 + p31 * e3
                    y2[b] += p02 * e0 + p12 * e1 + p22 * e2 + p32 * e3
                    y3[b] += p03 * e0 + p13 * e1 + p23 * e2 + p33 * e3
                r += 4
            while r < si:
                x = Xs[r, b0:b1]
                p0, p1, p2, p3 = P[r, j], P[r, j + 1], P[r, j + 2], P[r, j + 3]
                for b in range(nb):
                    e = x[b]
                    y0[b] += p0 * e
                    y1[b] += p1 * e
                    y2[b] += p2 * e
                    y3[b] += p3 * e
                r += 1
            j += 4
        while j < k:
            y0 = Yt[j, b0:b1]
            for r in range(si):
                x = Xs[r, b0:b1]
                p0 = P[r, j]
                for b in range(nb):
                    y0[b] += p0 * x[b]
            j += 1


@njit(**_JIT)
def _mix(At, Yt, sigma, c, d):
    """At[j] ← c·At[j] + (d/σ_j)·Yt[j]:  k div, k·L mul, k·L MACs."""
    k, L = At.shape
    for j in range(k):
        coef = d / sigma[j]
        a = At[j]
        y = Yt[j]
        for b in range(L):
            a[b] = c * a[b] + coef * y[b]


@njit(**_JIT)
def _step(Xs, Ds, s, seen, dt, xt, sigma, P, Q, Yt, Zt):
    """One SBPCA sub-batch step (module docstring, steps 1-5) on Xs (si×n), Ds (si×m).
    State dt (k×m), xt (k×n), sigma (k) is updated in place; P, Q (≥si × k), Yt (k×n), Zt (k×m)
    are workspaces."""
    si = Xs.shape[0]
    k = dt.shape[0]
    w = float(s + seen)           # scalar unit: 1 add, 1 div, 1 mul per sub-batch
    tot = w + si
    d = 1.0 / tot
    c = w * d
    # 1. X ← c·X + d·Xsᵀ(Ds Δ)/σ
    _rows_dot(Ds, dt, P)          # P = Ds Δ            si·m·k MACs
    _cols_acc(Xs, P, Yt)          # Yt = (Xsᵀ P)ᵀ       si·n·k MACs
    for j in range(k):            # σ from the first sub-batch: n MACs, 1 sqrt, 1 div per column
        if not sigma[j] > 0.0:
            acc = 0.0
            for b in range(Yt.shape[1]):
                acc += Yt[j, b] * Yt[j, b]
            est = np.sqrt(acc) / si
            sigma[j] = est if est > 0.0 else 1.0
    _mix(xt, Yt, sigma, c, d)
    # 2. orthonormalise X
    _mgs_rows(xt)
    # 3. Δ ← c·Δ + d·Dsᵀ(Xs X)/σ
    _rows_dot(Xs, xt, Q)          # Q = Xs X            si·n·k MACs
    _cols_acc(Ds, Q, Zt)          # Zt = (Dsᵀ Q)ᵀ       si·m·k MACs
    _mix(dt, Zt, sigma, c, d)
    # 4. orthonormalise Δ
    _mgs_rows(dt)
    # 5. σ ← c·σ + d·colsum((Ds Δ) ⊙ (Xs X))
    _rows_dot(Ds, dt, P)          # P = Ds Δ (new Δ)    si·m·k MACs
    for j in range(k):
        acc = 0.0
        for r in range(si):
            acc += P[r, j] * Q[r, j]
        sigma[j] = c * sigma[j] + d * acc


@njit(**_JIT)
def _stream(Xp, Dp, s, dt, xt, sigma, P, Q, Yt, Zt):
    """Stream one batch of pairs (rows of Xp, Dp) through `_step`, s pairs at a time, the last
    sub-batch possibly shorter. The sub-batch index restarts at 0 for every batch."""
    npairs = Xp.shape[0]
    start = 0
    while start < npairs:
        si = min(s, npairs - start)
        _step(Xp[start:start + si], Dp[start:start + si], s, start, dt, xt, sigma, P, Q, Yt, Zt)
        start += si


@njit(**_JIT)
def _expand(dt, xt, sigma, scale, G):
    """G = Δ·diag(σ·scale)·Xᵀ:  k + m·k mul, m·n·k MACs."""
    k, m = dt.shape
    n = xt.shape[1]
    cs = np.empty(k)
    for j in range(k):
        cs[j] = sigma[j] * scale
    for a in range(m):
        for b in range(n):
            G[a, b] = 0.0
        for j in range(k):
            wj = dt[j, a] * cs[j]
            for b in range(n):
                G[a, b] += wj * xt[j, b]


@njit(**_JIT)
def _full_gradient(Xp, Dp, G):
    """G = Σ_p Dp[p]ᵀ Xp[p] = Dpᵀ Xp:  pairs·m·n MACs."""
    npairs, n = Xp.shape
    m = Dp.shape[1]
    for a in range(m):
        for b in range(n):
            G[a, b] = 0.0
    for p in range(npairs):
        for a in range(m):
            dv = Dp[p, a]
            for b in range(n):
                G[a, b] += dv * Xp[p, b]


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
    _step(Xs, Ds, s, int(seen), state.dt, state.xt, state.sigma, P, Q, Yt, Zt)


def sbpca_stream(state: SBPCAState, Xp: np.ndarray, Dp: np.ndarray, s: int) -> None:
    """Stream a whole batch of pairs (rows of Xp: N×n, Dp: N×m) in sub-batches of s, in place.
    Cost: `sbpca_counts(m, n, k, s, N)`."""
    Xp, Dp = _f64(Xp), _f64(Dp)
    _check_pairs(state, Xp, Dp, int(s))
    if Xp.shape[0] == 0:
        return
    P, Q, Yt, Zt = _workspaces(state, int(s))
    _stream(Xp, Dp, int(s), state.dt, state.xt, state.sigma, P, Q, Yt, Zt)


def sbpca_expand(state: SBPCAState, scale: float) -> np.ndarray:
    """Ĝ = Δ·diag(σ)·Xᵀ·scale (m×n); ``scale`` = pairs in the batch for the mean-loss gradient."""
    G = np.empty((state.m, state.n))
    _expand(state.dt, state.xt, state.sigma, float(scale), G)
    return G


def full_gradient(Xp: np.ndarray, Dp: np.ndarray) -> np.ndarray:
    """G = Σ_j δ_j x_jᵀ = Dpᵀ Xp (m×n) by explicit accumulation. Cost: `full_gradient_counts`."""
    Xp, Dp = _f64(Xp), _f64(Dp)
    if Xp.ndim != 2 or Dp.ndim != 2 or Xp.shape[0] != Dp.shape[0]:
        raise ValueError(f"pairs must be 2-D with the same row count, got {Xp.shape} and {Dp.shape}")
    G = np.empty((Dp.shape[1], Xp.shape[1]))
    _full_gradient(Xp, Dp, G)
    return G


# --------------------------------------------------------------------------------------------
# exact operation counts
# --------------------------------------------------------------------------------------------

def sbpca_counts(m: int, n: int, k: int, s: int, pairs: int, init: bool = False) -> dict:
    """Exact operations of `sbpca_stream` on one batch of ``pairs`` (δ, x) pairs, plus one
    `sbpca_expand`, for an m×n weight matrix at rank k and sub-batch size s.

    Units: ``*_macs`` are multiply-accumulates (a·b + c, one each); ``mul``, ``div``, ``sqrt``
    are standalone element operations (there are no standalone adds); ``elem_ops`` = mul + div +
    sqrt, the vector-unit work besides the MACs; ``scalar_ops`` are the 3 scalar-unit ops per
    sub-batch that form c and d; ``*_numbers`` are counts of stored values (not bytes).
    Comparisons/branches are not counted.

    Keys (per call of `sbpca_stream`, N = pairs, S = ⌈N/s⌉ sub-batches):
      sub_batches  S;  qr_count 2·S (one n×k and one m×k orthonormalisation per sub-batch)
      proj_macs    N·k·(3m + 2n): Ds·Δ, Xsᵀ·(DsΔ), Xs·X, Dsᵀ·(XsX), Ds·Δ_new
      sigma_macs   N·k + S·k: colsum((DsΔ)⊙(XsX)) and σ ← c·σ + d·sum
      mix_macs     S·k·(m+n): the "+ d/σ·(…)" of steps 1 and 3 (c·X is a mul)
      qr_macs      S·k²·(m+n): modified Gram-Schmidt, L·k² MACs for an L×k matrix
      init_macs    n·k if ``init`` (σ from the first sub-batch: column norms of Xsᵀ Ds Δ)
      macs         the sum of the above (the batch's streaming work)
      mul          S·(2k(m+n) + k): c·X, c·Δ, MGS normalisation, c·σ
      div          S·4k (+k if init): d/σ_j twice, 1/‖q_j‖ twice (+ the init norm / s_i)
      sqrt         S·2k (+k if init): MGS column norms (+ the init norms)
      expand_macs  m·n·k, expand_mul m·k + k: one Ĝ = Δ·diag(σ·N)·Xᵀ
      state_numbers      k·(m+n+1), persistent between batches
      workspace_numbers  2·s·k + k·(m+n), alive during the stream only

    DESIGN.md §2 quotes ≈ 3·B·P·k·(m+n) projection MACs. The exact count is N·k·(3m+2n): Xs·X is
    formed once and reused by steps 3 and 5, while Ds·Δ is needed twice (with the old Δ in step 1
    and the new Δ in step 5), so Ds is read three times and Xs twice. The QR, mixing and σ terms
    are per sub-batch and are listed separately. Assumes a zero-free state (a column whose
    Gram-Schmidt norm is exactly 0 skips its div and L mul).
    """
    m, n, k, s, pairs = int(m), int(n), int(k), int(s), int(pairs)
    if min(m, n, k, s) < 1 or pairs < 0:
        raise ValueError("m, n, k, s must be >= 1 and pairs >= 0")
    S = -(-pairs // s)
    c = {
        "m": m, "n": n, "k": k, "s": s, "pairs": pairs,
        "sub_batches": S,
        "qr_count": 2 * S,
        "proj_macs": pairs * k * (3 * m + 2 * n),
        "sigma_macs": pairs * k + S * k,
        "mix_macs": S * k * (m + n),
        "qr_macs": S * k * k * (m + n),
        "init_macs": n * k if (init and S) else 0,
    }
    c["macs"] = c["proj_macs"] + c["sigma_macs"] + c["mix_macs"] + c["qr_macs"] + c["init_macs"]
    c["mul"] = S * (2 * k * (m + n) + k)
    c["div"] = S * 4 * k + (k if (init and S) else 0)
    c["sqrt"] = S * 2 * k + (k if (init and S) else 0)
    c["elem_ops"] = c["mul"] + c["div"] + c["sqrt"]
    c["scalar_ops"] = 3 * S
    c["expand_macs"] = m * n * k
    c["expand_mul"] = m * k + k
    c["state_numbers"] = k * (m + n + 1)
    c["workspace_numbers"] = 2 * s * k + k * (m + n)
    return c


def full_gradient_counts(m: int, n: int, pairs: int) -> dict:
    """Exact operations of `full_gradient` on one batch: ``macs`` = pairs·m·n multiply-accumulates
    (no other arithmetic), ``state_numbers`` = m·n (the gradient G; momentum, if used, is another
    m·n kept by the update rule, not by this kernel)."""
    m, n, pairs = int(m), int(n), int(pairs)
    return {"m": m, "n": n, "pairs": pairs, "macs": pairs * m * n, "elem_ops": 0,
            "state_numbers": m * n}


# --------------------------------------------------------------------------------------------
# plain-numpy reference (DESIGN.md orientation: delta m×k, x n×k)
# --------------------------------------------------------------------------------------------

def qr_signfix(A: np.ndarray) -> np.ndarray:
    """Q of the reduced QR of A with each column flipped by sign(diag R) (so diag R ≥ 0)."""
    Q, R = np.linalg.qr(A)
    sg = np.sign(np.diag(R))
    sg[sg == 0] = 1.0
    return Q * sg


def sbpca_step_ref(Xs, Ds, delta, x, sigma, s=None, seen=0):
    """Numpy reference of one step; returns new (delta m×k, x n×k, sigma k)."""
    si = Xs.shape[0]
    s = si if s is None else s
    w = float(s + seen)
    d = 1.0 / (w + si)
    c = w * d
    sigma = np.array(sigma, dtype=np.float64)
    P = Ds @ delta
    Y = Xs.T @ P
    bad = ~(sigma > 0)
    if bad.any():
        est = np.linalg.norm(Y, axis=0) / si
        est[~(est > 0)] = 1.0
        sigma[bad] = est[bad]
    x = qr_signfix(c * x + Y * (d / sigma))
    Q = Xs @ x
    delta = qr_signfix(c * delta + (Ds.T @ Q) * (d / sigma))
    sigma = c * sigma + d * np.sum((Ds @ delta) * Q, axis=0)
    return delta, x, sigma


def sbpca_stream_ref(Xp, Dp, s, delta, x, sigma):
    """Numpy reference of `sbpca_stream`; returns new (delta, x, sigma)."""
    for start in range(0, Xp.shape[0], s):
        delta, x, sigma = sbpca_step_ref(Xp[start:start + s], Dp[start:start + s], delta, x, sigma,
                                         s=s, seen=start)
    return delta, x, sigma


def sbpca_expand_ref(delta, x, sigma, scale):
    """Numpy reference of `sbpca_expand`."""
    return (delta * (sigma * scale)) @ x.T


def full_gradient_ref(Xp, Dp):
    """Numpy reference of `full_gradient` (one BLAS GEMM)."""
    return Dp.T @ Xp


def truncated_svd(G: np.ndarray, k: int) -> np.ndarray:
    """G_k, the best rank-k approximation of G (exact SVD)."""
    U, S, Vt = np.linalg.svd(G, full_matrices=False)
    return (U[:, :k] * S[:k]) @ Vt[:k]


def relative_error(A: np.ndarray, B: np.ndarray) -> float:
    """‖A − B‖_F / ‖B‖_F (nan when B = 0)."""
    nb = float(np.linalg.norm(B))
    return float(np.linalg.norm(A - B)) / nb if nb > 0 else math.nan
