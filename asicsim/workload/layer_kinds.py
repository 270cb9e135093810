"""Layer kinds beyond the classic CNN set, the shared field validator, and their shape rules.

Every layer kind validates its numeric fields with one rule table (`FIELD_MIN`): kernels, strides,
dilations, groups, scales, window sizes ≥ 1; paddings and output paddings ≥ 0 — conv, pooling and
every kind below use the same `_Checked` base, so a stride of 0 is refused where it is read, not
found later as a division by zero.

Paddings may be one number, a pair (per axis) or four numbers ``[top, left, bottom, right]`` (ONNX
order: all begins, then all ends), so asymmetric (Caffe-style, SAME_UPPER) padding is exact.

The kinds here (YAML ``type``), with the shape each gives for inputs of C×H×W:

=====================  ==========================================================================
concat                 ``inputs: [a, b, ...]`` joined along channels: ΣC × H × W (equal H, W)
add (n-ary)            (in `asicsim.workload.network`) two or more same-shape inputs: ONNX Sum
scale                  ``op`` mul/div/sub/add of x by a constant (scalar or per-channel), or by a
                       second data input broadcast from C×1×1 (squeeze-excite): shape of x
sigmoid, tanh, ...     element-wise activations (`ELEMENTWISE`): shape of x
lrn                    local response normalisation across ``size`` channels: shape of x
reduce_mean/_sum/_max  over both spatial axes: C × 1 × 1
transpose              ``perm`` of (C, H, W) (a data-movement layer; (0, 1, 2) is a channel
                       shuffle that keeps the shape)
conv_transpose         C_out × ((H−1)·s − p_top − p_bottom + d·(k−1) + 1 + output_padding) × …
upsample               ``scale`` (integer factors) or ``size``; ``mode`` nearest or bilinear
pad                    ``pads`` [top, left, bottom, right] (zero or edge padding): C × (H+t+b) × …
slice                  ``axis`` (0 = C, 1 = H, 2 = W), ``start``, ``end``, ``step``
=====================  ==========================================================================
"""
from __future__ import annotations

from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

IntPair = Union[int, tuple[int, int]]
Pads = Union[int, tuple[int, int], tuple[int, int, int, int]]

# the one validation rule for numeric layer fields: smallest allowed value of each
FIELD_MIN = {"kernel": 1, "stride": 1, "dilation": 1, "groups": 1, "scale": 1, "size": 1,
             "padding": 0, "output_padding": 0, "pads": 0, "out_channels": 1, "out_features": 1}

ELEMENTWISE = ("sigmoid", "tanh", "hardswish", "hardsigmoid", "silu", "leakyrelu", "prelu", "elu",
               "softmax", "gelu", "softplus", "softsign", "clamp", "exp", "log", "sqrt", "abs", "neg",
               "reciprocal", "erf", "pow")


