"""Layers that make residual networks trainable: batch normalisation and the residual add.

`BatchNorm` normalises each channel (the last axis: C of NHWC maps, features of a linear output)
with the batch's mean and biased variance in training, and with running averages in evaluation
(PyTorch's convention: running ← 0.9·running + 0.1·batch, running variance from the unbiased
batch variance, ε = 1e-5; Ioffe & Szegedy, ICML 2015). Its scale γ and shift β are plain vectors:
every update rule changes them with their exact gradient (like biases), since the low-rank and
feedback rules are about weight matrices.

`Add` is the two-input sum of a residual block; its backward hands the same gradient to both
inputs (the model sums gradients where a tensor feeds several layers).
"""
from __future__ import annotations

import numpy as np

from asicsim.nn.layers import Layer

EPS = 1e-5
RUNNING_MOMENTUM = 0.1


class BatchNorm(Layer):
    """y = γ·(x − μ)/√(σ² + ε) + β per channel (last axis)."""
    has_vectors = True

    def __init__(self, name: str, channels: int):
        super().__init__(name)
        self.gamma = np.ones(channels)
        self.beta = np.zeros(channels)
        self.running_mean = np.zeros(channels)
        self.running_var = np.ones(channels)
        self.dgamma: np.ndarray | None = None
        self.dbeta: np.ndarray | None = None
        self._cache = None

    def forward(self, x, train=True):
        axes = tuple(range(x.ndim - 1))
        if train:
            count = x.size // x.shape[-1]
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            inv = 1.0 / np.sqrt(var + EPS)
            xhat = (x - mean) * inv
            self._cache = (xhat, inv, count)
            unbiased = var * (count / (count - 1)) if count > 1 else var
            self.running_mean = (1 - RUNNING_MOMENTUM) * self.running_mean + RUNNING_MOMENTUM * mean
            self.running_var = (1 - RUNNING_MOMENTUM) * self.running_var + RUNNING_MOMENTUM * unbiased
        else:
            xhat = (x - self.running_mean) / np.sqrt(self.running_var + EPS)
        return xhat * self.gamma + self.beta

    def backward(self, dy, need_dx=True):
        xhat, inv, count = self._cache
        axes = tuple(range(dy.ndim - 1))
        self.dbeta = dy.sum(axis=axes)
        self.dgamma = (dy * xhat).sum(axis=axes)
        if not need_dx:
            return None
        return (self.gamma * inv / count) * (count * dy - self.dbeta - xhat * self.dgamma)

    def vectors(self) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
        """(name, parameter, gradient) of γ and β; the gradient is None if no backward reached
        this layer in the last step (then it is left unchanged)."""
        return [(f"{self.name}.gamma", self.gamma, self.dgamma), (f"{self.name}.beta", self.beta, self.dbeta)]

    def clear_grads(self) -> None:
        self.dgamma = self.dbeta = None


class Add(Layer):
    """Sum of two (a residual connection) or more tensors of the same shape."""
    inputs = 2

    def forward(self, xs, train=True):
        self._n = len(xs)
        out = xs[0] + xs[1]
        for x in xs[2:]:
            out = out + x
        return out

    def backward(self, dy, need_dx=True):
        return (dy,) * getattr(self, "_n", 2)


class Concat(Layer):
    """Channel concatenation of NHWC tensors (the last axis): fire modules, dense blocks. Its
    backward splits δy back into one slice per input, in the inputs' order."""

    def forward(self, xs, train=True):
        self._sizes = [x.shape[-1] for x in xs]
        return np.concatenate(xs, axis=-1)

    def backward(self, dy, need_dx=True):
        return tuple(np.split(dy, np.cumsum(self._sizes)[:-1], axis=-1))
