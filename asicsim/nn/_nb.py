"""numba helpers of the layers: im2col / col2im and max pooling on NHWC float64 arrays.

im2col column order is (kh, kw, C_in): column (i·kw + j)·C + c of row (b, y, x) holds
x[b, y·sh + i − ph, x·sw + j − pw, c] (0 outside the input).
"""
from __future__ import annotations

import numpy as np
from numba import njit

_JIT = dict(cache=True, error_model="numpy", nogil=True)


@njit(**_JIT)
def im2col(x, kh, kw, sh, sw, ph, pw, ho, wo):
    B, H, W, C = x.shape
    xf = x.reshape(B, H, W * C)
    run = kw * C
    out = np.zeros((B * ho * wo, kh * run))
    row = 0
    for b in range(B):
        for y in range(ho):
            for xo in range(wo):
                x0 = xo * sw - pw
                j0 = max(0, -x0)               # window columns inside the input: j0 <= j < j1
                j1 = min(kw, W - x0)
                for i in range(kh):
                    yy = y * sh + i - ph
                    if yy < 0 or yy >= H or j1 <= j0:
                        continue
                    src = (x0 + j0) * C
                    dst = i * run + j0 * C
                    for t in range((j1 - j0) * C):
                        out[row, dst + t] = xf[b, yy, src + t]
                row += 1
    return out


@njit(**_JIT)
def col2im(dcols, B, H, W, C, kh, kw, sh, sw, ph, pw, ho, wo):
    dx = np.zeros((B, H, W * C))
    run = kw * C
    row = 0
    for b in range(B):
        for y in range(ho):
            for xo in range(wo):
                x0 = xo * sw - pw
                j0 = max(0, -x0)
                j1 = min(kw, W - x0)
                for i in range(kh):
                    yy = y * sh + i - ph
                    if yy < 0 or yy >= H or j1 <= j0:
                        continue
                    src = i * run + j0 * C
                    dst = (x0 + j0) * C
                    for t in range((j1 - j0) * C):
                        dx[b, yy, dst + t] += dcols[row, src + t]
                row += 1
    return dx.reshape(B, H, W, C)


@njit(**_JIT)
def maxpool_fwd(x, kh, kw, sh, sw, ph, pw, ho, wo):
    """Max over each window (positions outside the input are −inf); also returns the flat index
    (yy·W + xx) of the first maximum of every output, for the backward pass."""
    B, H, W, C = x.shape
    y = np.empty((B, ho, wo, C))
    arg = np.empty((B, ho, wo, C), dtype=np.int64)
    for b in range(B):
        for oy in range(ho):
            for ox in range(wo):
                for c in range(C):
                    best = -np.inf
                    bi = -1
                    for i in range(kh):
                        yy = oy * sh + i - ph
                        if yy < 0 or yy >= H:
                            continue
                        for j in range(kw):
                            xx = ox * sw + j - pw
                            if xx < 0 or xx >= W:
                                continue
                            v = x[b, yy, xx, c]
                            if v > best or bi < 0:
                                best = v
                                bi = yy * W + xx
                    y[b, oy, ox, c] = best
                    arg[b, oy, ox, c] = bi
    return y, arg


@njit(**_JIT)
def maxpool_bwd(dy, arg, H, W):
    B, ho, wo, C = dy.shape
    dx = np.zeros((B, H, W, C))
    for b in range(B):
        for oy in range(ho):
            for ox in range(wo):
                for c in range(C):
                    a = arg[b, oy, ox, c]
                    if a >= 0:
                        dx[b, a // W, a % W, c] += dy[b, oy, ox, c]
    return dx
