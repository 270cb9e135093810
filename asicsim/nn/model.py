"""Build a trainable model from the same network description the hardware simulator reads.

`build_model(network, rng)` turns a `asicsim.workload.network.Network` into `Model`, a directed
acyclic graph of layers in the file's order: each layer reads the tensors named in its
``inputs`` (the previous layer by default; ``add`` and ``concat`` read several), so residual networks train as the
simulator sees them. Supported layer types: conv (any stride, padding, groups), linear, relu,
relu6, batchnorm, add, concat, maxpool, avgpool (ceil_mode too), global_avgpool, flatten, softmax_ce.
dropout is refused with an InputError.

Backward: gradients are summed where a tensor feeds several layers; layers before the first one
with parameters are not visited. A `asicsim.nn.feedback.Feedback` may replace the back-propagated
gradient at chosen tensors by a projection of the output error (direct feedback alignment).
"""
from __future__ import annotations

import numpy as np

from asicsim.errors import InputError
from asicsim.nn import blocks as N
from asicsim.nn import layers as L
from asicsim.workload.layer_kinds import symmetric
from asicsim.workload.network import ConvLayer, LinearLayer, Network, PoolLayer, _pair

SUPPORTED = ("conv (any groups), linear, relu, relu6, batchnorm, add, concat, maxpool, avgpool, "
             "global_avgpool, flatten, softmax_ce (symmetric padding)")


class Model:
    """A DAG of layers (in topological order) ending in a softmax cross-entropy loss."""

    def __init__(self, name: str, layers: list[L.Layer], input_shape: tuple[int, int, int],
                 inputs: list[tuple[str, ...]] | None = None, kinds: list[str] | None = None):
        self.name = name
        self.layers = layers
        self.loss_layer = L.SoftmaxCE("loss")
        self.input_shape = input_shape  # (C, H, W)
        if inputs is None:   # a plain chain
            inputs = [("input",)] + [(layers[i - 1].name,) for i in range(1, len(layers))]
        self.inputs = [tuple(i) for i in inputs]
        self.kinds = kinds or [type(l).__name__.lower() for l in layers]
        index = {l.name: i for i, l in enumerate(layers)}
        self.last_use = {"input": -1}
        self.consumers: dict[str, list[int]] = {l.name: [] for l in layers}
        for i, srcs in enumerate(self.inputs):
            for s in srcs:
                self.last_use[s] = i
                if s in index:
                    self.consumers[s].append(i)
        self._first = next(i for i, l in enumerate(layers) if l.weighted or getattr(l, "has_vectors", False))

    @property
    def weighted(self) -> list[L._Weighted]:
        return [l for l in self.layers if l.weighted]

    @property
    def norms(self) -> list[L.Layer]:
        """Layers with plain parameter vectors (batch-norm γ, β)."""
        return [l for l in self.layers if getattr(l, "has_vectors", False)]

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        """Logits for NHWC input x (tensors are dropped after their last reader)."""
        outs = {"input": x}
        self._shapes: dict[str, tuple] = {}
        for i, (l, srcs) in enumerate(zip(self.layers, self.inputs)):
            arg = outs[srcs[0]] if len(srcs) == 1 else tuple(outs[s] for s in srcs)
            y = l.forward(arg, train)
            self._shapes[l.name] = y.shape[1:]
            for s in dict.fromkeys(srcs):   # a layer may read one tensor twice
                if self.last_use.get(s) == i:
                    del outs[s]
            outs[l.name] = y
        x = outs[self.layers[-1].name]
        self._out_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def loss(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
        """Forward pass in training mode: (mean loss, logits)."""
        logits = self.forward(x, train=True)
        return self.loss_layer.forward(logits, labels), logits

    def backward(self, feedback=None) -> None:
        """Backward pass after `loss`: every weighted layer ends up holding its (δ, x) pairs.
        With ``feedback`` (`asicsim.nn.feedback.Feedback`), the gradient at its injection tensors is
        replaced by the projected output error, and layers it marks skip their input gradient."""
        e = self.loss_layer.backward()
        grads = {self.layers[-1].name: e.reshape(self._out_shape)}
        for l in self.norms:
            l.clear_grads()
        for i in range(len(self.layers) - 1, self._first - 1, -1):
            l = self.layers[i]
            g = grads.pop(l.name, None)
            if feedback is not None:
                g = feedback.signal(l.name, e, g, (e.shape[0],) + self._shapes[l.name])
            if g is None:
                continue
            need = i > self._first and (feedback is None or feedback.need_dx(l))
            dx = l.backward(g, need_dx=need)
            if dx is None:
                continue
            srcs = self.inputs[i]
            for s, d in zip(srcs, dx if len(srcs) > 1 else (dx,)):
                if s == "input":
                    continue
                grads[s] = d if s not in grads else grads[s] + d

    def predict(self, x: np.ndarray, chunk: int = 1000) -> np.ndarray:
        return np.concatenate([self.forward(x[i:i + chunk], train=False).argmax(axis=1)
                               for i in range(0, len(x), chunk)])

    def parameters(self) -> dict[str, np.ndarray]:
        out = {}
        for l in self.layers:
            if l.weighted:
                out[f"{l.name}.W"] = l.W
                if l.b is not None:
                    out[f"{l.name}.b"] = l.b
            elif getattr(l, "has_vectors", False):
                out[f"{l.name}.gamma"] = l.gamma
                out[f"{l.name}.beta"] = l.beta
        return out


def build_model(network: Network, rng: np.random.Generator | int = 0) -> Model:
    """Model for ``network`` with He-normal weights from ``rng`` (biases zero)."""
    rng = np.random.default_rng(rng)
    where = network.path or network.name
    layers: list[L.Layer] = []
    inputs: list[tuple[str, ...]] = []
    kinds: list[str] = []
    for i, lay in enumerate(network.layers):
        s = lay.spec
        kind = lay.kind
        if getattr(s, "padding", 0) != 0 and not symmetric(s.padding):
            raise InputError("asymmetric padding is not supported by the trainer", file=where,
                             field=f"layers[{i}].padding", value=s.padding, allowed="one padding per axis")
        if kind != "softmax_ce":
            inputs.append(tuple(lay.inputs))
            kinds.append(kind)
        if kind == "conv":
            assert isinstance(s, ConvLayer)
            if _pair(s.dilation) != (1, 1):
                raise InputError("dilated conv is not supported by the trainer", file=where,
                                 field=f"layers[{i}].dilation", value=s.dilation, allowed="1")
            layers.append(L.Conv2D(lay.name, lay.in_shape.c, s.out_channels, _pair(s.kernel), _pair(s.stride),
                                   _pair(s.padding), s.bias, rng, groups=s.groups))
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
        elif kind == "batchnorm":
            layers.append(N.BatchNorm(lay.name, lay.out_shape.c))
        elif kind == "add":
            layers.append(N.Add(lay.name))
        elif kind == "concat":
            layers.append(N.Concat(lay.name))
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
    if network.layers[-1].kind == "softmax_ce" and network.layers[-1].inputs != (last.name,):
        raise InputError("softmax_ce must read the layer just before it", file=where, field="layers[-1].input",
                         value=network.layers[-1].inputs[0])
    model = Model(network.name, layers, (s0.c, s0.h, s0.w), inputs, kinds)
    model.num_outputs = last.out_shape.c
    model.numel = {lay.name: lay.out_shape.numel for lay in network.layers}
    return model
