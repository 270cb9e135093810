"""Network descriptions: the YAML schema, loading, and shape inference.

One description serves two uses: the hardware model lowers it to GEMMs and vector work
(`asicsim.lowering`), and the functional trainer (`asicsim.nn`) builds real layers from it.

File format (``models/networks/*.yaml``)::

    name: lenet5
    input: {channels: 1, height: 28, width: 28}
    layers:
      - {name: conv1, type: conv, out_channels: 6, kernel: 5, padding: 2}
      - {name: relu1, type: relu}
      - {name: pool1, type: maxpool, kernel: 2, stride: 2}
      - {name: flat,  type: flatten}
      - {name: fc1,   type: linear, out_features: 10}
      - {name: loss,  type: softmax_ce}

``activation_zeros: {relu3: 0.79, ...}`` (optional) gives the measured share of zeros in named
layers' outputs; only a DRAM link that run-length codes activations uses it.

Each layer reads the previous layer's output unless it names ``input: <layer>`` (``add`` names
``inputs: [a, b]``); the network input is called ``input``. Shapes are (channels, height, width);
after ``flatten`` or ``linear`` they are (features, 1, 1). Output size follows PyTorch:
``floor((H + 2p - k) / s) + 1`` (``ceil_mode: true`` on pooling for Caffe-style nets); SCALE-Sim
topologies use their own ``ceil`` rule and are converted in `asicsim.topology`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from asicsim.errors import InputError, validated
from asicsim.workload.layer_kinds import (  # noqa: F401  (re-exported: the new kinds live there)
    NEW_KINDS,
    NEW_TYPES,
    ConcatLayer,
    ConvTransposeLayer,
    Pads,
    ScaleLayer,
    _Checked,
    _Layer,
    _pair,
    infer_new,
    pads4,
    window_out,
)
from asicsim.presets import NETWORKS_DIR, load_yaml, resolve_preset  # noqa: F401  (re-used by loaders)

IntPair = Union[int, tuple[int, int]]


class ConvLayer(_Checked):
    type: Literal["conv"]
    out_channels: int = Field(gt=0)
    kernel: IntPair
    stride: IntPair = 1
    padding: Pads = 0       # one, per axis, or [top, left, bottom, right]
    groups: int = Field(1, gt=0)
    bias: bool = True
    dilation: IntPair = 1   # kernel taps spaced d apart: covers d·(k−1)+1 inputs, same MACs


class LinearLayer(_Layer):
    type: Literal["linear"]
    out_features: int = Field(gt=0)
    bias: bool = True


class PoolLayer(_Checked):
    type: Literal["maxpool", "avgpool"]
    kernel: IntPair
    stride: IntPair | None = None
    padding: Pads = 0
    ceil_mode: bool = False


class GlobalPoolLayer(_Layer):
    type: Literal["global_avgpool"]


class ActLayer(_Layer):
    type: Literal["relu", "relu6"]


class BatchNormLayer(_Layer):
    type: Literal["batchnorm"]


class FlattenLayer(_Layer):
    type: Literal["flatten"]


class DropoutLayer(_Layer):
    """Kept so reference nets read as published; costs one element op (a mask multiply)."""
    type: Literal["dropout"]
    p: float = Field(0.5, ge=0.0, lt=1.0)


class AddLayer(_Layer):
    """Sum of two (a residual add) or more (ONNX Sum) inputs of one shape."""
    type: Literal["add"]
    inputs: tuple[str, ...] = Field(min_length=2)


class LossLayer(_Layer):
    type: Literal["softmax_ce"]


LayerDef = Annotated[
    Union[ConvLayer, LinearLayer, PoolLayer, GlobalPoolLayer, ActLayer, BatchNormLayer,
          FlattenLayer, DropoutLayer, AddLayer, LossLayer, *NEW_KINDS],
    Field(discriminator="type"),
]

LAYER_TYPES = ("conv, linear, maxpool, avgpool, global_avgpool, relu, relu6, batchnorm, flatten, dropout, add, "
               "softmax_ce, " + NEW_TYPES)


class InputShape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    channels: int = Field(gt=0)
    height: int = Field(gt=0)
    width: int = Field(gt=0)


class NetworkFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    name: str
    description: str = ""
    source: str = ""
    input: InputShape
    layers: list[LayerDef] = Field(min_length=1)
    # measured share of zeros in a layer's output (``input``: the network input), e.g. after ReLU;
    # a DRAM link that run-length codes activations moves fewer bytes (asicsim.engine.compression)
    activation_zeros: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = {}


MAX_ELEMS_PER_SAMPLE = 1 << 32   # elements of one sample's tensor: 2^32 is far beyond any real network,
                                 # and keeps every count of the model inside 64-bit integers


@dataclass(frozen=True)
class Shape:
    """Feature-map shape per sample: channels × height × width (features × 1 × 1 after flatten)."""
    c: int
    h: int
    w: int

    @property
    def numel(self) -> int:
        return self.c * self.h * self.w


@dataclass(frozen=True)
class Layer:
    """A layer with its resolved input and output shapes (per sample)."""
    spec: _Layer
    inputs: tuple[str, ...]
    in_shape: Shape
    out_shape: Shape
    input_numels: tuple[int, ...] = ()   # per-sample elements of each input (concat, scale read several)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.type  # type: ignore[attr-defined]

    @property
    def is_weighted(self) -> bool:
        return self.kind in ("conv", "linear", "conv_transpose")

    @property
    def weight_shape(self) -> tuple[int, int]:
        """(m, n) of the im2col weight matrix: m = C_out, n = C_in·kh·kw/groups (per group for conv:
        the full matrix has groups blocks). For linear, (out_features, in_features)."""
        s = self.spec
        if isinstance(s, ConvLayer):
            kh, kw = _pair(s.kernel)
            return s.out_channels, self.in_shape.c // s.groups * kh * kw
        if isinstance(s, LinearLayer):
            return s.out_features, self.in_shape.numel
        if isinstance(s, ConvTransposeLayer):   # the conv it transposes: C_out → C_in (see lowering)
            kh, kw = _pair(s.kernel)
            return self.in_shape.c, s.out_channels // s.groups * kh * kw
        raise ValueError(f"layer {self.name} has no weights")

    @property
    def positions(self) -> int:
        """P: output positions per sample that share the weights (H_out·W_out; 1 for linear)."""
        if self.kind == "conv_transpose":   # input positions: each scatters one kernel's worth
            return self.in_shape.h * self.in_shape.w
        return self.out_shape.h * self.out_shape.w if self.kind == "conv" else 1

    @property
    def params(self) -> int:
        if not self.is_weighted:
            return 2 * self.out_shape.c if self.kind == "batchnorm" else 0
        m, n = self.weight_shape
        bias = (self.out_shape.c if self.kind == "conv_transpose" else m) if self.spec.bias else 0  # type: ignore[attr-defined]
        return m * n + bias


@dataclass(frozen=True)
class Network:
    name: str
    input_shape: Shape
    layers: tuple[Layer, ...]
    source: str = ""
    path: str = ""
    _by_name: dict = field(default_factory=dict, compare=False, repr=False)
    activation_zeros: tuple[tuple[str, float], ...] = ()   # (layer or 'input', share of zeros)

    def layer(self, name: str) -> Layer:
        return self._by_name[name]

    @property
    def weighted_layers(self) -> tuple[Layer, ...]:
        return tuple(l for l in self.layers if l.is_weighted)

    @property
    def num_params(self) -> int:
        return sum(l.params for l in self.layers)

    def forward_macs(self, batch: int = 1) -> int:
        """Forward-pass MACs of conv and linear layers at this batch (exact integer)."""
        total = 0
        for l in self.weighted_layers:
            m, n = l.weight_shape
            total += batch * l.positions * m * n
        return total


def conv_out(size: int, k: int, s: int, p: int, ceil_mode: bool = False) -> int:
    """Output length of a conv/pool window along one axis (PyTorch rule), padding p on both sides."""
    return window_out(size, k, s, p, p, ceil_mode)


def _infer(spec: _Layer, ins: list[Shape], where: str, file: str) -> Shape:
    x = ins[0]
    if isinstance(spec, ConvLayer):
        kh, kw = _pair(spec.kernel)
        sh, sw = _pair(spec.stride)
        pt, pl, pb, pr = pads4(spec.padding)
        dh, dw = _pair(spec.dilation)
        kh, kw = dh * (kh - 1) + 1, dw * (kw - 1) + 1   # extent of the dilated window
        if x.c % spec.groups or spec.out_channels % spec.groups:
            raise InputError("groups must divide both input and output channels", file=file,
                             field=f"{where}.groups", value=spec.groups,
                             allowed=f"a divisor of in_channels={x.c} and out_channels={spec.out_channels}")
        if kh > x.h + pt + pb or kw > x.w + pl + pr:
            raise InputError("kernel larger than its (padded) input", file=file, field=f"{where}.kernel",
                             value=spec.kernel, allowed=f"at most {x.h + pt + pb}×{x.w + pl + pr} for input {x.c}×{x.h}×{x.w}")
        return Shape(spec.out_channels, window_out(x.h, kh, sh, pt, pb), window_out(x.w, kw, sw, pl, pr))
    if isinstance(spec, PoolLayer):
        kh, kw = _pair(spec.kernel)
        sh, sw = _pair(spec.stride if spec.stride is not None else spec.kernel)
        pt, pl, pb, pr = pads4(spec.padding)
        if kh > x.h + pt + pb or kw > x.w + pl + pr:
            raise InputError("pooling window larger than its (padded) input", file=file, field=f"{where}.kernel",
                             value=spec.kernel, allowed=f"at most {x.h + pt + pb}×{x.w + pl + pr}")
        return Shape(x.c, window_out(x.h, kh, sh, pt, pb, spec.ceil_mode), window_out(x.w, kw, sw, pl, pr, spec.ceil_mode))
    if isinstance(spec, GlobalPoolLayer):
        return Shape(x.c, 1, 1)
    if isinstance(spec, (FlattenLayer,)):
        return Shape(x.numel, 1, 1)
    if isinstance(spec, LinearLayer):
        return Shape(spec.out_features, 1, 1)
    if isinstance(spec, AddLayer):
        if any(s != ins[0] for s in ins[1:]):
            raise InputError("add needs inputs of the same shape", file=file, field=f"{where}.inputs",
                             value=" vs ".join(f"{s.c}×{s.h}×{s.w}" for s in ins))
        return x
    if isinstance(spec, NEW_KINDS):
        out, why = infer_new(spec, [(s.c, s.h, s.w) for s in ins])
        if out is None:
            raise InputError(why, file=file, field=where, value=spec.name)
        return Shape(*out)
    if isinstance(spec, LossLayer):
        return Shape(1, 1, 1)
    return x  # relu, relu6, batchnorm, dropout keep the shape


def build_network(data: dict, file: str = "<network>") -> Network:
    """Validate a parsed network description and resolve every layer's shapes."""
    if not isinstance(data, dict):
        raise InputError("a network file must be a YAML mapping with name, input, layers", file=file)
    nf = validated(NetworkFile, data, file)
    shapes: dict[str, Shape] = {"input": Shape(nf.input.channels, nf.input.height, nf.input.width)}
    layers: list[Layer] = []
    prev = "input"
    for i, spec in enumerate(nf.layers):
        where = f"layers[{i}]"
        if spec.name in shapes:
            raise InputError("duplicate layer name", file=file, field=f"{where}.name", value=spec.name,
                             allowed="unique names other than 'input'")
        if isinstance(spec, (AddLayer, ConcatLayer)) or (isinstance(spec, ScaleLayer) and spec.inputs):
            srcs = tuple(spec.inputs)  # type: ignore[arg-type]
        else:
            srcs = (spec.input or prev,)
        for s in srcs:
            if s not in shapes:
                raise InputError("refers to a layer that is not defined before it", file=file,
                                 field=f"{where}.input", value=s, allowed=f"one of {sorted(shapes)}")
        ins = [shapes[s] for s in srcs]
        if isinstance(spec, LossLayer) and i != len(nf.layers) - 1:
            raise InputError("softmax_ce must be the last layer", file=file, field=f"{where}.type", value=spec.type)
        out = _infer(spec, ins, where, file)
        if out.h <= 0 or out.w <= 0:
            raise InputError("layer output would be empty", file=file, field=where, value=spec.name)
        if max(out.numel, *(x.numel for x in ins)) > MAX_ELEMS_PER_SAMPLE:
            raise InputError(f"layer tensors of over {MAX_ELEMS_PER_SAMPLE:,} elements per sample", file=file,
                             field=where, value=spec.name, allowed="shapes of a real network")
        layers.append(Layer(spec=spec, inputs=srcs, in_shape=ins[0], out_shape=out,
                            input_numels=tuple(s.numel for s in ins)))
        shapes[spec.name] = out
        prev = spec.name
    by_name = {l.name: l for l in layers}
    for name in nf.activation_zeros:
        if name not in shapes:
            raise InputError("activation_zeros names a layer the network does not have", file=file,
                             field=f"activation_zeros.{name}", value=name, allowed="'input' or a layer name")
    return Network(name=nf.name, input_shape=shapes["input"], layers=tuple(layers), source=nf.source,
                   path=file, _by_name=by_name, activation_zeros=tuple(nf.activation_zeros.items()))


