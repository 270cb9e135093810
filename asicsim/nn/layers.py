"""Layers of the functional trainer: forward and backward in numpy (float64, NHWC).

Weighted layers (`Conv2D`, `Linear`) keep, after `backward`, the (δ, x) pairs of the batch that the
weight gradient is made of: ``xp`` (N×n: im2col patches or inputs) and ``dp`` (N×m: output error at
each position), N = B·H_out·W_out for a conv layer and B for a linear layer. The full gradient is
``dp.T @ xp``; the update rules (`asicsim.nn.updates`) decide what to do with the pairs (form G,
stream them through SBPCA, or truncate G by SVD). The im2col column order is (kh, kw, C_in), the
natural order for NHWC data, so W is the (C_out, kh·kw·C_in) matrix of `Layer.weight_shape` (a
permutation of its columns relative to PyTorch's (C_in, kh, kw); nothing depends on the order).
im2col/col2im and max pooling are numba loops (`asicsim.nn._nb`); the GEMMs are numpy/BLAS.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from asicsim.nn import _nb


class Layer:
    """Base: no parameters, identity shape bookkeeping."""
    weighted = False

    def __init__(self, name: str):
        self.name = name

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:  # pragma: no cover
        raise NotImplementedError


class _Weighted(Layer):
    weighted = True

    def __init__(self, name: str, m: int, n: int, bias: bool, rng: np.random.Generator):
        super().__init__(name)
        # He (Kaiming) normal initialisation, fan-in n
        self.W = rng.standard_normal((m, n)) * np.sqrt(2.0 / n)
        self.b = np.zeros(m) if bias else None
        self.xp: np.ndarray | None = None
        self.dp: np.ndarray | None = None
        self.db: np.ndarray | None = None

    @property
    def m(self) -> int:
        return self.W.shape[0]

    @property
    def n(self) -> int:
        return self.W.shape[1]

    @property
    def pairs(self) -> int:
        return 0 if self.xp is None else self.xp.shape[0]

    def weight_grad(self) -> np.ndarray:
        """G = Σ δ xᵀ over the batch's pairs (the mean-loss gradient; δ carries the 1/B)."""
        return self.dp.T @ self.xp

    batch = 0  # samples in the last batch (pairs = batch · positions)

    def _store(self, dp: np.ndarray):
        self.dp = dp
        self.db = dp.sum(axis=0) if self.b is not None else None


class Linear(_Weighted):
    """y = x·Wᵀ + b on the flattened input (B, n)."""

    def __init__(self, name: str, n_in: int, n_out: int, bias: bool = True,
                 rng: np.random.Generator | None = None):
        super().__init__(name, n_out, n_in, bias, rng if rng is not None else np.random.default_rng(0))
        self._in_shape = None

    def forward(self, x, train=True):
        self._in_shape = x.shape
        self.batch = x.shape[0]
        x2 = np.ascontiguousarray(x.reshape(x.shape[0], -1))
        if train:
            self.xp = x2
        y = x2 @ self.W.T
        if self.b is not None:
            y += self.b
        return y

    def backward(self, dy, need_dx=True):
        self._store(np.ascontiguousarray(dy))
        if not need_dx:
            return None
        return (dy @ self.W).reshape(self._in_shape)


def _pad(x, ph, pw, value=0.0, extra_h=0, extra_w=0):
    if ph == pw == extra_h == extra_w == 0:
        return x
    return np.pad(x, ((0, 0), (ph, ph + extra_h), (pw, pw + extra_w), (0, 0)), constant_values=value)


def _windows(xp, kh, kw, sh, sw, ho, wo):
    """(B, ho, wo, C, kh, kw) strided view of the windows of padded NHWC input xp."""
    v = sliding_window_view(xp, (kh, kw), axis=(1, 2))
    return v[:, : (ho - 1) * sh + 1: sh, : (wo - 1) * sw + 1: sw]