def _pair(v: IntPair) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def pads4(v: Pads) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of a padding given as one number, a pair or four numbers."""
    if isinstance(v, int):
        return v, v, v, v
    if len(v) == 2:
        return int(v[0]), int(v[1]), int(v[0]), int(v[1])
    return tuple(int(x) for x in v)  # type: ignore[return-value]


def symmetric(v: Pads) -> bool:
    t, l, b, r = pads4(v)
    return t == b and l == r


class _Layer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    name: str
    input: str | None = None


class _Checked(_Layer):
    """Base of every layer kind with numeric geometry: one bound per field name (`FIELD_MIN`)."""

    @field_validator("*")
    @classmethod
    def _bounds(cls, v, info):
        lo = FIELD_MIN.get(info.field_name)
        if lo is None or v is None or isinstance(v, bool):
            return v
        vals = (v,) if isinstance(v, (int, float)) else tuple(v)
        if vals and min(vals) < lo:
            raise ValueError(f"must be >= {lo}")
        return v


class ConcatLayer(_Layer):
    type: Literal["concat"]
    inputs: tuple[str, ...] = Field(min_length=2)


class ScaleLayer(_Layer):
    """x ∘ c element-wise: c a constant (``operand: scalar`` or ``channel``, not trained) or the
    second input (``inputs: [x, s]``, s of shape C×1×1 or C×H×W, broadcast)."""
    type: Literal["scale"]
    op: Literal["mul", "div", "sub", "add"] = "mul"
    operand: Literal["scalar", "channel", "tensor"] = "scalar"
    inputs: tuple[str, str] | None = None


class ElementwiseLayer(_Layer):
    type: Literal[ELEMENTWISE]  # type: ignore[valid-type]


class LrnLayer(_Checked):
    type: Literal["lrn"]
    size: int = 5


class ReduceLayer(_Layer):
    type: Literal["reduce_mean", "reduce_sum", "reduce_max"]


class TransposeLayer(_Layer):
    type: Literal["transpose"]
    perm: tuple[int, int, int] = (0, 1, 2)

    @field_validator("perm")
    @classmethod
    def _perm(cls, v):
        if sorted(v) != [0, 1, 2]:
            raise ValueError("must be a permutation of 0, 1, 2 (C, H, W)")
        return v


class ConvTransposeLayer(_Checked):
    type: Literal["conv_transpose"]
    out_channels: int
    kernel: IntPair
    stride: IntPair = 1
    padding: Pads = 0
    output_padding: IntPair = 0
    groups: int = 1
    dilation: IntPair = 1
    bias: bool = True


class UpsampleLayer(_Checked):
    type: Literal["upsample"]
    mode: Literal["nearest", "bilinear", "bicubic"] = "nearest"
    scale: IntPair | None = None
    size: tuple[int, int] | None = None


class PadLayer(_Checked):
    type: Literal["pad"]
    pads: tuple[int, int, int, int]
    mode: Literal["constant", "edge", "reflect"] = "constant"


class SliceLayer(_Checked):
    type: Literal["slice"]
    axis: Literal[0, 1, 2]
    start: int = Field(0, ge=0)
    end: int = Field(gt=0)
    step: int = Field(1, ge=1)


NEW_KINDS = (ConcatLayer, ScaleLayer, ElementwiseLayer, LrnLayer, ReduceLayer, TransposeLayer,
             ConvTransposeLayer, UpsampleLayer, PadLayer, SliceLayer)
NEW_TYPES = ("concat, scale, " + ", ".join(ELEMENTWISE) + ", lrn, reduce_mean, reduce_sum, reduce_max, transpose, "
             "conv_transpose, upsample, pad, slice")


def window_out(size: int, k: int, s: int, p_begin: int, p_end: int, ceil_mode: bool = False) -> int:
    """Output length of a conv/pool window along one axis with begin/end padding (PyTorch rule;
    with ``ceil_mode`` the last window must still start inside the input or its begin padding)."""
    num = size + p_begin + p_end - k
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= size + p_begin:
        out -= 1
    return out


def conv_transpose_out(size: int, k: int, s: int, p_begin: int, p_end: int, d: int, op: int) -> int:
    """ONNX ConvTranspose output length: (size − 1)·s − p_begin − p_end + d·(k − 1) + 1 + op."""
    return (size - 1) * s - p_begin - p_end + d * (k - 1) + 1 + op


def infer_new(spec, ins: list[tuple[int, int, int]]) -> tuple[tuple[int, int, int] | None, str]:
    """(C, H, W) out of a new-kind layer, or (None, why) when the inputs do not fit it."""
    c, h, w = ins[0]
    if isinstance(spec, ConcatLayer):
        if any(s[1:] != (h, w) for s in ins):
            return None, "concat inputs must agree in height and width: " + ", ".join(f"{a}×{b}×{d}" for a, b, d in ins)
        return (sum(s[0] for s in ins), h, w), ""
    if isinstance(spec, ScaleLayer):
        if spec.inputs is not None:
            s = ins[1]
            if s[0] != c or s[1:] not in ((1, 1), (h, w)):
                return None, f"scale operand {s[0]}×{s[1]}×{s[2]} does not broadcast to {c}×{h}×{w}"
        return (c, h, w), ""
    if isinstance(spec, ReduceLayer):
        return (c, 1, 1), ""
    if isinstance(spec, TransposeLayer):
        dims = (c, h, w)
        return tuple(dims[p] for p in spec.perm), ""  # type: ignore[return-value]
    if isinstance(spec, ConvTransposeLayer):
        if c % spec.groups or spec.out_channels % spec.groups:
            return None, f"groups {spec.groups} must divide in_channels {c} and out_channels {spec.out_channels}"
        (kh, kw), (sh, sw), (dh, dw), (oh, ow) = (_pair(spec.kernel), _pair(spec.stride), _pair(spec.dilation),
                                                  _pair(spec.output_padding))
        t, l, b, r = pads4(spec.padding)
        return (spec.out_channels, conv_transpose_out(h, kh, sh, t, b, dh, oh),
                conv_transpose_out(w, kw, sw, l, r, dw, ow)), ""
    if isinstance(spec, UpsampleLayer):
        if spec.size is not None:
            return (c, spec.size[0], spec.size[1]), ""
        if spec.scale is None:
            return None, "upsample needs scale or size"
        fh, fw = _pair(spec.scale)
        return (c, h * fh, w * fw), ""
    if isinstance(spec, PadLayer):
        t, l, b, r = spec.pads
        return (c, h + t + b, w + l + r), ""
    if isinstance(spec, SliceLayer):
        dims = [c, h, w]
        n = dims[spec.axis]
        end = min(spec.end, n)
        if spec.start >= end:
            return None, f"slice [{spec.start}:{spec.end}] of an axis of length {n} is empty"
        dims[spec.axis] = -(-(end - spec.start) // spec.step)
        return tuple(dims), ""  # type: ignore[return-value]
    return (c, h, w), ""   # element-wise kinds and lrn keep the shape
