"""ONNX import: an ``.onnx`` model → the same network description the YAML loader reads.

`onnx_network_data(path)` reads and normalises the model and folds its constant subgraphs
(`asicsim.workload.onnx_fold`), then walks the remaining nodes in their (topological) order and
writes layer mappings of the `asicsim.workload.network` schema (one per node; a Split gives one
slice per output), so `build_network` validates them and infers shapes exactly as for a
``models/networks/*.yaml`` file. Weights are never read, only their shapes (an initializer's
``dims``, a folded constant's shape, or a graph input's declared shape), so a weight-stripped file
works. How each op maps is in `asicsim.workload.onnx_ops` (``SUPPORTED_OPS``); any other op, or an
op used in a way asicsim cannot model, is an `InputError` naming the node, its op type, the reason
and the supported list.

Modelling choices: an inference graph without a Softmax at its end gains a ``loss`` (softmax_ce)
layer so that a training step has a loss, as every network in ``models/networks`` has; the batch
dimension of the input is ignored (asicsim's ``--batch`` sets it); an NHWC input followed by a
Transpose to NCHW (tf2onnx, keras2onnx) is read as the NCHW tensor, and a Transpose whose only use
is a flatten (NCHW → NHWC before a classifier) is folded away — both only reorder features, so no
MAC changes; every other Transpose is a data-movement layer. Constant operands of Mul/Div/Sub/Add
(a Caffe2 affine after batch norm, ImageScaler) are fixed scales, not trained parameters; an Add
of a constant right after a bias-free conv/linear is that layer's bias. After `build_network`,
every layer's output shape is checked against ONNX's own shape inference wherever ONNX knows it.

The ``onnx`` package is an optional extra: ``pip install 'asicsim[onnx]'`` (``dev`` includes it).
"""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np

from asicsim.errors import InputError
from asicsim.workload.onnx_fold import _onnx, default_opset, fold_constants, load_model
from asicsim.workload.onnx_ops import HANDLERS, SUPPORTED_OPS

__all__ = ["onnx_network_data", "import_details", "check_shapes", "SUPPORTED_OPS"]
_PARAM_SLOTS = {"Conv": (1, 2), "ConvTranspose": (1, 2), "Gemm": (1, 2), "MatMul": (1,), "PRelu": (1,),
                "BatchNormalization": (1, 2, 3, 4), "Clip": (1, 2), "Reshape": (1,), "Dropout": (1, 2)}


def _layer_name(onnx_name: str, op_type: str) -> str:
    """A readable layer name from an exporter's node name: PyTorch's ``/layer1/layer1.0/conv1/Conv``
    becomes ``layer1.0.conv1`` (the module path), as in the YAML networks."""
    segs = [s for s in onnx_name.split("/") if s]
    if len(segs) > 1 and segs[-1].split("_")[0] == op_type:
        segs = segs[:-1]
    segs = [s for j, s in enumerate(segs) if not (j + 1 < len(segs) and segs[j + 1].startswith(s + "."))]
    return ".".join(segs)


