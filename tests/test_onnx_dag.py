"""Graphs that merge by concatenation: the trainer's concat backward against finite differences,
the SqueezeNet- and DenseNet-style YAML networks training a few steps on Fashion-MNIST and
simulating, the lowering of concat / n-ary add / conv_transpose / the element-wise kinds against
hand counts, and the one field validator shared by every layer kind."""
from __future__ import annotations

import numpy as np
import pytest
from test_nn import num_grad, sample_idx

from asicsim.errors import InputError
from asicsim.nn import build_model
from asicsim.workload.lowering import GemmOp, VectorOp, lower_step
from asicsim.workload.network import build_network, load_network

FIRE_DENSE = {"name": "fire_dense", "input": {"channels": 2, "height": 6, "width": 6}, "layers": [
    {"name": "c0", "type": "conv", "out_channels": 4, "kernel": 3, "padding": 1},
    {"name": "sq", "type": "conv", "out_channels": 3, "kernel": 1},
    {"name": "sq_r", "type": "relu"},
    {"name": "e1", "type": "conv", "out_channels": 2, "kernel": 1, "input": "sq_r"},
    {"name": "e3", "type": "conv", "out_channels": 3, "kernel": 3, "padding": 1, "input": "sq_r"},
    {"name": "fire", "type": "concat", "inputs": ["e1", "e3"]},
    {"name": "bn", "type": "batchnorm"},
    {"name": "d1", "type": "conv", "out_channels": 2, "kernel": 3, "padding": 1},
    {"name": "dense", "type": "concat", "inputs": ["c0", "fire", "d1"]},
    {"name": "sum", "type": "add", "inputs": ["dense", "dense", "dense"]},
    {"name": "gap", "type": "global_avgpool"},
    {"name": "f", "type": "flatten"},
    {"name": "fc", "type": "linear", "out_features": 3},
    {"name": "loss", "type": "softmax_ce"}]}


