"""ONNX import: an ``.onnx`` model → the same network description the YAML loader reads.

`onnx_network_data(path)` walks the graph in its (topological) node order and writes one YAML-style
layer mapping per node (``asicsim.workload.network`` schema), so `build_network` then validates it
and infers shapes exactly as for a ``models/networks/*.yaml`` file: an ONNX network and its YAML
twin give equal `Network` objects up to layer names. Weights are never read, only their shapes
(an initializer's ``dims``, or a graph input's declared shape), so a weight-stripped file works.

Supported ops and how they map (anything else → `InputError` naming the node, its op type and
this list):

==========================================  ===============================================
Conv (2-D; group, strides, pads, dilations,  conv (out_channels from W's first dim; bias if a
auto_pad with an even total)                 third input is given)
Gemm (transA = 0), MatMul (constant B)       linear (out_features from B); a following Add of a
                                             constant becomes that layer's bias
MaxPool, AveragePool (dilations 1)           maxpool / avgpool (ONNX's default stride is 1)
GlobalAveragePool                            global_avgpool
BatchNormalization                           batchnorm
Add (two data inputs)                        add
Relu; Clip(0, 6) / Clip(0, ∞)                relu6 / relu
Flatten (axis 1); Reshape to (batch, F)      flatten
Dropout                                      dropout;  Identity: skipped
Softmax / LogSoftmax as the last node        softmax_ce
Shape, Gather, Unsqueeze, Squeeze, Concat,   skipped when they only compute a Reshape target
Cast, Constant                               (the ``x.view(x.size(0), -1)`` export pattern)
==========================================  ===============================================

Modelling choices: pads must be symmetric (asicsim's conv/pool take one padding per axis); an
inference graph without a Softmax at its end gains a ``loss`` (softmax_ce) layer so that a training
step has a loss, as every network in ``models/networks`` has; the batch dimension of the input is
ignored (asicsim's ``--batch`` sets it). After `build_network`, every layer's output shape is
checked against ONNX's own shape inference (`onnx.shape_inference`) wherever ONNX knows it.

The ``onnx`` package is an optional extra: ``pip install 'asicsim[onnx]'`` (``dev`` includes it).
"""
from __future__ import annotations

import math
from pathlib import Path

from asicsim.errors import InputError

SUPPORTED_OPS = ("Conv, Gemm, MatMul, MaxPool, AveragePool, GlobalAveragePool, BatchNormalization, Add, "
                 "Relu, Clip(0,6|0,inf), Flatten, Reshape(batch,-1), Dropout, Identity, Softmax/LogSoftmax (last), "
                 "Shape/Gather/Unsqueeze/Squeeze/Concat/Cast/Constant (Reshape targets only)")
_SHAPE_OPS = {"Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Constant"}
_PARAM_SLOTS = {"Conv": (1, 2), "Gemm": (1, 2), "MatMul": (1,), "BatchNormalization": (1, 2, 3, 4),
                "Clip": (1, 2), "Reshape": (1,), "Dropout": (1, 2)}


def _onnx():
    try:
        import onnx
    except ImportError:
        raise InputError("reading .onnx networks needs the 'onnx' package",
                         allowed="pip install 'asicsim[onnx]' (or pip install onnx)") from None
    return onnx


def _attrs(node) -> dict:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _decode(v):
    return v.decode() if isinstance(v, bytes) else v