class _Importer:
    """The import context the op handlers read and write."""

    def __init__(self, model, file: str):
        onnx = _onnx()
        self.file = file
        g = self.g = model.graph
        try:
            inferred = onnx.shape_inference.infer_shapes(model, data_prop=True).graph
        except Exception:  # noqa: BLE001 - inference is a cross-check only; it may fail on odd graphs
            inferred = g
        self.shapes: dict[str, tuple] = {}
        for vi in list(inferred.value_info) + list(inferred.output) + list(g.input):
            t = vi.type.tensor_type
            if t.HasField("shape"):
                self.shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim)
        inits = {t.name for t in g.initializer}
        params = {n for node in g.node for j in _PARAM_SLOTS.get(node.op_type, ()) if j < len(node.input)
                  for n in (node.input[j],) if n}
        self.consts, self.folded_nodes, self.folded = fold_constants(model, self.shapes)
        for vi in g.input:   # weights declared as graph inputs (shape only)
            shp = self.shapes.get(vi.name)
            if vi.name in params and vi.name not in self.consts and shp and all(d is not None for d in shp):
                self.consts[vi.name] = np.broadcast_to(np.zeros((), np.float32), shp)
        data_inputs = [vi for vi in g.input if vi.name not in inits and vi.name not in self.consts]
        if len(data_inputs) != 1:
            raise InputError("the graph must have exactly one data input (weights as initializers)", file=file,
                             field="graph.input", value=[vi.name for vi in data_inputs])
        self.x_in = data_inputs[0].name
        self.in_dims = self.shapes.get(self.x_in, ())
        self.src: dict[str, str] = {self.x_in: "input"}   # data tensor → the asicsim layer producing it
        self.layers: list[dict] = []
        self.onnx_out: dict[str, str] = {}
        self.used: set[str] = {"input"}
        self.pending: dict[str, tuple] = {}   # rank-5 channel-group views awaiting their Reshape back
        self.flat_ok: set[str] = set()
        self.fold_notes: Counter = Counter()
        self.consumers: dict[str, list] = {}
        for node in g.node:
            for t in node.input:
                self.consumers.setdefault(t, []).append(node)
        live = [i for i in range(len(g.node)) if i not in self.folded_nodes]
        self.last = live[-1] if live else -1

    # --- facts -------------------------------------------------------------------------------
    def shape(self, t: str) -> tuple | None:
        if t in self.consts:
            return tuple(self.consts[t].shape)
        if t == self.x_in:
            return tuple(self.in_dims) or None
        return self.shapes.get(t)

    def const(self, t: str):
        return self.consts.get(t)

    def is_const(self, t: str) -> bool:
        return t in self.consts

    def numel(self, t: str) -> int | None:
        s = self.shape(t)
        return math.prod(s[1:]) if s and all(s[1:]) else None

    def is_last(self, i: int) -> bool:
        return i == self.last

    def fail(self, node, i: int, why: str, allowed: str = SUPPORTED_OPS) -> InputError:
        return InputError(f"node '{node.name or f'#{i}'}' ({node.op_type}): {why}", file=self.file,
                          field=f"graph.node[{i}]", value=node.op_type, allowed=allowed)

    # --- wiring ------------------------------------------------------------------------------
    def src_of(self, node, i: int, t: str) -> str:
        if t in self.pending:
            raise self.fail(node, i, f"reads '{t}', a rank-5 view of a data tensor (only a channel shuffle "
                            "reshaped back to C, H, W is supported)", "Reshape-Transpose-Reshape channel shuffles")
        if t not in self.src:
            raise self.fail(node, i, f"input '{t}' is not produced by a supported data node before it")
        return self.src[t]

    def data_in(self, node, i: int, j: int = 0) -> str:
        return self.src_of(node, i, node.input[j] if j < len(node.input) else "")

    def name_for(self, node, i: int) -> str:
        base = _layer_name(node.name or "", node.op_type) or f"{node.op_type.lower()}_{i}"
        nm, k = base, 1
        while nm in self.used:
            nm, k = f"{base}_{k}", k + 1
        self.used.add(nm)
        return nm

    def emit(self, node, i: int, spec: dict, inp: str | None = None, check: bool = True, out: str | None = None):
        nm = self.name_for(node, i)
        d = {"name": nm, **spec}
        if inp is not None and "inputs" not in spec:
            d["input"] = inp
        self.layers.append(d)
        t = out or node.output[0]
        self.src[t] = nm
        if check:   # softmax_ce outputs the loss, not ONNX's probabilities: nothing to compare
            self.onnx_out[nm] = t

    def alias(self, t: str, layer: str, fold: str | None = None) -> None:
        self.src[t] = layer
        if fold:
            self.fold_notes[fold] += 1

    def bias_target(self, node, t: str, c) -> bool:
        """Make an Add of constant c the bias of the conv/linear producing t (if it is the last
        layer so far and has none)."""
        prev = self.layers[-1] if self.layers else None
        if prev is None or self.src.get(t) != prev["name"] or prev["type"] not in ("linear", "conv", "conv_transpose") \
                or prev["bias"] or c.size not in (1, prev.get("out_channels", prev.get("out_features"))):
            return False
        prev["bias"] = True
        node_out = node.output[0]
        self.src[node_out] = prev["name"]
        self.onnx_out[prev["name"]] = node_out
        return True

    def only_flattened(self, t: str) -> bool:
        cons = self.consumers.get(t, [])
        return bool(cons) and all(n.op_type in ("Reshape", "Flatten") and len(self.shapes.get(n.output[0]) or ()) == 2
                                  for n in cons)

    def view(self, node, i: int, dims: tuple) -> None:
        """A Reshape/Flatten/Squeeze/Unsqueeze of a data tensor to per-sample ``dims``."""
        t, out = node.input[0], node.output[0]
        cur = self.shape(t)
        cur_s = tuple(cur[1:]) if cur else None
        if t in self.pending:
            if len(dims) == 3 and tuple(dims) == self.pending[t]:
                del self.pending[t]
                self.emit(node, i, {"type": "transpose"}, self.src[t])   # the channel shuffle
                return
            raise self.fail(node, i, f"a channel-group view reshaped to {list(dims)}", "channel shuffle back to C, H, W")
        if self.src.get(t) == "input" and not self.layers and len(dims) in (2, 3):
            self.in_dims = (self.in_dims[0] if self.in_dims else None, *dims)   # a view of the input itself
            self.alias(out, "input", fold=f"{node.op_type} of the input to {list(dims)}")
            return
        if cur_s is not None and tuple(dims) == cur_s:
            self.alias(out, self.data_in(node, i))
            return
        if len(dims) == 1 or (len(dims) >= 2 and all(d == 1 for d in dims[1:])):
            if node.op_type in ("Squeeze", "Unsqueeze") and cur is not None and \
                    (len(cur) == 2 or all(d == 1 for d in cur[2:])):
                self.alias(out, self.data_in(node, i))
            else:
                self.emit(node, i, {"type": "flatten"}, self.data_in(node, i))
            return
        if len(dims) == 4 and cur_s is not None and len(cur_s) == 3 and math.prod(dims) == math.prod(cur_s):
            self.pending[out] = cur_s
            self.src[out] = self.data_in(node, i)
            return
        raise self.fail(node, i, f"reshaping a data tensor from {list(cur_s or [])} to {list(dims)} "
                        "(only flatten, shape-keeping and channel-shuffle views)", "Reshape to [batch, -1]")

    def input_transpose(self, node, i: int) -> bool:
        """An NHWC input's Transpose to NCHW: read the input as NCHW (a layout, not work)."""
        from onnx import helper
        perm = [helper.get_attribute_value(a) for a in node.attribute if a.name == "perm"]
        if node.input[0] != self.x_in or self.layers or not perm or list(perm[0]) != [0, 3, 1, 2] \
                or len(self.in_dims) != 4:
            return False
        n, h, w, c = self.in_dims
        self.in_dims = (n, c, h, w)
        self.alias(node.output[0], "input", fold="Transpose of an NHWC input to NCHW")
        return True


