"""Build a trainable model from the same network description the hardware simulator reads.

`build_model(network, rng)` turns a `asicsim.workload.network.Network` (a chain of layers) into `Model`.
Supported layer types: conv (groups = 1; any stride, padding), linear, relu, relu6, maxpool,
avgpool (ceil_mode too), global_avgpool, flatten, softmax_ce. The others of the schema
(batchnorm, dropout, add, grouped conv) and non-chain wiring are refused with an InputError.
"""
from __future__ import annotations

import numpy as np

from asicsim.errors import InputError
from asicsim.nn import layers as L
from asicsim.workload.network import ConvLayer, LinearLayer, Network, PoolLayer, _pair

SUPPORTED = "conv (groups=1), linear, relu, relu6, maxpool, avgpool, global_avgpool, flatten, softmax_ce"


class Model:
    """A chain of layers ending in a softmax cross-entropy loss."""

    def __init__(self, name: str, layers: list[L.Layer], input_shape: tuple[int, int, int]):
        self.name = name
        self.layers = layers
        self.loss_layer = L.SoftmaxCE("loss")
        self.input_shape = input_shape  # (C, H, W)

    @property
    def weighted(self) -> list[L._Weighted]:
        return [l for l in self.layers if l.weighted]

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        """Logits for NHWC input x."""
        for l in self.layers:
            x = l.forward(x, train)
        self._out_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def loss(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
        """Forward pass in training mode: (mean loss, logits)."""
        logits = self.forward(x, train=True)
        return self.loss_layer.forward(logits, labels), logits

    def backward(self) -> None:
        """Backward pass after `loss`: every weighted layer ends up holding its (δ, x) pairs."""
        g = self.loss_layer.backward().reshape(self._out_shape)
        first = next(i for i, l in enumerate(self.layers) if l.weighted)
        for i in range(len(self.layers) - 1, first - 1, -1):
            g = self.layers[i].backward(g, need_dx=i > first)

    def predict(self, x: np.ndarray, chunk: int = 1000) -> np.ndarray:
        return np.concatenate([self.forward(x[i:i + chunk], train=False).argmax(axis=1)
                               for i in range(0, len(x), chunk)])

    def parameters(self) -> dict[str, np.ndarray]:
        out = {}
        for l in self.weighted:
            out[f"{l.name}.W"] = l.W
            if l.b is not None:
                out[f"{l.name}.b"] = l.b
        return out


def build_model(network: Network, rng: np.random.Generator | int = 0) -> Model:
    """Model for ``network`` with He-normal weights from ``rng`` (biases zero)."""
    rng = np.random.default_rng(rng)
    where = network.path or network.name
    layers: list[L.Layer] = []
    prev = "input"
    for i, lay in enumerate(network.layers):
        s = lay.spec
        if lay.inputs != (prev,):
            raise InputError("the trainer handles a plain chain of layers only (each layer reading "
                             "the one before it)", file=where, field=f"layers[{i}].input", value=lay.inputs[0])
        prev = lay.name
        kind = lay.kind
        if kind == "conv":
            assert isinstance(s, ConvLayer)
            if s.groups != 1:
                raise InputError("grouped/depthwise conv is not supported by the trainer", file=where,
                                 field=f"layers[{i}].groups", value=s.groups, allowed="1")
            if _pair(s.dilation) != (1, 1):
                raise InputError("dilated conv is not supported by the trainer", file=where,
                                 field=f"layers[{i}].dilation", value=s.dilation, allowed="1")
            layers.append(L.Conv2D(lay.name, lay.in_shape.c, s.out_channels, _pair(s.kernel), _pair(s.stride),
                                   _pair(s.padding), s.bias, rng))
        elif kind == "linear":
            assert isinstance(s, LinearLayer)
            layers.append(L.Linear(lay.name, lay.in_shape.numel, s.out_features, s.bias, rng))
        elif kind in ("maxpool", "avgpool"):
            assert isinstance(s, PoolLayer)
            cls = L.MaxPool if kind == "maxpool" else L.AvgPool
            layers.append(cls(lay.name, _pair(s.kernel), _pair(s.stride if s.stride is not None else s.kernel),
                              _pair(s.padding), (lay.out_shape.h, lay.out_shape.w)))
        elif kind == "global_avgpool":
            layers.append(L.GlobalAvgPool(lay.name))
        elif kind in ("relu", "relu6"):
            layers.append(L.ReLU(lay.name, 6.0 if kind == "relu6" else None))
        elif kind == "flatten":
            layers.append(L.Flatten(lay.name))
        elif kind == "softmax_ce":
            pass  # the model's loss layer
        else:
            raise InputError(f"layer type '{kind}' is not supported by the trainer", file=where,
                             field=f"layers[{i}].type", value=kind, allowed=SUPPORTED)
    if not any(l.weighted for l in layers):
        raise InputError("network has no conv or linear layer to train", file=where)
    last = network.layers[-1] if network.layers[-1].kind != "softmax_ce" else network.layers[-2]
    if last.out_shape.h != 1 or last.out_shape.w != 1:
        raise InputError("the last layer before softmax_ce must give one score per class "
                         "(a linear layer or global pooling)", file=where, field="layers", value=last.name)
    s0 = network.input_shape
    model = Model(network.name, layers, (s0.c, s0.h, s0.w))
    model.num_outputs = last.out_shape.c
    return model
