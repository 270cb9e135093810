"""Each supported ONNX op on a graph built here with onnx.helper: the layer it becomes, its shape
(checked against ONNX's shape inference by the importer) and its MACs; tf2onnx/keras2onnx-style
NHWC heads; 1-D convolution; refusals that name node, op and the supported list; IR-version and
opset normalisation."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper

from asicsim.errors import InputError
from asicsim.workload.lowering import GemmOp, lower_step
from asicsim.workload.network import load_network

F = TensorProto.FLOAT


def _init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def _model(nodes, x_shape, inits=(), opset=13, ir=None):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F, x_shape)],
                          [helper.make_tensor_value_info(nodes[-1].output[0], F, None)], initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="test")
    if ir is not None:
        m.ir_version = ir
    return m


def _load(tmp_path, model, name="m.onnx"):
    p = tmp_path / name
    p.write_bytes(model.SerializeToString())
    return load_network(p)


def test_squeeze_excite_block_concat_resize_convtranspose(tmp_path):
    W = lambda n, *s: _init(n, np.zeros(s, np.float32))
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="c1", kernel_shape=[3, 3], pads=[0, 0, 1, 1]),
             helper.make_node("HardSwish", ["c1"], ["h"], name="hs"),
             helper.make_node("ReduceMean", ["h", "axes"], ["m"], name="gap", keepdims=1),
             helper.make_node("Conv", ["m", "w2"], ["s1"], name="se_fc", kernel_shape=[1, 1]),
             helper.make_node("Sigmoid", ["s1"], ["s"], name="sig"),
             helper.make_node("Mul", ["h", "s"], ["se"], name="scale"),
             helper.make_node("Conv", ["se", "w3"], ["b"], name="branch", kernel_shape=[1, 1]),
             helper.make_node("Concat", ["se", "b"], ["cat"], name="cat", axis=1),
             helper.make_node("Resize", ["cat", "", "scales"], ["up"], name="up", mode="linear"),
             helper.make_node("ConvTranspose", ["up", "wt"], ["dc"], name="deconv", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Pad", ["dc", "pads"], ["pd"], name="pad"),
             helper.make_node("Slice", ["pd", "st", "en", "ax"], ["sl"], name="slice"),
             helper.make_node("LeakyRelu", ["sl"], ["y"], name="lrelu")]
    inits = [W("w1", 8, 3, 3, 3), _init("axes", np.array([2, 3])), W("w2", 8, 8, 1, 1), W("w3", 4, 8, 1, 1),
             _init("scales", np.array([1, 1, 2, 2], np.float32)), W("wt", 12, 6, 2, 2),
             _init("pads", np.array([0, 0, 1, 0, 0, 0, 0, 1])), _init("st", np.array([2])), _init("en", np.array([5])),
             _init("ax", np.array([1]))]
    net = _load(tmp_path, _model(nodes, [1, 3, 9, 9], inits, opset=18))
    kinds = [(l.name, l.kind) for l in net.layers]
    assert kinds[:6] == [("c1", "conv"), ("hs", "hardswish"), ("gap", "reduce_mean"), ("se_fc", "conv"),
                         ("sig", "sigmoid"), ("scale", "scale")]
    L = {l.name: l for l in net.layers}
    assert (L["c1"].out_shape.h, L["c1"].out_shape.w) == (8, 8)                   # 9 + 0 + 1 − 3 + 1
    assert L["cat"].out_shape.c == 12 and (L["up"].out_shape.h, L["up"].spec.mode) == (16, "bilinear")
    assert (L["deconv"].out_shape.c, L["deconv"].out_shape.h) == (6, 32)
    assert (L["pad"].out_shape.h, L["pad"].out_shape.w) == (33, 33) and L["slice"].out_shape.c == 3
    macs = 8 * 8 * 8 * 27 + 8 * 8 + 4 * 8 * 8 * 8 + 12 * 16 * 16 * 6 * 4          # conv, SE fc, branch, deconv
    assert net.forward_macs(1) == macs
    ops = lower_step(net, 2, 2, 4).ops
    assert sum(op.macs for op in ops if isinstance(op, GemmOp) and op.phase == "forward") == 2 * macs


def test_nhwc_head_sum_split_conv1d(tmp_path):
    """tf2onnx/keras2onnx write an NHWC input, a Transpose to NCHW, and a Transpose back before the
    flatten: both fold away (features only reorder). Split → slices; Sum of three."""
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["t", "w"], ["c"], name="conv", kernel_shape=[3, 3], auto_pad="SAME_UPPER"),
             helper.make_node("Split", ["c"], ["a", "b"], name="split", axis=1),
             helper.make_node("Sum", ["a", "b", "a"], ["s"], name="sum"),
             helper.make_node("Transpose", ["s"], ["t2"], perm=[0, 2, 3, 1]),
             helper.make_node("Reshape", ["t2", "shape"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "fc"], ["mm"], name="fc"),
             helper.make_node("Add", ["mm", "bias"], ["y"], name="fc_bias")]
    inits = [_init("w", np.zeros((8, 1, 3, 3), np.float32)), _init("shape", np.array([-1, 4 * 6 * 6])),
             _init("fc", np.zeros((144, 10), np.float32)), _init("bias", np.zeros(10, np.float32))]
    net = _load(tmp_path, _model(nodes, ["N", 6, 6, 1], inits, opset=11))
    assert net.input_shape.c == 1 and net.input_shape.h == 6
    assert [l.kind for l in net.layers] == ["conv", "slice", "slice", "add", "flatten", "linear", "softmax_ce"]
    assert net.layer("fc").spec.bias and net.forward_macs(1) == 8 * 36 * 9 + 144 * 10
    # 1-D: [N, C, L] input, Conv with a 3-tap kernel and asymmetric pads, 1-D max pooling
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="c", kernel_shape=[3], pads=[2, 0], strides=[2]),
             helper.make_node("MaxPool", ["c"], ["p"], name="p", kernel_shape=[2], strides=[2]),
             helper.make_node("Flatten", ["p"], ["y"], name="f")]
    net = _load(tmp_path, _model(nodes, [1, 4, 50], [_init("w", np.zeros((6, 4, 3), np.float32))]), "c1d.onnx")
    c = net.layer("c")
    assert (net.input_shape.c, net.input_shape.h, net.input_shape.w) == (4, 1, 50)
    assert (c.out_shape.h, c.out_shape.w) == (1, (50 + 2 - 3) // 2 + 1) and net.forward_macs(1) == 6 * 25 * 12


def test_refusals_are_one_true_line(tmp_path):
    bad = [(helper.make_node("Concat", ["x", "x"], ["y"], name="cat0", axis=2), "along axis 2"),
           (helper.make_node("ReduceMean", ["x"], ["y"], name="rm", axes=[1]), "over axes [1]"),
           (helper.make_node("Asinh", ["x"], ["y"], name="as"), "op type 'Asinh' is not supported")]
    for node, why in bad:
        with pytest.raises(InputError) as e:
            _load(tmp_path, _model([node], [1, 2, 4, 4]))
        msg = str(e.value)
        assert f"node '{node.name}' ({node.op_type})" in msg and why in msg and "\n" not in msg
    with pytest.raises(InputError, match="op type 'Asinh' is not supported.*allowed: Abs, Add, AveragePool"):
        _load(tmp_path, _model([bad[2][0]], [1, 2, 4, 4]))
    relu = helper.make_node("Relu", ["x"], ["y"], name="r")
    with pytest.raises(InputError, match=r"IR version 1 predates opset imports"):
        _load(tmp_path, _model([relu], [1, 2, 4, 4], ir=1))
    with pytest.raises(InputError, match="fixed non-batch dimensions"):
        _load(tmp_path, _model([relu], ["N", 2, "H", 4]))
    old = _load(tmp_path, _model([helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[1, 1])], [1, 2, 4, 4],
                                 [_init("w", np.zeros((3, 2, 1, 1), np.float32))], opset=6), "old.onnx")
    assert old.forward_macs(1) == 3 * 2 * 16     # opset 6 upgraded to 7 by onnx.version_converter


def test_unary_math_mish_gelu_and_a_dangling_detection_view(tmp_path):
    """Mish (Softplus→Tanh→Mul), erf-GELU (Div, Erf, Add, Mul, Mul), Max/Pow by constants,
    InstanceNormalization, GlobalMaxPool; a rank-5 Reshape read by no node is an output view."""
    c = lambda n, v: _init(n, np.array(v, np.float32))
    nodes = [helper.make_node("Conv", ["x", "w"], ["a"], name="conv", kernel_shape=[1, 1]),
             helper.make_node("Softplus", ["a"], ["sp"]), helper.make_node("Tanh", ["sp"], ["th"]),
             helper.make_node("Mul", ["a", "th"], ["mish"], name="mish"),
             helper.make_node("Div", ["mish", "r2"], ["d"]), helper.make_node("Erf", ["d"], ["e"]),
             helper.make_node("Add", ["e", "one"], ["e1"]), helper.make_node("Mul", ["mish", "e1"], ["g0"]),
             helper.make_node("Mul", ["g0", "half"], ["gelu"]),
             helper.make_node("Max", ["gelu", "zero"], ["mx"]), helper.make_node("Pow", ["mx", "two"], ["pw"]),
             helper.make_node("InstanceNormalization", ["pw", "s", "b"], ["inn"]),
             helper.make_node("Reshape", ["inn", "r5"], ["head"], name="head_view"),
             helper.make_node("GlobalMaxPool", ["inn"], ["y"], name="gmp")]
    inits = [_init("w", np.zeros((6, 3, 1, 1), np.float32)), c("r2", 1.41), c("one", 1.0), c("half", 0.5),
             c("zero", 0.0), c("two", 2.0), c("s", np.ones(6)), c("b", np.zeros(6)),
             _init("r5", np.array([1, 2, 3, 4, 4]))]
    net = _load(tmp_path, _model(nodes, [1, 3, 4, 4], inits))
    kinds = [l.kind for l in net.layers]
    assert kinds == ["conv", "softplus", "tanh", "scale", "scale", "erf", "scale", "scale", "scale", "clamp", "pow",
                     "batchnorm", "reduce_max", "softmax_ce"]
    assert net.layer("mish").spec.operand == "tensor" and net.layer("gmp").out_shape.numel == 6
    assert net.forward_macs(1) == 6 * 16 * 3


def test_weights_through_reshape_chains_and_image_scaler(tmp_path):
    """CNTK-style: the conv weight is Reshape(initializer, Shape-computed target); an ImageScaler
    (old Caffe2 zoo files) in front is a per-channel scale; both fold/import, MACs exact."""
    nodes = [helper.make_node("ImageScaler", ["x"], ["xs"], name="scaler", scale=0.5, bias=[0.0, 0.0]),
             helper.make_node("Shape", ["w4"], ["ws"]), helper.make_node("Reshape", ["wflat", "ws"], ["w"]),
             helper.make_node("Conv", ["xs", "w"], ["y"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    inits = [_init("wflat", np.zeros(5 * 2 * 9, np.float32)), _init("w4", np.zeros((5, 2, 3, 3), np.float32))]
    net = _load(tmp_path, _model(nodes, [1, 2, 6, 6], inits, opset=9))
    assert [l.kind for l in net.layers] == ["scale", "conv", "softmax_ce"]
    assert net.forward_macs(1) == 5 * 36 * 2 * 9
    from asicsim.workload.onnx_import import import_details
    folded = import_details(tmp_path / "m.onnx")[2]
    assert folded == {"Shape": 1, "Reshape": 1}      # Reshape evaluated by onnx's reference evaluator