def _toposort(g, file: str) -> None:
    """Nodes in an order where each reads only tensors made before it (some exporters write an
    output Identity first); a cycle is an InputError."""
    made = {vi.name for vi in g.input} | {t.name for t in g.initializer} | {""}
    seen = set(made)
    for n in g.node:   # already in order: keep it exactly
        if not all(t in seen for t in n.input):
            break
        seen.update(n.output)
    else:
        return
    nodes, order = list(g.node), []
    while nodes:
        ready = [n for n in nodes if all(t in made for t in n.input)]
        if not ready:
            missing = next(t for n in nodes for t in n.input if t not in made)
            raise InputError("the graph reads a tensor no node or input provides (or has a cycle)", file=file,
                                 field="graph.node", value=missing)
        ids = {id(n) for n in ready}
        for n in ready:
            made.update(n.output)
        order += ready
        nodes = [n for n in nodes if id(n) not in ids]
    if [id(n) for n in order] != [id(n) for n in g.node]:
        copies = [type(n)() for n in order]
        for c, n in zip(copies, order):
            c.CopyFrom(n)
        del g.node[:]
        g.node.extend(copies)


def onnx_network_data(path: str | Path) -> tuple[dict, dict[str, tuple | None]]:
    """The network-description mapping (`asicsim.workload.network` schema) of an ONNX model file,
    and per layer the (batch-first) output shape ONNX's shape inference gives (None if unknown)."""
    return _import(path)[:2]