class _Graph:
    """The facts about one ONNX graph the mapping needs: constant values/shapes, inferred shapes."""

    def __init__(self, model, file: str):
        onnx = _onnx()
        self.file = file
        g = model.graph
        try:
            inferred = onnx.shape_inference.infer_shapes(model, data_prop=True).graph
        except Exception:  # noqa: BLE001 - inference is a cross-check only; it may fail on odd graphs
            inferred = g
        self.shapes: dict[str, tuple] = {}
        for vi in list(inferred.value_info) + list(inferred.output) + list(g.input):
            t = vi.type.tensor_type
            if t.HasField("shape"):
                self.shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim)
        self.init = {t.name: t for t in g.initializer}
        self.consts: dict[str, object] = {}   # small constants whose values we need (Clip, Reshape)

    def where(self, node, i: int) -> str:
        return f"node '{node.name or f'#{i}'}' ({node.op_type})"

    def shape_of(self, name: str) -> tuple | None:
        if name in self.init:
            return tuple(self.init[name].dims)
        return self.shapes.get(name)

    def value(self, name: str):
        """Value of a constant (initializer or Constant node output) as a numpy array, or None."""
        if name in self.consts:
            return self.consts[name]
        if name in self.init:
            from onnx import numpy_helper
            arr = numpy_helper.to_array(self.init[name])
            return arr if arr.size == math.prod(self.init[name].dims) else None
        return None


def _fail(gr: _Graph, node, i: int, why: str, allowed: str = SUPPORTED_OPS) -> InputError:
    return InputError(f"{gr.where(node, i)}: {why}", file=gr.file, field=f"graph.node[{i}]",
                      value=node.op_type, allowed=allowed)


def _fold_shape_op(gr: _Graph, node, a: dict) -> None:
    """Evaluate a shape-arithmetic node when its inputs are known, so a Reshape target computed
    from ``x.shape`` is a constant (ONNX's data propagation does not always get there). The
    batch dimension counts as 1 when symbolic: asicsim sets the batch itself."""
    import numpy as np
    from onnx import numpy_helper

    op, out = node.op_type, node.output[0]
    if op == "Constant":
        if "value" in a:
            gr.consts[out] = numpy_helper.to_array(a["value"])
        return
    if op == "Shape":
        shp = gr.shapes.get(node.input[0])
        if shp:
            dims = [1 if j == 0 and d is None else d for j, d in enumerate(shp)]
            if all(d is not None for d in dims):
                gr.consts[out] = np.array(dims, dtype=np.int64)
        return
    vals = [gr.value(t) for t in node.input if t]
    if any(v is None for v in vals):
        return
    if op == "Gather":
        gr.consts[out] = np.take(vals[0], vals[1], axis=a.get("axis", 0))
    elif op in ("Unsqueeze", "Squeeze"):
        axes = a.get("axes", vals[1].tolist() if len(vals) > 1 else None)
        v = vals[0]
        gr.consts[out] = (np.expand_dims(v, tuple(axes)) if op == "Unsqueeze"
                          else np.squeeze(v, axis=tuple(axes) if axes is not None else None))
    elif op == "Concat":
        gr.consts[out] = np.concatenate([np.atleast_1d(v) for v in vals], axis=a.get("axis", 0))
    elif op == "Cast":
        gr.consts[out] = vals[0]