class Conv2D(_Weighted):
    """2-D convolution by im2col: stride and zero padding per axis, ``groups`` ≥ 1 (depthwise when
    groups = C_in = C_out).

    W is (C_out, kh·kw·C_in/groups): the rows of group g see only input channels of group g. For
    groups > 1 the pairs are stacked group by group: ``xp`` is (groups·B·P)×n (group g's im2col
    patches in block g) and ``dp`` is (groups·B·P)×C_out with group g's output error in its own
    columns and zeros elsewhere, so ``dp.T @ xp`` is exactly the block-structured gradient and
    every update rule sees an ordinary (m×n, pairs) stream (groups times B·P pairs)."""

    def __init__(self, name: str, c_in: int, c_out: int, kernel: tuple[int, int],
                 stride: tuple[int, int] = (1, 1), padding: tuple[int, int] = (0, 0), bias: bool = True,
                 rng: np.random.Generator | None = None, groups: int = 1):
        kh, kw = kernel
        if c_in % groups or c_out % groups:
            raise ValueError("groups must divide C_in and C_out")
        super().__init__(name, c_out, c_in // groups * kh * kw, bias,
                         rng if rng is not None else np.random.default_rng(0))
        self.c_in, self.kernel, self.stride, self.padding = c_in, kernel, stride, padding
        self.groups = groups
        self._cache = None

    def out_hw(self, h, w):
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1

    def forward(self, x, train=True):
        B, H, W_, C = x.shape
        self.batch = B
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        ho, wo = self.out_hw(H, W_)
        if self.groups > 1:
            return self._forward_grouped(x, train, ho, wo)
        cols = _nb.im2col(np.ascontiguousarray(x, dtype=np.float64), kh, kw, sh, sw, ph, pw, ho, wo)
        if train:
            self.xp = cols
            self._cache = (x.shape, ho, wo)
        y = cols @ self.W.T
        if self.b is not None:
            y += self.b
        return y.reshape(B, ho, wo, self.m)

    def _forward_grouped(self, x, train, ho, wo):
        B = x.shape[0]
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        g, cg, og = self.groups, self.c_in // self.groups, self.m // self.groups
        cols = [_nb.im2col(np.ascontiguousarray(x[..., i * cg:(i + 1) * cg], dtype=np.float64),
                           kh, kw, sh, sw, ph, pw, ho, wo) for i in range(g)]
        y = np.empty((B * ho * wo, self.m))
        for i in range(g):
            y[:, i * og:(i + 1) * og] = cols[i] @ self.W[i * og:(i + 1) * og].T
        if train:
            self.xp = np.vstack(cols)
            self._cache = (x.shape, ho, wo)
        if self.b is not None:
            y += self.b
        return y.reshape(B, ho, wo, self.m)

    def backward(self, dy, need_dx=True):
        (B, H, W_, C), ho, wo = self._cache
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        if self.groups > 1:
            return self._backward_grouped(dy.reshape(B * ho * wo, self.m), need_dx)
        self._store(np.ascontiguousarray(dy.reshape(B * ho * wo, self.m)))
        if not need_dx:
            return None
        return _nb.col2im(self.dp @ self.W, B, H, W_, C, kh, kw, sh, sw, ph, pw, ho, wo)

    def _backward_grouped(self, dy2, need_dx):
        (B, H, W_, C), ho, wo = self._cache
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        g, cg, og, N = self.groups, self.c_in // self.groups, self.m // self.groups, dy2.shape[0]
        dp = np.zeros((g * N, self.m))
        for i in range(g):
            dp[i * N:(i + 1) * N, i * og:(i + 1) * og] = dy2[:, i * og:(i + 1) * og]
        self._store(dp)
        if not need_dx:
            return None
        parts = [_nb.col2im(np.ascontiguousarray(dy2[:, i * og:(i + 1) * og] @ self.W[i * og:(i + 1) * og]),
                            B, H, W_, cg, kh, kw, sh, sw, ph, pw, ho, wo) for i in range(g)]
        return np.concatenate(parts, axis=3)


