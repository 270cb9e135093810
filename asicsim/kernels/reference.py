"""Plain-numpy references of the kernels (orientation: delta m×k, x n×k), the exact
truncated SVD baseline, and the relative error used to compare them.
"""
from __future__ import annotations

import math

import numpy as np

# --------------------------------------------------------------------------------------------
# plain-numpy reference (orientation: delta m×k, x n×k)
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