def import_details(path: str | Path) -> tuple[dict, dict[str, tuple | None], dict[str, int]]:
    """`onnx_network_data` plus what was folded away: {op type or fold note: count}."""
    return _import(path)


def _import(path: str | Path):
    from onnx import helper
    file = str(path)
    model = load_model(path)
    _toposort(model.graph, file)
    cx = _Importer(model, file)
    for i, node in enumerate(cx.g.node):
        if i in cx.folded_nodes:
            continue
        try:
            if node.op_type == "Transpose" and cx.input_transpose(node, i):
                continue
            h = HANDLERS.get(node.op_type) if node.domain in ("", "ai.onnx") else None
            if h is None:
                raise cx.fail(node, i, f"op type '{node.op_type}'"
                              + (f" of domain '{node.domain}'" if node.domain not in ("", "ai.onnx") else "")
                              + " is not supported")
            h(cx, i, node, {a.name: helper.get_attribute_value(a) for a in node.attribute})
        except InputError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, StopIteration) as exc:
            raise cx.fail(node, i, f"malformed node ({type(exc).__name__})") from None
    # a view left pending and read by no node is a graph output (a detection head's reshape): no work
    if not cx.layers:
        raise InputError("the graph has no supported layers", file=file, field="graph.node")
    dims = cx.in_dims
    if len(dims) == 4 and all(dims[1:]):
        c, h, w = dims[1:]
    elif len(dims) == 3 and all(dims[1:]):
        c, h, w = dims[1], 1, dims[2]      # [N, C, L]: 1-D signals as C × 1 × L
    elif len(dims) == 2 and dims[1]:
        c, h, w = dims[1], 1, 1
    else:
        raise InputError("the data input needs fixed non-batch dimensions [N, C, H, W], [N, C, L] or [N, F]",
                         file=file, field=f"graph.input.{cx.x_in}", value=[d if d else "?" for d in dims])
    layers = cx.layers
    if layers[-1]["type"] != "softmax_ce":
        lname, k = "loss", 1
        while lname in cx.used:
            lname, k = f"loss_{k}", k + 1
        layers.append({"name": lname, "type": "softmax_ce", "input": layers[-1]["name"]})
    data = {"name": Path(file).stem,
            "source": f"ONNX file {Path(file).name} (opset {default_opset(model)}, {model.producer_name or 'unknown'})",
            "input": {"channels": int(c), "height": int(h), "width": int(w)}, "layers": layers}
    folded = Counter(cx.folded) + Counter(cx.fold_notes)
    return data, {k: cx.shapes.get(v) for k, v in cx.onnx_out.items()}, dict(folded)


def check_shapes(net, onnx_shapes: dict[str, tuple | None]) -> None:
    """Every layer's inferred output shape (an `asicsim.workload.network.Network`) against ONNX's own
    shape inference, where ONNX knows it; a mismatch is an InputError naming the layer."""
    for l in net.layers:
        onnx_shape = onnx_shapes.get(l.name)
        if not onnx_shape or any(d is None for d in onnx_shape[1:]):
            continue
        s = l.out_shape
        theirs = tuple(onnx_shape[1:])
        if len(theirs) == 3:
            ours = (s.c, s.h, s.w)
        elif len(theirs) == 2:
            ours = (s.c, s.h * s.w)
        else:
            ours, theirs = (s.numel,), (math.prod(theirs),)
        if theirs != ours:
            raise InputError(f"layer '{l.name}': asicsim infers shape {ours}, ONNX shape inference {theirs}",
                             file=net.path, allowed="layers whose output shape asicsim can reproduce")