class _Pool(Layer):
    def __init__(self, name, kernel, stride, padding, out_hw):
        super().__init__(name)
        self.kernel, self.stride, self.padding, self.out_hw = kernel, stride, padding, out_hw
        self._cache = None

    def _geometry(self, H, W_):
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        ho, wo = self.out_hw
        # extra bottom/right padding that ceil_mode windows need
        eh = max(0, (ho - 1) * sh + kh - (H + 2 * ph))
        ew = max(0, (wo - 1) * sw + kw - (W_ + 2 * pw))
        return kh, kw, sh, sw, ph, pw, ho, wo, eh, ew


class MaxPool(_Pool):
    """Max pooling (padding never wins; ties go to the first maximum in the window)."""

    def forward(self, x, train=True):
        B, H, W_, C = x.shape
        kh, kw, sh, sw, ph, pw, ho, wo, _, _ = self._geometry(H, W_)
        y, arg = _nb.maxpool_fwd(np.ascontiguousarray(x, dtype=np.float64), kh, kw, sh, sw, ph, pw, ho, wo)
        if train:
            self._cache = (H, W_, arg)
        return y

    def backward(self, dy, need_dx=True):
        H, W_, arg = self._cache
        return _nb.maxpool_bwd(np.ascontiguousarray(dy), arg, H, W_)


class AvgPool(_Pool):
    """Average pooling; the divisor is always kh·kw (zero padding counts, PyTorch's default)."""

    def forward(self, x, train=True):
        B, H, W_, C = x.shape
        kh, kw, sh, sw, ph, pw, ho, wo, eh, ew = self._geometry(H, W_)
        xp = _pad(x, ph, pw, 0.0, eh, ew)
        if train:
            self._cache = (x.shape, xp.shape)
        return _windows(xp, kh, kw, sh, sw, ho, wo).mean(axis=(-2, -1))

    def backward(self, dy, need_dx=True):
        xshape, pshape = self._cache
        kh, kw, sh, sw, ph, pw, ho, wo, _, _ = self._geometry(xshape[1], xshape[2])
        g = dy * (1.0 / (kh * kw))
        dx = np.zeros(pshape)
        for i in range(kh):
            for j in range(kw):
                dx[:, i: i + (ho - 1) * sh + 1: sh, j: j + (wo - 1) * sw + 1: sw, :] += g
        return dx[:, ph: ph + xshape[1], pw: pw + xshape[2], :]


class GlobalAvgPool(Layer):
    def forward(self, x, train=True):
        self._shape = x.shape
        return x.mean(axis=(1, 2), keepdims=True)

    def backward(self, dy, need_dx=True):
        B, H, W_, C = self._shape
        return np.broadcast_to(dy / (H * W_), self._shape).copy()


class ReLU(Layer):
    def __init__(self, name, cap: float | None = None):
        super().__init__(name)
        self.cap = cap  # 6.0 for relu6

    def forward(self, x, train=True):
        if self.cap is None:
            mask = x > 0
            y = x * mask
        else:
            mask = (x > 0) & (x < self.cap)
            y = np.clip(x, 0.0, self.cap)
        if train:
            self._mask = mask
        return y

    def backward(self, dy, need_dx=True):
        return dy * self._mask


class Flatten(Layer):
    """(B, H, W, C) -> (B, H·W·C) in NHWC order."""

    def forward(self, x, train=True):
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy, need_dx=True):
        return dy.reshape(self._shape)


class SoftmaxCE(Layer):
    """Mean softmax cross-entropy over the batch; `backward` returns (p − onehot)/B."""

    def forward(self, logits, labels):
        z = logits - logits.max(axis=1, keepdims=True)
        ez = np.exp(z)
        s = ez.sum(axis=1, keepdims=True)
        self._p = ez / s
        self._labels = labels
        logp = z[np.arange(len(labels)), labels] - np.log(s[:, 0])
        return float(-logp.mean())

    def backward(self, dy=None, need_dx=True):
        B = len(self._labels)
        g = self._p.copy()
        g[np.arange(B), self._labels] -= 1.0
        return g / B
