"""Reading, normalising and constant-folding an ONNX model before its layers are mapped.

`load_model` reads the file through the guarded boundary (`asicsim.inputs.read_bytes`), parses it,
and normalises versions: IR versions before 3 (files written before ONNX 1.0's opset imports)
are refused with one line — onnx's own tools cannot read them either; default-domain opsets
before 7 are upgraded with `onnx.version_converter` to 7; opsets newer than the installed onnx
knows are refused.

`fold_constants` evaluates every node whose inputs are all constants (initializers, Constant
nodes, earlier folded outputs) with onnx's reference evaluator (`onnx.reference`), so weights an
exporter reaches through Reshape/Transpose/Unsqueeze/Gather chains (CNTK, ShuffleNet exports) and
Reshape targets computed by Shape/Gather/Concat arithmetic are plain constants to the importer.
Three rules keep it cheap and exact where only shapes matter:

* ``Shape`` of a tensor whose shape inference is static folds to that shape, with a symbolic
  batch dimension taken as 1 (asicsim's ``--batch`` sets the batch);
* ``ConstantOfShape`` folds to a zero-copy broadcast view (weight-stripped "light" exports build
  every weight this way: a VGG-19 would otherwise allocate 0.5 GB of zeros);
* a node whose constant inputs hold over `EVAL_MAX_ELEMS` elements is not evaluated: its output
  is a zero view of the shape ONNX's shape inference gives (only the shape of a weight is read).

Nothing is fused: every data-carrying node reaches the importer as exported.
"""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np

from asicsim.errors import InputError
from asicsim.inputs import read_bytes

MAX_ONNX_BYTES = 1 << 30      # bytes: the largest .onnx file read (a ResNet-152 with weights is 240 MB)
EVAL_MAX_ELEMS = 1 << 20      # elements: constant inputs above this are folded by shape only
MIN_IR, MIN_OPSET = 3, 7


def _onnx():
    try:
        import onnx
    except ImportError:
        raise InputError("reading .onnx networks needs the 'onnx' package",
                         allowed="pip install 'asicsim[onnx]' (or pip install onnx)") from None
    return onnx


def default_opset(model) -> int:
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)


def load_model(path: str | Path):
    """The parsed, version-normalised ModelProto of an ONNX file, or one InputError line."""
    onnx = _onnx()
    file = str(path)
    data = read_bytes(path, what="ONNX", max_bytes=MAX_ONNX_BYTES)
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as exc:  # noqa: BLE001 - protobuf raises its own DecodeError types
        raise InputError(f"not a readable ONNX model ({type(exc).__name__})", file=file,
                         allowed="an ONNX ModelProto file") from None
    if not model.HasField("graph") or not model.graph.node:
        raise InputError("not an ONNX model with a graph (no nodes)", file=file, allowed="an ONNX ModelProto file")
    if model.ir_version < MIN_IR:
        raise InputError(f"ONNX IR version {model.ir_version} predates opset imports; re-export the model",
                         file=file, field="ir_version", value=model.ir_version, allowed=f">= {MIN_IR}")
    opset = default_opset(model)
    newest = onnx.defs.onnx_opset_version()
    if opset > newest:
        raise InputError(f"opset {opset} is newer than the installed onnx ({onnx.__version__}) knows",
                         file=file, field="opset_import", value=opset, allowed=f"{MIN_OPSET}..{newest}")
    if opset < MIN_OPSET:
        try:
            model = onnx.version_converter.convert_version(model, MIN_OPSET)
        except Exception as exc:  # noqa: BLE001 - the converter raises RuntimeError/ValueError/C++ errors
            raise InputError(f"opset {opset} could not be upgraded to {MIN_OPSET} ({type(exc).__name__})",
                             file=file, field="opset_import", value=opset, allowed=f">= {MIN_OPSET}") from None
    return model


def _initializer(t):
    from onnx import numpy_helper
    dims = tuple(int(d) for d in t.dims)
    if math.prod(dims) <= EVAL_MAX_ELEMS:
        try:
            arr = numpy_helper.to_array(t)
            if arr.shape == dims:
                return arr
        except Exception:  # noqa: BLE001 - external or malformed data: only the shape is used
            pass
    return np.broadcast_to(np.zeros((), np.float32), dims)


def _static(shape) -> tuple | None:
    if shape is None:
        return None
    dims = [1 if j == 0 and d is None else d for j, d in enumerate(shape)]
    return tuple(dims) if all(d is not None for d in dims) else None


def _one_node_model(node, ins, opsets):
    """A one-node model at the file's own opsets (an op's semantics depend on its opset version:
    Unsqueeze's axes are an attribute before opset 13 and an input after)."""
    import onnx
    from onnx import helper
    vi = lambda n: onnx.ValueInfoProto(name=n)
    graph = helper.make_graph([node], "fold", [vi(t) for t in dict.fromkeys(ins)], [vi(o) for o in node.output if o])
    return helper.make_model(graph, opset_imports=opsets, ir_version=onnx.IR_VERSION)


def fold_constants(model, shapes: dict[str, tuple]) -> tuple[dict, set[int], Counter]:
    """(constant values by tensor name, indices of folded nodes, folded op counts)."""
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    g = model.graph
    opsets = list(model.opset_import)
    consts: dict[str, np.ndarray] = {t.name: _initializer(t) for t in g.initializer}
    folded: set[int] = set()
    count: Counter = Counter()
    for i, node in enumerate(g.node):
        op = node.op_type
        ins = [t for t in node.input if t]
        out_vals = None
        try:
            if op == "Constant":
                a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
                if "value" in a:
                    out_vals = [numpy_helper.to_array(a["value"])]
                elif a:
                    k, v = next(iter(a.items()))
                    out_vals = [np.array(v)] if k.startswith("value_") else None
            elif op == "Shape" and ins and _static(shapes.get(ins[0])) is not None:
                out_vals = [np.array(_static(shapes[ins[0]]), dtype=np.int64)]
            elif node.domain in ("", "ai.onnx") and ins and all(t in consts for t in ins):
                if op == "ConstantOfShape":
                    a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
                    v = numpy_helper.to_array(a["value"]).reshape(-1)[0] if "value" in a else np.float32(0)
                    out_vals = [np.broadcast_to(v, tuple(int(d) for d in consts[ins[0]]))]
                elif sum(consts[t].size for t in ins) <= EVAL_MAX_ELEMS:
                    feeds = {t: np.array(consts[t]) for t in ins}   # (ascontiguousarray makes 0-d arrays 1-d)
                    out_vals = list(ReferenceEvaluator(_one_node_model(node, ins, opsets)).run(None, feeds))
                else:
                    shp = [_static(shapes.get(o)) for o in node.output]
                    if all(s is not None for s in shp):
                        out_vals = [np.broadcast_to(np.zeros((), np.float32), s) for s in shp]
        except Exception:  # noqa: BLE001 - a node the evaluator cannot run stays a graph node
            out_vals = None
        if out_vals is not None and len(out_vals) >= len([o for o in node.output if o]):
            for o, v in zip(node.output, out_vals):
                if o:
                    consts[o] = np.asarray(v) if not isinstance(v, np.ndarray) else v
            folded.add(i)
            count[op] += 1
    return consts, folded, count