def test_concat_backward_equals_finite_differences():
    rng = np.random.default_rng(3)
    net = build_network(FIRE_DENSE)
    assert net.layer("dense").out_shape.c == 4 + 5 + 2
    model = build_model(net, rng)
    x = rng.standard_normal((3, 6, 6, 2))
    y = rng.integers(0, 3, 3)
    model.loss(x, y)
    model.backward()
    f = lambda: model.loss(x, y)[0]
    grads = [(l.W, l.weight_grad().copy()) for l in model.weighted]
    for p, g in grads:
        idx = sample_idx(p, rng, 4)
        np.testing.assert_allclose([g[i] for i in idx], num_grad(f, p, idx), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", ["squeezenet_tiny", "densenet_tiny"])
def test_concat_networks_train_on_fashion_mnist_and_simulate(tmp_path, name):
    from asicsim.nn import TrainConfig, train
    from asicsim.api import simulate
    cfg = TrainConfig(network=name, dataset="tiny", update="full", batch=32, epochs=1, lr=0.05, seed=0,
                      log_every=1, limit_train=128, limit_test=64)
    out = train(cfg).write(tmp_path / name)
    lines = (out / "history.csv").read_text().splitlines()
    assert len(lines) >= 4
    net = load_network(name)
    low = lower_step(net, 8, 2, 4)
    cat = [op for op in low.ops if isinstance(op, VectorOp) and op.kind == "concat"]
    for op in cat:   # forward copies every output element; backward writes each branch's δ
        l = net.layer(op.layer)
        assert op.ops == 8 * l.out_shape.numel
        if op.phase == "backward_data":
            assert [t.name for t in op.writes] == [f"{s}.grad" for s in l.inputs]
            assert sum(t.elems for t in op.writes) == 8 * l.out_shape.numel
    assert len(cat) == 2 * sum(l.kind == "concat" for l in net.layers)
    res = simulate(name, "edge", batch=8)
    assert res.total_cycles > 0


def test_nary_add_conv_transpose_and_elementwise_counts():
    net = build_network({"name": "t", "input": {"channels": 4, "height": 5, "width": 7}, "layers": [
        {"name": "a", "type": "conv", "out_channels": 6, "kernel": 3, "padding": [1, 0, 1, 2]},
        {"name": "up", "type": "conv_transpose", "out_channels": 3, "kernel": [3, 2], "stride": 2,
         "padding": [1, 0, 0, 1], "output_padding": 1},
        {"name": "s", "type": "sigmoid"},
        {"name": "sum", "type": "add", "inputs": ["s", "up", "s"]},
        {"name": "lrn", "type": "lrn", "size": 3},
        {"name": "g", "type": "reduce_mean"},
        {"name": "f", "type": "flatten"},
        {"name": "fc", "type": "linear", "out_features": 2},
        {"name": "loss", "type": "softmax_ce"}]})
    a, up = net.layer("a"), net.layer("up")
    assert (a.out_shape.h, a.out_shape.w) == (5, 7 + 0 + 2 - 3 + 1)
    # ONNX ConvTranspose: (H−1)·s − p_begin − p_end + (k−1) + 1 + output_padding
    assert (up.out_shape.c, up.out_shape.h, up.out_shape.w) == (3, 4 * 2 - 1 - 0 + 2 + 1 + 1, 6 * 2 - 0 - 1 + 1 + 1 + 1)
    B = 2
    low = lower_step(net, B, 2, 4)
    g = {(op.layer, op.phase): op for op in low.ops if isinstance(op, GemmOp)}
    # conv_transpose forward MACs: every input position scatters C_out·kh·kw products per input channel
    assert g[("up", "forward")].macs == B * 6 * 5 * 7 * 3 * 3 * 2
    assert g[("up", "backward_data")].macs == g[("up", "forward")].macs == g[("up", "weight_gradient")].macs
    assert g[("up", "forward")].m == B * up.out_shape.h * up.out_shape.w   # runs over output positions
    assert up.params == 6 * 3 * 3 * 2 + 3                                  # W (C_in, C_out·kh·kw) + C_out biases
    assert g[("up", "backward_data")].m == B * 5 * 7                       # a conv over input positions
    v = {(op.layer, op.phase): op for op in low.ops if isinstance(op, VectorOp)}
    o = B * up.out_shape.numel
    assert v[("sum", "forward")].ops == 2 * o and len(v[("sum", "forward")].reads) == 3
    assert (v[("s", "forward")].ops, v[("s", "backward_data")].ops) == (4 * o, 3 * o)
    assert (v[("lrn", "forward")].ops, v[("lrn", "backward_data")].ops) == ((3 + 4) * o, (2 * 3 + 6) * o)
    assert v[("g", "forward")].ops == o and net.layer("g").out_shape.numel == 3


@pytest.mark.parametrize("layer,field", [
    ({"type": "maxpool", "kernel": 2, "stride": 0}, "stride"),
    ({"type": "avgpool", "kernel": 0}, "kernel"),
    ({"type": "maxpool", "kernel": 2, "padding": -1}, "padding"),
    ({"type": "conv", "out_channels": 2, "kernel": 3, "dilation": 0}, "dilation"),
    ({"type": "conv", "out_channels": 2, "kernel": 3, "padding": [0, 0, -1, 0]}, "padding"),
    ({"type": "conv_transpose", "out_channels": 2, "kernel": 3, "stride": [1, 0]}, "stride"),
    ({"type": "conv_transpose", "out_channels": 2, "kernel": 3, "groups": 0}, "groups"),
    ({"type": "conv_transpose", "out_channels": 2, "kernel": 3, "output_padding": -1}, "output_padding"),
    ({"type": "lrn", "size": 0}, "size"),
    ({"type": "upsample", "scale": 0}, "scale"),
    ({"type": "pad", "pads": [0, -1, 0, 0]}, "pads"),
])
def test_one_field_validator_for_every_layer_kind(layer, field):
    data = {"name": "v", "input": {"channels": 2, "height": 8, "width": 8}, "layers": [{"name": "x", **layer}]}
    with pytest.raises(InputError) as e:
        build_network(data)
    assert field in str(e.value) and "must be >=" in str(e.value) and "\n" not in str(e.value)