def _sym_pads(gr, node, i, a: dict, kernel: tuple[int, int], strides, dil, in_hw) -> tuple[int, int]:
    auto = _decode(a.get("auto_pad", "NOTSET"))
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        if in_hw is None:
            raise _fail(gr, node, i, "auto_pad SAME needs a known input shape", "explicit pads")
        pads = []
        for size, k, s, d in zip(in_hw, kernel, strides, dil):
            total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
            if total % 2:
                raise _fail(gr, node, i, f"auto_pad {auto} needs an odd total padding {total} (asymmetric)",
                            "symmetric padding")
            pads.append(total // 2)
        return pads[0], pads[1]
    if auto == "VALID":
        return 0, 0
    p = list(a.get("pads", [0, 0, 0, 0]))
    if len(p) != 4 or p[0] != p[2] or p[1] != p[3]:
        raise _fail(gr, node, i, f"pads {p} are not symmetric (or not 2-D)",
                    "2-D pads [top, left, bottom, right] with top = bottom and left = right")
    return int(p[0]), int(p[1])


def _pair_out(v: tuple[int, int]):
    return v[0] if v[0] == v[1] else [v[0], v[1]]


def _layer_name(onnx_name: str, op_type: str) -> str:
    """A readable layer name from an exporter's node name: PyTorch's ``/layer1/layer1.0/conv1/Conv``
    becomes ``layer1.0.conv1`` (the module path), as in the YAML networks."""
    segs = [s for s in onnx_name.split("/") if s]
    if len(segs) > 1 and segs[-1].split("_")[0] == op_type:
        segs = segs[:-1]
    segs = [s for j, s in enumerate(segs) if not (j + 1 < len(segs) and segs[j + 1].startswith(s + "."))]
    return ".".join(segs)


def onnx_network_data(path: str | Path) -> tuple[dict, dict[str, tuple | None]]:
    """The network-description mapping (`asicsim.workload.network` schema) of an ONNX model file,
    and per layer the (batch-first) output shape ONNX's shape inference gives (None if unknown)."""
    onnx = _onnx()
    file = str(path)
    try:
        model = onnx.load(file, load_external_data=False)
    except FileNotFoundError:
        raise InputError("file not found", file=file) from None
    except Exception as exc:  # noqa: BLE001 - protobuf raises its own DecodeError types
        raise InputError(f"not a readable ONNX model ({type(exc).__name__})", file=file,
                         allowed="an ONNX ModelProto file") from None
    gr = _Graph(model, file)
    g = model.graph
    params = {n for node in g.node for j in _PARAM_SLOTS.get(node.op_type, ()) if j < len(node.input)
              for n in (node.input[j],) if n}
    data_inputs = [vi for vi in g.input if vi.name not in gr.init and vi.name not in params]
    if len(data_inputs) != 1:
        raise InputError("the graph must have exactly one data input (weights as initializers)", file=file,
                         field="graph.input", value=[vi.name for vi in data_inputs])
    x_in = data_inputs[0]
    dims = gr.shapes.get(x_in.name, ())
    if len(dims) == 4 and all(d for d in dims[1:]):
        c, h, w = dims[1:]
    elif len(dims) == 2 and dims[1]:
        c, h, w = dims[1], 1, 1
    else:
        raise InputError("the data input needs a fixed shape [N, C, H, W] or [N, F]", file=file,
                         field=f"graph.input.{x_in.name}", value=list(dims))
    src = {x_in.name: "input"}       # tensor → the asicsim layer that produces it
    shape_only: set[str] = set()
    layers: list[dict] = []
    onnx_out: dict[str, str] = {}    # layer name → the ONNX tensor it produces (for the shape check)
    used: set[str] = {"input"}
    last = len(g.node) - 1

    def name_for(node, i) -> str:
        base = _layer_name(node.name or "", node.op_type) or f"{node.op_type.lower()}_{i}"
        nm, k = base, 1
        while nm in used:
            nm, k = f"{base}_{k}", k + 1
        used.add(nm)
        return nm

    def data_in(node, i, j=0) -> str:
        t = node.input[j] if j < len(node.input) else ""
        if t in shape_only or t not in src:
            raise _fail(gr, node, i, f"input '{t}' is not produced by a supported data node before it")
        return src[t]

    def emit(node, i, spec: dict, inp: str | None = None, check: bool = True):
        nm = name_for(node, i)
        d = {"name": nm, **spec}
        if inp is not None and "inputs" not in spec:
            d["input"] = inp
        layers.append(d)
        src[node.output[0]] = nm
        if check:   # softmax_ce outputs the loss, not ONNX's probabilities: nothing to compare
            onnx_out[nm] = node.output[0]

    def handle(i: int, node) -> None:
        op, a = node.op_type, _attrs(node)
        if op in _SHAPE_OPS:
            _fold_shape_op(gr, node, a)
            ins = [t for t in node.input if t]
            if op == "Shape" or all(t in shape_only or t in gr.init or t in gr.consts for t in ins):
                shape_only.update(node.output)
                return
            raise _fail(gr, node, i, "shape arithmetic on data tensors is not supported")
        if op == "Identity":
            src[node.output[0]] = data_in(node, i)
            return
        if op == "Conv":
            wshape = gr.shape_of(node.input[1])
            if wshape is None or len(wshape) != 4:
                raise _fail(gr, node, i, "needs a 4-D weight of known shape (2-D conv only)", "2-D Conv")
            kernel = tuple(a.get("kernel_shape", wshape[2:]))
            strides = tuple(a.get("strides", (1, 1)))
            dil = tuple(a.get("dilations", (1, 1)))
            if not len(kernel) == len(strides) == len(dil) == 2:
                raise _fail(gr, node, i, "only 2-D convolutions are supported", "2-D Conv")
            in_shape = gr.shapes.get(node.input[0])
            in_hw = tuple(in_shape[2:]) if in_shape and len(in_shape) == 4 and all(in_shape[2:]) else None
            pads = _sym_pads(gr, node, i, a, kernel, strides, dil, in_hw)
            spec = {"type": "conv", "out_channels": int(wshape[0]), "kernel": _pair_out(kernel),
                    "stride": _pair_out(strides), "padding": _pair_out(pads), "groups": int(a.get("group", 1)),
                    "bias": len(node.input) > 2 and bool(node.input[2])}
            if dil != (1, 1):
                spec["dilation"] = _pair_out(dil)
            emit(node, i, spec, data_in(node, i))
        elif op in ("Gemm", "MatMul"):
            if a.get("transA", 0):
                raise _fail(gr, node, i, "transA = 1 is not supported", "Gemm with transA = 0")
            bshape = gr.shape_of(node.input[1])
            if node.input[1] in src or bshape is None or len(bshape) != 2:
                raise _fail(gr, node, i, "needs a constant 2-D weight B", "Gemm/MatMul with a weight initializer")
            out = bshape[0] if a.get("transB", 0) else bshape[1]
            emit(node, i, {"type": "linear", "out_features": int(out),
                           "bias": op == "Gemm" and len(node.input) > 2 and bool(node.input[2])}, data_in(node, i))
        elif op == "Add":
            consts = [t for t in node.input if t in gr.init or t in gr.consts]
            if not consts:
                emit(node, i, {"type": "add", "inputs": [data_in(node, i, 0), data_in(node, i, 1)]})
                return
            other = next(t for t in node.input if t not in consts)
            prev = next((d for d in layers if d["name"] == src.get(other)), None)
            if prev is None or prev["type"] not in ("linear", "conv") or prev["bias"] or prev is not layers[-1]:
                raise _fail(gr, node, i, "adding a constant is supported only as the bias of the MatMul/Conv "
                            "right before it", "Add of two data tensors, or a bias Add after MatMul/Conv")
            prev["bias"] = True
            src[node.output[0]] = prev["name"]
            onnx_out[prev["name"]] = node.output[0]
        elif op in ("MaxPool", "AveragePool"):
            kernel = tuple(a.get("kernel_shape", ()))
            strides = tuple(a.get("strides", (1, 1)))
            if len(kernel) != 2 or len(strides) != 2 or tuple(a.get("dilations", (1, 1))) != (1, 1):
                raise _fail(gr, node, i, "only 2-D pooling without dilation is supported", "2-D MaxPool/AveragePool")
            in_shape = gr.shapes.get(node.input[0])
            in_hw = tuple(in_shape[2:]) if in_shape and len(in_shape) == 4 and all(in_shape[2:]) else None
            pads = _sym_pads(gr, node, i, a, kernel, strides, (1, 1), in_hw)
            spec = {"type": "maxpool" if op == "MaxPool" else "avgpool", "kernel": _pair_out(kernel),
                    "stride": _pair_out(strides), "padding": _pair_out(pads)}
            if a.get("ceil_mode", 0):
                spec["ceil_mode"] = True
            emit(node, i, spec, data_in(node, i))
        elif op == "GlobalAveragePool":
            emit(node, i, {"type": "global_avgpool"}, data_in(node, i))
        elif op == "BatchNormalization":
            emit(node, i, {"type": "batchnorm"}, data_in(node, i))
        elif op == "Relu":
            emit(node, i, {"type": "relu"}, data_in(node, i))
        elif op == "Clip":
            lo, hi = a.get("min"), a.get("max")
            for j, attr in ((1, "lo"), (2, "hi")):
                if j < len(node.input) and node.input[j]:
                    v = gr.value(node.input[j])
                    if v is None:
                        raise _fail(gr, node, i, "Clip bounds must be constants", "Clip(0, 6) or Clip(0, inf)")
                    if attr == "lo":
                        lo = float(v)
                    else:
                        hi = float(v)
            if lo != 0.0 or not (hi is None or hi == 6.0 or hi >= 3e38):
                raise _fail(gr, node, i, f"Clip({lo}, {hi}) has no asicsim layer", "Clip(0, 6) or Clip(0, inf)")
            emit(node, i, {"type": "relu6" if hi == 6.0 else "relu"}, data_in(node, i))
        elif op == "Flatten":
            if a.get("axis", 1) != 1:
                raise _fail(gr, node, i, f"axis {a.get('axis')} is not supported", "Flatten with axis 1")
            emit(node, i, {"type": "flatten"}, data_in(node, i))
        elif op == "Reshape":
            target = gr.shapes.get(node.output[0])
            v = gr.value(node.input[1]) if len(node.input) > 1 else None
            in_shape = gr.shapes.get(node.input[0])
            feat = math.prod(in_shape[1:]) if in_shape and all(in_shape[1:]) else None
            ok_inferred = target is not None and len(target) == 2 and (feat is None or target[1] in (None, feat))
            ok_const = v is not None and v.ndim == 1 and len(v) == 2 and int(v[1]) in (-1, feat)
            if not (ok_inferred or ok_const):
                raise _fail(gr, node, i, "only a flatten to (batch, features) is supported",
                            "Reshape to [batch, -1] or [batch, C*H*W]")
            emit(node, i, {"type": "flatten"}, data_in(node, i))
        elif op == "Dropout":
            emit(node, i, {"type": "dropout"}, data_in(node, i))
        elif op in ("Softmax", "LogSoftmax"):
            if i != last:
                raise _fail(gr, node, i, "Softmax is supported only as the last node (the loss)",
                            "Softmax/LogSoftmax as the graph's last node")
            emit(node, i, {"type": "softmax_ce"}, data_in(node, i), check=False)
        else:
            raise _fail(gr, node, i, f"op type '{op}' is not supported")

    for i, node in enumerate(g.node):
        try:
            handle(i, node)
        except (KeyError, IndexError, TypeError, ValueError) as exc:   # malformed attributes/inputs
            raise _fail(gr, node, i, f"malformed node ({type(exc).__name__}: {exc})") from None
    if not layers:
        raise InputError("the graph has no supported layers", file=file, field="graph.node")
    if layers[-1]["type"] != "softmax_ce":
        lname, k = "loss", 1
        while lname in used:
            lname, k = f"loss_{k}", k + 1
        layers.append({"name": lname, "type": "softmax_ce", "input": layers[-1]["name"]})
    name = Path(file).stem
    return {"name": name, "source": f"ONNX file {Path(file).name} (opset "
            f"{max((o.version for o in model.opset_import if o.domain in ('', 'ai.onnx')), default=0)})",
            "input": {"channels": int(c), "height": int(h), "width": int(w)}, "layers": layers}, \
        {k: gr.shapes.get(v) for k, v in onnx_out.items()}


def check_shapes(net, onnx_shapes: dict[str, tuple | None]) -> None:
    """Every layer's inferred output shape (an `asicsim.workload.network.Network`) against ONNX's own
    shape inference, where ONNX knows it; a mismatch is an InputError naming the layer."""
    for l in net.layers:
        onnx_shape = onnx_shapes.get(l.name)
        if not onnx_shape or any(d is None for d in onnx_shape[1:]):
            continue
        ours = (l.out_shape.c, l.out_shape.h, l.out_shape.w) if len(onnx_shape) == 4 else (l.out_shape.numel,)
        if tuple(onnx_shape[1:]) != ours:
            raise InputError(f"layer '{l.name}': asicsim infers "
                             f"shape {ours}, ONNX shape inference {tuple(onnx_shape[1:])}", file=net.path,
                             allowed="layers whose output shape asicsim can reproduce")
