"""numba kernels of SBPCA and the full gradient (private: `asicsim.kernels.sbpca` wraps them).

Every arithmetic operation on data is written out so that `asicsim.kernels.counts` can be checked
by running these bodies (``.py_func``) on counting scalars. Single-threaded, deterministic,
``cache=True`` (compiled once per machine into ``__pycache__``).
"""
from __future__ import annotations

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


