"""How each ONNX op becomes asicsim layers (`HANDLERS`, used by `asicsim.workload.onnx_import`).

Each handler reads one node through the importer context ``cx`` (constant values, inferred
shapes, the layer producing each data tensor) and emits layer mappings of the
`asicsim.workload.network` schema, aliases a tensor to an existing layer (a view: Identity, Cast,
a shape-keeping Reshape, a Transpose that only moves a head to NHWC before a flatten), or raises
`cx.fail` with a true reason. Rank-3 tensors [N, C, L] are C × 1 × L to asicsim (1-D convolution
and pooling run as 1 × k windows); rank-2 tensors [N, F] are F × 1 × 1.
"""
from __future__ import annotations

import math

import numpy as np


def _ints(v):
    return [int(x) for x in np.asarray(v).reshape(-1)]


def _pads_spatial(cx, node, i, a, kernel, strides, dil, in_sp):
    """(top, left, bottom, right) of a 2-D window (1-D windows: top = bottom = 0)."""
    auto = a.get("auto_pad", "NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    nd = len(kernel)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        if in_sp is None:
            raise cx.fail(node, i, "auto_pad SAME needs a known input shape", "explicit pads")
        begin, end = [], []
        for size, k, s, d in zip(in_sp, kernel, strides, dil):
            total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
            small = total // 2
            begin.append(small if auto == "SAME_UPPER" else total - small)
            end.append(total - begin[-1])
    elif auto == "VALID":
        begin, end = [0] * nd, [0] * nd
    else:
        p = _ints(a.get("pads", [0] * (2 * nd)))
        if len(p) != 2 * nd:
            raise cx.fail(node, i, f"pads {p} do not match a {nd}-D window", f"{2 * nd} pads")
        begin, end = p[:nd], p[nd:]
    if nd == 1:
        return (0, begin[0], 0, end[0])
    return (begin[0], begin[1], end[0], end[1])


def _pad_out(p):
    t, l, b, r = p
    if t == b and l == r:
        return t if t == l else [t, l]
    return [t, l, b, r]


def _pair_out(v):
    return v[0] if v[0] == v[1] else [v[0], v[1]]


def _window(cx, node, i, a, kernel):
    """kernel, strides, dilations, pads of a 1-D or 2-D window, as 2-D (1 × k for 1-D)."""
    nd = len(kernel)
    if nd not in (1, 2):
        raise cx.fail(node, i, f"{nd}-D windows are not supported", "1-D or 2-D Conv/pooling")
    strides = _ints(a.get("strides", [1] * nd))
    dil = _ints(a.get("dilations", [1] * nd))
    shp = cx.shape(node.input[0])
    in_sp = tuple(shp[2:]) if shp and len(shp) == nd + 2 and all(shp[2:]) else None
    pads = _pads_spatial(cx, node, i, a, kernel, strides, dil, in_sp)
    two = (lambda v: (1, v[0])) if nd == 1 else (lambda v: (v[0], v[1]))
    return two(kernel), two(strides), two(dil), pads


def conv(cx, i, node, a):
    w = cx.shape(node.input[1])
    if w is None or len(w) not in (3, 4) or not cx.is_const(node.input[1]):
        raise cx.fail(node, i, "needs a constant 3-D or 4-D weight of known shape", "1-D or 2-D Conv")
    kernel = _ints(a.get("kernel_shape", w[2:]))
    k, s, d, p = _window(cx, node, i, a, kernel)
    transposed = node.op_type == "ConvTranspose"
    g = int(a.get("group", 1))
    spec = {"type": "conv_transpose" if transposed else "conv",
            "out_channels": int(w[1]) * g if transposed else int(w[0]), "kernel": _pair_out(k),
            "stride": _pair_out(s), "padding": _pad_out(p), "groups": g,
            "bias": len(node.input) > 2 and bool(node.input[2])}
    if d != (1, 1):
        spec["dilation"] = _pair_out(d)
    if transposed:
        op = _ints(a.get("output_padding", [0] * len(kernel)))
        if "output_shape" in a:
            raise cx.fail(node, i, "ConvTranspose output_shape is not supported", "pads / output_padding")
        if any(op):
            spec["output_padding"] = _pair_out((0, op[0]) if len(op) == 1 else op)
    cx.emit(node, i, spec, cx.data_in(node, i))


def pool(cx, i, node, a):
    kernel = _ints(a.get("kernel_shape", []))
    if not kernel:
        raise cx.fail(node, i, "pooling needs kernel_shape", "MaxPool/AveragePool with kernel_shape")
    k, s, d, p = _window(cx, node, i, a, kernel)
    if d != (1, 1):
        raise cx.fail(node, i, "dilated pooling is not supported", "pooling with dilations 1")
    if node.op_type == "AveragePool" and not a.get("count_include_pad", 0) and any(p):
        pass  # the divisor differs at the border only; the element work is the same
    spec = {"type": "maxpool" if node.op_type == "MaxPool" else "avgpool", "kernel": _pair_out(k),
            "stride": _pair_out(s), "padding": _pad_out(p)}
    if a.get("ceil_mode", 0):
        spec["ceil_mode"] = True
    cx.emit(node, i, spec, cx.data_in(node, i))


def gemm(cx, i, node, a):
    if a.get("transA", 0):
        raise cx.fail(node, i, "transA = 1 is not supported", "Gemm with transA = 0")
    b = cx.shape(node.input[1])
    if not cx.is_const(node.input[1]) or b is None or len(b) != 2:
        raise cx.fail(node, i, "needs a constant 2-D weight B", "Gemm/MatMul with a constant weight")
    out = b[0] if a.get("transB", 0) else b[1]
    cx.emit(node, i, {"type": "linear", "out_features": int(out),
                      "bias": node.op_type == "Gemm" and len(node.input) > 2 and bool(node.input[2])},
            cx.data_in(node, i))


def binary(cx, i, node, a):
    """Add/Sub/Mul/Div: two data inputs → add (same shape) or scale (broadcast); one constant →
    the bias of the conv/linear right before (Add), or a scale by a constant."""
    op = node.op_type.lower()
    data = [t for t in node.input[:2] if not cx.is_const(t)]
    const = [t for t in node.input[:2] if cx.is_const(t)]
    if len(data) == 2:
        sa, sb = (cx.numel(t) for t in data)
        if op == "add" and sa == sb and cx.shape(data[0]) == cx.shape(data[1]):
            cx.emit(node, i, {"type": "add", "inputs": [cx.data_in(node, i, 0), cx.data_in(node, i, 1)]})
            return
        x, s = (data[0], data[1]) if (sa or 0) >= (sb or 0) else (data[1], data[0])
        cx.emit(node, i, {"type": "scale", "op": op, "operand": "tensor",
                          "inputs": [cx.src_of(node, i, x), cx.src_of(node, i, s)]})
        return
    if not data:
        raise cx.fail(node, i, "has no data input", "an op on at least one data tensor")
    c = cx.const(const[0])
    if op == "add" and c is not None and cx.bias_target(node, data[0], c):
        return
    operand = "scalar" if c is not None and c.size == 1 else "channel"
    cx.emit(node, i, {"type": "scale", "op": op, "operand": operand}, cx.src_of(node, i, data[0]))


def nary_sum(cx, i, node, a):
    srcs = [cx.data_in(node, i, j) for j in range(len(node.input))]
    if len(srcs) == 1:
        cx.alias(node.output[0], srcs[0])
    else:
        cx.emit(node, i, {"type": "add", "inputs": srcs})


def concat(cx, i, node, a):
    shp = cx.shape(node.output[0])
    axis = int(a.get("axis", 1))
    if shp is not None and axis < 0:
        axis += len(shp)
    if axis != 1:
        raise cx.fail(node, i, f"Concat of data tensors along axis {axis} (only the channel axis 1)",
                      "Concat along axis 1")
    cx.emit(node, i, {"type": "concat", "inputs": [cx.data_in(node, i, j) for j in range(len(node.input))]})


def simple(kind):
    def h(cx, i, node, a):
        cx.emit(node, i, {"type": kind}, cx.data_in(node, i))
    return h


def clip(cx, i, node, a):
    lo, hi = a.get("min"), a.get("max")
    for j in (1, 2):
        if j < len(node.input) and node.input[j]:
            v = cx.const(node.input[j])
            if v is None:
                raise cx.fail(node, i, "Clip bounds must be constants", "Clip with constant bounds")
            lo, hi = (float(v), hi) if j == 1 else (lo, float(v))
    if lo in (0.0, None) and hi is not None and hi == 6.0:
        kind = "relu6"
    elif lo == 0.0 and (hi is None or hi >= 3e38):
        kind = "relu"
    else:
        kind = "hardsigmoid"   # any other clamp: compare, select (counted as hardsigmoid's 3 ops)
    cx.emit(node, i, {"type": kind}, cx.data_in(node, i))


def lrn(cx, i, node, a):
    cx.emit(node, i, {"type": "lrn", "size": int(a.get("size", 5))}, cx.data_in(node, i))


def reduce(cx, i, node, a):
    shp = cx.shape(node.input[0])
    axes = a.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = cx.const(node.input[1])
    rank = len(shp) if shp else 4
    axes = sorted(int(x) % rank for x in _ints(axes)) if axes is not None else list(range(rank))
    if axes != list(range(2, rank)):
        raise cx.fail(node, i, f"{node.op_type} over axes {axes} (only the spatial axes {list(range(2, rank))})",
                      "ReduceMean/ReduceSum over all spatial axes")
    kind = {"ReduceMean": "reduce_mean", "ReduceSum": "reduce_sum", "ReduceMax": "reduce_max"}[node.op_type]
    cx.emit(node, i, {"type": kind}, cx.data_in(node, i))


def unary_const(kind):
    """Max/Min/Pow of a data tensor and a constant: an element-wise op (clamp, pow)."""
    def h(cx, i, node, a):
        data = [t for t in node.input if t and not cx.is_const(t)]
        if len(data) != 1 or (kind == "pow" and cx.is_const(node.input[0])):
            raise cx.fail(node, i, f"{node.op_type} of {len(data)} data tensors (only one data tensor and constants)",
                          f"{node.op_type} of a data tensor and a constant")
        cx.emit(node, i, {"type": kind}, cx.src_of(node, i, data[0]))
    return h


def flatten(cx, i, node, a):
    if int(a.get("axis", 1)) != 1:
        raise cx.fail(node, i, f"axis {a.get('axis')} is not supported", "Flatten with axis 1")
    cx.view(node, i, (cx.numel(node.input[0]),))


def reshape(cx, i, node, a):
    """A view: to (batch, F) → flatten; to the same C, H, W → nothing; into a rank-5 channel-group
    view (ShuffleNet) → pending until the Transpose and Reshape back (one transpose layer)."""
    out = cx.shape(node.output[0])
    if out is None and len(node.input) > 1:
        t = cx.const(node.input[1])
        src = cx.shape(node.input[0])
        if t is not None and src is not None:
            t = [int(x) for x in t]
            t = [src[j] if v == 0 and j < len(src) else v for j, v in enumerate(t)]
            if t.count(-1) == 1 and all(d for d in src[1:]):
                known = math.prod(v for v in t[1:] if v != -1)
                t = [v if v != -1 else math.prod(src[1:]) // max(known, 1) for v in t]
            out = tuple(t)
    if out is None:
        raise cx.fail(node, i, "the Reshape target is not a constant", "Reshape to a constant shape")
    cx.view(node, i, tuple(out[1:]))


def transpose(cx, i, node, a):
    perm = _ints(a.get("perm", []))
    shp = cx.shape(node.input[0])
    rank = len(shp) if shp else len(perm)
    perm = perm or list(range(rank))[::-1]
    t = node.input[0]
    if t in cx.pending:   # the transpose of a channel-group view
        cx.pending[node.output[0]] = cx.pending.pop(t)
        cx.src[node.output[0]] = cx.src[t]
        return
    if perm[0] != 0 or rank not in (3, 4):
        raise cx.fail(node, i, f"Transpose perm {perm} moves the batch axis or is not rank 3/4",
                      "Transpose of C, H, W (batch first)")
    if cx.only_flattened(node.output[0]):
        cx.alias(node.output[0], cx.data_in(node, i), fold=f"{node.op_type} {perm} before a flatten (NHWC head)")
        cx.flat_ok.add(node.output[0])
        return
    p = [x - 1 for x in perm[1:]] if rank == 4 else {(1, 2): [0, 1, 2], (2, 1): [2, 1, 0]}[tuple(perm[1:])]
    cx.emit(node, i, {"type": "transpose", "perm": p}, cx.data_in(node, i))


def upsample(cx, i, node, a):
    mode = a.get("mode", "nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode not in ("nearest", "linear", "bilinear", "cubic"):
        raise cx.fail(node, i, f"{node.op_type} mode '{mode}' is not supported", "nearest, linear, cubic")
    out, src = cx.shape(node.output[0]), cx.shape(node.input[0])
    if out is None or len(out) != 4 or not all(out[1:]) or src is None or out[1] != src[1]:
        raise cx.fail(node, i, "needs a statically known output shape that keeps the channels",
                      "Resize/Upsample with constant scales or sizes")
    cx.emit(node, i, {"type": "upsample", "mode": {"nearest": "nearest", "cubic": "bicubic"}.get(mode, "bilinear"),
                      "size": [int(out[2]), int(out[3])]}, cx.data_in(node, i))


def pad(cx, i, node, a):
    p = a.get("pads")
    if p is None and len(node.input) > 1:
        p = cx.const(node.input[1])
    shp = cx.shape(node.input[0])
    if p is None or shp is None or len(shp) != 4:
        raise cx.fail(node, i, "needs constant pads on a 4-D tensor", "Pad of H, W with constant pads")
    p = _ints(p)
    if len(p) != 8 or any(p[j] for j in (0, 1, 4, 5)) or min(p) < 0:
        raise cx.fail(node, i, f"pads {p} (only non-negative H/W padding)", "Pad of H, W")
    mode = a.get("mode", "constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    cx.emit(node, i, {"type": "pad", "pads": [p[2], p[3], p[6], p[7]],
                      "mode": mode if mode in ("constant", "edge", "reflect") else "constant"}, cx.data_in(node, i))


def _slice_layer(cx, node, i, out_t, axis, start, end, step=1):
    shp = cx.shape(node.input[0])
    rank = len(shp) if shp else 4
    axis %= rank
    if axis == 0 or rank not in (2, 3, 4):
        raise cx.fail(node, i, f"slicing axis {axis} of a rank-{rank} tensor", "Slice/Split of C, H or W")
    n = shp[axis] if shp else None
    if n is None:
        raise cx.fail(node, i, "needs a known input shape", "Slice/Split with static shapes")
    start = max(0, min(start + n if start < 0 else start, n))
    end = max(0, min(end + n if end < 0 else end, n))
    ax = {2: {1: 0}, 3: {1: 0, 2: 2}, 4: {1: 0, 2: 1, 3: 2}}[rank][axis]
    cx.emit(node, i, {"type": "slice", "axis": ax, "start": start, "end": end, "step": step},
            cx.data_in(node, i), out=out_t)


def slice_(cx, i, node, a):
    vals = [a.get(k) for k in ("starts", "ends", "axes", "steps")]
    for j in range(1, min(len(node.input), 5)):
        if node.input[j]:
            v = cx.const(node.input[j])
            if v is None:
                raise cx.fail(node, i, "Slice bounds must be constants", "Slice with constant starts/ends")
            vals[j - 1] = v
    starts, ends = _ints(vals[0]), _ints(vals[1])
    axes = _ints(vals[2]) if vals[2] is not None else list(range(len(starts)))
    steps = _ints(vals[3]) if vals[3] is not None else [1] * len(starts)
    if len(starts) != 1 or steps[0] < 1:
        raise cx.fail(node, i, f"Slice of {len(starts)} axes with steps {steps}", "Slice of one axis, step >= 1")
    _slice_layer(cx, node, i, node.output[0], axes[0], starts[0], min(ends[0], 2 ** 31), steps[0])


def split(cx, i, node, a):
    shp = cx.shape(node.input[0])
    axis = int(a.get("axis", 0))
    sizes = a.get("split")
    if sizes is None and len(node.input) > 1 and node.input[1]:
        sizes = cx.const(node.input[1])
    if shp is None or shp[axis] is None:
        raise cx.fail(node, i, "needs a known input shape", "Split with static shapes")
    n, k = shp[axis], len(node.output)
    sizes = _ints(sizes) if sizes is not None else [-(-n // k)] * (k - 1) + [n - (k - 1) * -(-n // k)]
    start = 0
    for t, s in zip(node.output, sizes):
        _slice_layer(cx, node, i, t, axis, start, start + s)
        start += s


def activation(kind):
    def h(cx, i, node, a):
        if kind == "softmax" and cx.is_last(i):
            cx.emit(node, i, {"type": "softmax_ce"}, cx.data_in(node, i), check=False)
        else:
            cx.emit(node, i, {"type": kind}, cx.data_in(node, i))
    return h


def identity(cx, i, node, a):
    cx.alias(node.output[0], cx.data_in(node, i))


def squeeze(cx, i, node, a):
    out = cx.shape(node.output[0])
    if out is None:
        raise cx.fail(node, i, "needs a statically known output shape", "Squeeze/Unsqueeze with static shapes")
    cx.view(node, i, tuple(out[1:]))


def image_scaler(cx, i, node, a):
    cx.emit(node, i, {"type": "scale", "op": "mul", "operand": "channel"}, cx.data_in(node, i))


HANDLERS = {
    "Conv": conv, "ConvTranspose": conv, "MaxPool": pool, "AveragePool": pool, "Gemm": gemm, "MatMul": gemm,
    "Add": binary, "Sub": binary, "Mul": binary, "Div": binary, "Sum": nary_sum, "Concat": concat,
    "GlobalAveragePool": simple("global_avgpool"), "BatchNormalization": simple("batchnorm"),
    "Relu": simple("relu"), "Clip": clip, "Dropout": simple("dropout"), "LRN": lrn,
    "ReduceMean": reduce, "ReduceSum": reduce, "Flatten": flatten, "Reshape": reshape, "Transpose": transpose,
    "Upsample": upsample, "Resize": upsample, "Pad": pad, "Slice": slice_, "Split": split,
    "Sigmoid": activation("sigmoid"), "Tanh": activation("tanh"), "HardSwish": activation("hardswish"),
    "HardSigmoid": activation("hardsigmoid"), "LeakyRelu": activation("leakyrelu"), "PRelu": activation("prelu"),
    "Elu": activation("elu"), "Selu": activation("elu"), "Gelu": activation("gelu"),
    "Softmax": activation("softmax"), "LogSoftmax": activation("softmax"),
    "ReduceMax": reduce, "GlobalMaxPool": simple("reduce_max"),
    "InstanceNormalization": simple("batchnorm"),   # the same per-element work as batch norm
    "Softplus": activation("softplus"), "Softsign": activation("softsign"), "Celu": activation("elu"),
    "Exp": activation("exp"), "Log": activation("log"), "Sqrt": activation("sqrt"), "Abs": activation("abs"),
    "Neg": activation("neg"), "Reciprocal": activation("reciprocal"), "Erf": activation("erf"),
    "Max": unary_const("clamp"), "Min": unary_const("clamp"), "Pow": unary_const("pow"),
    "Identity": identity, "Cast": identity, "Squeeze": squeeze, "Unsqueeze": squeeze, "ImageScaler": image_scaler,
}
SUPPORTED_OPS = ", ".join(sorted(HANDLERS)) + " (and any node computed from constants only)"
