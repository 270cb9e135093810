"""Real exported CNNs (tests/data/onnx, sources in its README) import as shipped: every file's
forward MACs equal a count made here straight from the ONNX graph (conv: N·C_out·H_out·W_out·
C_in/g·kh·kw from the weight's dims and ONNX's own shape inference; ConvTranspose: N·C_in·H_in·
W_in·C_out/g·kh·kw; Gemm/MatMul: M·K·N), the exporter's producer_name is kept, and a full training
step simulates. Also: `asicsim inspect` on a file and a YAML network."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
from onnx import numpy_helper, shape_inference

from asicsim.workload.network import load_network

DATA = Path(__file__).parent / "data" / "onnx"
# file → exporter named in the file (producer_name), as published
MODELS = {
    "light_bvlc_alexnet.onnx": "onnx-caffe2", "light_densenet121.onnx": "onnx-caffe2",
    "light_inception_v1.onnx": "onnx-caffe2", "light_inception_v2.onnx": "onnx-caffe2",
    "light_resnet50.onnx": "onnx-caffe2", "light_shufflenet.onnx": "onnx-caffe2",
    "light_squeezenet.onnx": "onnx-caffe2", "light_vgg19.onnx": "onnx-caffe2", "light_zfnet512.onnx": "onnx-caffe2",
    "pytorch13_lenet.onnx": "pytorch", "pytorch13_lenet_bn.onnx": "pytorch", "pytorch17_lenet.onnx": "pytorch",
    "cntk_mnist.onnx": "CNTK", "tf2onnx_mesonet.onnx": "tf2onnx",
    "../zigzag/resnet18.onnx": "pytorch",    # shipped with the ZigZag reference data (tests/data/README.md)
}


def independent_macs(path: Path) -> int:
    """Forward MACs at batch 1 counted from the graph alone (module docstring). Weight dims come from
    an initializer, a graph input's declaration, or a ConstantOfShape's constant shape input (the
    weight-stripped files build weights that way)."""
    m = onnx.load(str(path), load_external_data=False)
    g = shape_inference.infer_shapes(m).graph
    dims = {t.name: list(t.dims) for t in m.graph.initializer}
    vals = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer if math.prod(t.dims) <= 16}
    for vi in list(g.value_info) + list(g.input) + list(g.output):
        if vi.name not in dims and vi.type.tensor_type.HasField("shape"):
            dims[vi.name] = [d.dim_value or 1 for d in vi.type.tensor_type.shape.dim]
    for n in m.graph.node:
        if n.op_type == "ConstantOfShape" and n.input[0] in vals:
            dims[n.output[0]] = [int(v) for v in vals[n.input[0]]]
        if n.op_type in ("Reshape", "Transpose") and n.input[0] in dims and n.output[0] not in dims:
            dims[n.output[0]] = dims[n.input[0]]   # weights reached through a view keep their size
    total = 0
    for n in m.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "Conv":
            w, y = dims[n.input[1]], dims[n.output[0]]
            total += 1 * math.prod(y[1:]) * math.prod(w[1:])            # C_out·H_out·W_out · C_in/g·kh·kw
        elif n.op_type == "ConvTranspose":
            w, x = dims[n.input[1]], dims[n.input[0]]
            total += math.prod(x[1:]) * math.prod(w[1:])               # C_in·H_in·W_in · C_out/g·kh·kw
        elif n.op_type in ("Gemm", "MatMul"):
            w = dims[n.input[1]]
            k, out = (w[1], w[0]) if attrs.get("transB", 0) else (w[0], w[1])
            total += 1 * k * out                                         # M = 1 row per sample
    return total


@pytest.mark.parametrize("name", sorted(MODELS))
def test_real_export_imports_with_exact_macs_and_trains_a_step(name):
    from asicsim.api import simulate
    path = DATA / name
    assert onnx.load(str(path), load_external_data=False).producer_name == MODELS[name]
    net = load_network(path)
    assert net.forward_macs(1) == independent_macs(path)
    res = simulate(net, "edge", batch=2)
    phases = set(res.layers["phase"]) if hasattr(res, "layers") else None
    assert res.total_cycles > 0 and res.energy_pj > 0
    if phases is not None:
        assert {"forward", "backward_data", "weight_gradient", "update"} <= phases


def test_regression_set_size_and_exporters():
    total = sum(p.stat().st_size for p in DATA.glob("*.onnx"))
    here = [n for n in MODELS if "/" not in n]
    assert total <= 20 * 1024 * 1024 and len(here) == len(list(DATA.glob("*.onnx")))
    assert len(MODELS) >= 15 and len(set(MODELS.values())) >= 4
    readme = (DATA / "README.md").read_text()
    for name in here:
        assert name in readme


def test_inspect_onnx_and_yaml(capsys):
    from asicsim.cli.main import main
    assert main(["inspect", str(DATA / "light_shufflenet.onnx")]) == 0
    out = capsys.readouterr().out
    assert "folded before import: ConstantOfShape ×243" in out and "onnx-caffe2" in out
    net = load_network(DATA / "light_shufflenet.onnx")
    assert f"{net.forward_macs(1):,} forward MACs at batch 1" in out
    assert " transpose " in out and " concat " in out          # channel shuffle and concat as vector work
    assert main(["inspect", "squeezenet_tiny", "--batch", "2"]) == 0
    out = capsys.readouterr().out
    assert f"{load_network('squeezenet_tiny').forward_macs(2):,} forward MACs at batch 2" in out
    assert "fire2.concat" in out and "GEMM 392×72×16" in out   # expand3x3: B·P = 2·14·14, K = 8·3·3, N = 16
    assert main(["inspect", str(DATA / "missing.onnx")]) == 2
