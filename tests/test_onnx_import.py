"""ONNX import: graphs built with onnx.helper from the YAML networks come back as the same network
(every layer's kind, shapes, weight matrix, positions; every GEMM of a training step), the PyTorch
export of ResNet-18 that ZigZag ships gives 1.814 GMAC, and bad graphs are refused in one line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper

from asicsim.errors import InputError
from asicsim.workload.lowering import GemmOp, lower_step
from asicsim.workload.network import Network, _pair, load_network

DATA = Path(__file__).parent / "data" / "zigzag"
F = TensorProto.FLOAT


def _p4(p):
    ph, pw = _pair(p)
    return [ph, pw, ph, pw]


def to_onnx(net: Network, reshape_flatten: bool = False) -> onnx.ModelProto:
    """An ONNX graph of a YAML network, written independently of the importer: weights are graph
    inputs with declared shapes (no data), Clip bounds are small initializers."""
    nodes, inputs, inits = [], [helper.make_tensor_value_info("x", F, [1, net.input_shape.c, net.input_shape.h, net.input_shape.w])], []
    out = {"input": "x"}

    def param(name, shape):
        inputs.append(helper.make_tensor_value_info(name, F, list(shape)))
        return name

    for l in net.layers:
        s, x, y = l.spec, out[l.inputs[0]], f"{l.name}:out"
        if l.kind == "conv":
            kh, kw = _pair(s.kernel)
            ins = [x, param(f"{l.name}.W", (s.out_channels, l.in_shape.c // s.groups, kh, kw))]
            if s.bias:
                ins.append(param(f"{l.name}.b", (s.out_channels,)))
            nodes.append(helper.make_node("Conv", ins, [y], name=l.name, kernel_shape=[kh, kw],
                                          strides=list(_pair(s.stride)), pads=_p4(s.padding), group=s.groups,
                                          dilations=list(_pair(s.dilation))))
        elif l.kind == "linear":
            ins = [x, param(f"{l.name}.W", (s.out_features, l.in_shape.numel))]
            if s.bias:
                ins.append(param(f"{l.name}.b", (s.out_features,)))
            nodes.append(helper.make_node("Gemm", ins, [y], name=l.name, transB=1))
        elif l.kind in ("maxpool", "avgpool"):
            kw_ = {"kernel_shape": list(_pair(s.kernel)), "strides": list(_pair(s.stride or s.kernel)), "pads": _p4(s.padding)}
            if s.ceil_mode:
                kw_["ceil_mode"] = 1
            nodes.append(helper.make_node("MaxPool" if l.kind == "maxpool" else "AveragePool", [x], [y], name=l.name, **kw_))
        elif l.kind == "global_avgpool":
            nodes.append(helper.make_node("GlobalAveragePool", [x], [y], name=l.name))
        elif l.kind == "batchnorm":
            ps = [param(f"{l.name}.{k}", (l.in_shape.c,)) for k in ("scale", "bias", "mean", "var")]
            nodes.append(helper.make_node("BatchNormalization", [x] + ps, [y], name=l.name))
        elif l.kind == "relu":
            nodes.append(helper.make_node("Relu", [x], [y], name=l.name))
        elif l.kind == "relu6":
            lo, hi = f"{l.name}.min", f"{l.name}.max"
            inits += [helper.make_tensor(lo, F, [], [0.0]), helper.make_tensor(hi, F, [], [6.0])]
            nodes.append(helper.make_node("Clip", [x, lo, hi], [y], name=l.name))
        elif l.kind == "add":
            nodes.append(helper.make_node("Add", [out[i] for i in l.inputs], [y], name=l.name))
        elif l.kind == "flatten" and reshape_flatten:
            sh = f"{l.name}.shape"
            inits.append(helper.make_tensor(sh, TensorProto.INT64, [2], [1, -1]))
            nodes.append(helper.make_node("Reshape", [x, sh], [y], name=l.name))
        elif l.kind == "flatten":
            nodes.append(helper.make_node("Flatten", [x], [y], name=l.name))
        elif l.kind == "dropout":
            nodes.append(helper.make_node("Dropout", [x], [y], name=l.name))
        elif l.kind == "softmax_ce":
            nodes.append(helper.make_node("Softmax", [x], [y], name=l.name))
        else:
            raise AssertionError(l.kind)
        out[l.name] = y
    graph = helper.make_graph(nodes, net.name, inputs, [helper.make_tensor_value_info(y, F, None)], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _save(model, tmp_path: Path, name: str = "net.onnx") -> Path:
    p = tmp_path / name
    onnx.save(model, str(p))
    return p


def _facts(net: Network):
    return [(l.name, l.kind, l.inputs, l.in_shape, l.out_shape, l.params,
             l.weight_shape if l.is_weighted else None, l.positions) for l in net.layers]


def _gemms(net: Network, batch: int):
    return [(o.layer, o.phase, o.m, o.k, o.n, o.groups, o.macs) for o in lower_step(net, batch, 2, 4).ops
            if isinstance(o, GemmOp)]


@pytest.mark.parametrize("name,reshape", [("resnet18", False), ("vgg16", True), ("mobilenetv2", False)])
def test_onnx_twin_equals_yaml(name, reshape, tmp_path):
    yaml_net = load_network(name)
    onnx_net = load_network(_save(to_onnx(yaml_net, reshape), tmp_path))
    assert _facts(onnx_net) == _facts(yaml_net)
    assert onnx_net.forward_macs(1) == yaml_net.forward_macs(1)
    assert _gemms(onnx_net, 4) == _gemms(yaml_net, 4)


def test_zigzag_resnet18_onnx_macs():
    """The PyTorch 1.13 export ZigZag 3.9.1 ships (BN folded into conv biases): 1.814 GMAC."""
    net = load_network(DATA / "resnet18.onnx")
    yaml_net = load_network("resnet18")
    assert net.forward_macs(1) == 1_814_073_344 == yaml_net.forward_macs(1)
    key = lambda l: (l.weight_shape, l.positions, l.in_shape, l.out_shape)
    assert sorted(map(key, net.weighted_layers)) == sorted(map(key, yaml_net.weighted_layers))
    assert [l.name for l in net.weighted_layers][:3] == ["conv1", "layer1.0.conv1", "layer1.0.conv2"]
    assert net.layers[-1].kind == "softmax_ce"   # an inference graph gains its loss layer


def _one_conv(tmp_path, **attrs) -> Path:
    x = helper.make_tensor_value_info("x", F, [1, 3, 32, 32])
    w = helper.make_tensor_value_info("w", F, [8, 3, 3, 3])
    n = helper.make_node("Conv", ["x", "w"], ["y"], name="c", **attrs)
    return _save(helper.make_model(helper.make_graph([n], "g", [x, w], [helper.make_tensor_value_info("y", F, None)]),
                                   opset_imports=[helper.make_opsetid("", 13)]), tmp_path)


def test_dilation_stride_and_same_padding(tmp_path):
    net = load_network(_one_conv(tmp_path, kernel_shape=[3, 3], dilations=[2, 2], pads=[2, 2, 2, 2], strides=[2, 2]))
    conv = net.layers[0]
    assert conv.out_shape.h == (32 + 4 - 5) // 2 + 1 == 16      # d·(k−1)+1 = 5 input rows per window
    assert net.forward_macs(1) == 16 * 16 * 8 * 27             # dilation does not change MACs
    same = load_network(_one_conv(tmp_path, kernel_shape=[3, 3], auto_pad="SAME_UPPER"))
    assert same.layers[0].out_shape.h == 32


def test_bad_graphs_name_node_and_op(tmp_path):
    asym = load_network(_one_conv(tmp_path, kernel_shape=[3, 3], pads=[0, 0, 1, 1]))   # Caffe-style: exact
    assert asym.layers[0].spec.padding == (0, 0, 1, 1) and asym.layers[0].out_shape.h == 32 + 1 - 3 + 1
    x = helper.make_tensor_value_info("x", F, [1, 4])
    n = helper.make_node("Asinh", ["x"], ["y"], name="sig")
    bad = _save(helper.make_model(helper.make_graph([n], "g", [x], [helper.make_tensor_value_info("y", F, None)])), tmp_path, "sig.onnx")
    with pytest.raises(InputError, match=r"node 'sig' \(Asinh\).*op type 'Asinh' is not supported.*allowed: Abs, Add, AveragePool"):
        load_network(bad)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not an onnx file" * 10)
    with pytest.raises(InputError, match="not a readable ONNX model"):
        load_network(junk)
    with pytest.raises(InputError, match="file not found"):
        load_network(tmp_path / "missing.onnx")
    # CLI: exit 2 and one line, no traceback
    r = subprocess.run([sys.executable, "-m", "asicsim", "run", "--network", str(bad), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Asinh" in r.stderr


def test_trainer_refuses_dilation(tmp_path):
    from asicsim.nn.model import build_model
    net = load_network(_one_conv(tmp_path, kernel_shape=[3, 3], dilations=[2, 2]))
    with pytest.raises(InputError, match="dilat"):
        build_model(net)


# ---------------------------------------------------------------- every command takes a .onnx network

def _cli(args):
    from asicsim.cli.main import main
    assert main(args) == 0


def test_run_compare_train_from_onnx_equal_yaml(tmp_path, capsys):
    """The LeNet-5 ONNX twin gives byte-identical run/compare tables and the same training run."""
    onnx_file = _save(to_onnx(load_network("lenet5")), tmp_path, "lenet5.onnx")
    for tag, net in (("y", "lenet5"), ("o", str(onnx_file))):
        _cli(["run", "--network", net, "--batch", "8", "--out", str(tmp_path / f"run_{tag}")])
        _cli(["compare", "--network", net, "--batch", "8", "--rank", "2", "--out", str(tmp_path / f"cmp_{tag}")])
        _cli(["train", "--network", net, "--dataset", "tiny", "--batch", "32", "--epochs", "1", "--seed", "1",
              "--limit-train", "192", "--limit-test", "64", "--out", str(tmp_path / f"tr_{tag}")])
    capsys.readouterr()
    for f in ("run_{}/layers.csv", "cmp_{}/compare.csv", "cmp_{}/compare_layers.csv", "tr_{}/history.csv"):
        assert (tmp_path / f.format("o")).read_bytes() == (tmp_path / f.format("y")).read_bytes(), f


def test_sweep_network_axis_takes_onnx(tmp_path):
    import pandas as pd

    from asicsim.studies.expand import study_from_dict
    from asicsim.studies.sweep import run_sweep
    onnx_file = _save(to_onnx(load_network("lenet5")), tmp_path, "lenet5.onnx")
    study = study_from_dict({"name": "onnx_axis", "base": {"accelerator": "edge", "network": "lenet5", "batch": 8},
                             "grid": {"network": ["lenet5", str(onnx_file)]}}, file=str(tmp_path / "s.yaml"))
    run_sweep(study, tmp_path / "sw", workers=0, progress=False)
    res = pd.read_parquet(tmp_path / "sw" / "results.parquet") if (tmp_path / "sw" / "results.parquet").exists() \
        else pd.read_csv(tmp_path / "sw" / "results.csv")
    assert len(res) == 2
    if "error" in res:
        assert res["error"].isna().all()
    for col in ("energy_pj", "total_cycles", "dram_read_bytes"):
        assert res[col].iloc[0] == res[col].iloc[1], col


def test_torch_flatten_pattern_matmul_bias_and_clip(tmp_path):
    """x.view(x.size(0), -1) exported as Shape→Gather→Unsqueeze→Concat→Reshape, then MatMul + Add
    (a bias), Clip(0, 6) with bounds as inputs: flatten, linear with bias, relu6."""
    i64 = TensorProto.INT64
    inits = [helper.make_tensor("idx", i64, [], [0]), helper.make_tensor("ax", i64, [1], [0]),
             helper.make_tensor("minus1", i64, [1], [-1]), helper.make_tensor("lo", F, [], [0.0]),
             helper.make_tensor("hi", F, [], [6.0]), helper.make_tensor("b", F, [10], [0.0] * 10)]
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Gather", ["s", "idx"], ["n"]),
             helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]), helper.make_node("Concat", ["n1", "minus1"], ["shp"], axis=0),
             helper.make_node("Reshape", ["x", "shp"], ["f"], name="/flat/Reshape"),
             helper.make_node("MatMul", ["f", "W"], ["mm"], name="/fc/MatMul"),
             helper.make_node("Add", ["mm", "b"], ["z"], name="/fc/Add"),
             helper.make_node("Clip", ["z", "lo", "hi"], ["y"], name="/act/Clip")]
    ins = [helper.make_tensor_value_info("x", F, [1, 8, 4, 4]), helper.make_tensor_value_info("W", F, [128, 10])]
    g = helper.make_graph(nodes, "g", ins, [helper.make_tensor_value_info("y", F, None)], initializer=inits)
    net = load_network(_save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), tmp_path))
    assert [(l.name, l.kind) for l in net.layers] == [("flat", "flatten"), ("fc", "linear"), ("act", "relu6"),
                                                     ("loss", "softmax_ce")]
    fc = net.layer("fc")
    assert fc.spec.bias and fc.params == 128 * 10 + 10 and net.forward_macs(1) == 1280