def available_networks() -> list[str]:
    return sorted(p.stem for p in NETWORKS_DIR.glob("*.yaml"))


def load_network(name_or_path: str | Path) -> Network:
    """Load a network by preset name (``models/networks/<name>.yaml``) or by file path (a ``.onnx``
    file goes through `asicsim.workload.onnx_import`, then the same validation and shape inference)."""
    if Path(name_or_path).suffix.lower() == ".onnx":
        return load_onnx_network(name_or_path)
    path = resolve_preset(name_or_path, NETWORKS_DIR, "network")
    return build_network(load_yaml(path), file=str(path))


def _onnx_network(path: str | Path) -> tuple[dict, Network]:
    """(description mapping, `Network`) of an ONNX model; every layer's shape is checked against
    ONNX's own shape inference."""
    from asicsim.workload.onnx_import import (  # optional 'onnx' extra
        check_shapes,
        onnx_network_data,
    )

    data, onnx_shapes = onnx_network_data(path)
    net = build_network(data, file=str(path))
    check_shapes(net, onnx_shapes)
    return data, net


def load_onnx_network(path: str | Path) -> Network:
    return _onnx_network(path)[1]


def network_description(name_or_path: str | Path) -> tuple[str, dict]:
    """(file, validated description mapping) of a network reference: a YAML file's own mapping, or
    for ``.onnx`` the mapping the importer writes (deterministic, so it can key a sweep point)."""
    if Path(name_or_path).suffix.lower() == ".onnx":
        return str(name_or_path), _onnx_network(name_or_path)[0]
    path = resolve_preset(name_or_path, NETWORKS_DIR, "network")
    raw = load_yaml(path)
    build_network(raw, file=str(path))
    return str(path), raw
