"""Trainer breadth: batch-norm, residual add (DAG models), grouped/depthwise conv, and
the backward rules dfa/bdfa/hybrid. Checks against finite differences and closed forms."""
from __future__ import annotations

import numpy as np
import pytest
from test_nn import check_layer, num_grad, sample_idx

from asicsim.errors import InputError
from asicsim.nn import Conv2D, build_model, make_rule
from asicsim.nn.blocks import BatchNorm
from asicsim.nn.feedback import injection_points, make_feedback
from asicsim.workload.network import build_network, load_network


def test_batchnorm_gradients_and_eval_statistics():
    rng = np.random.default_rng(0)
    bn = BatchNorm("bn", 3)
    bn.gamma[:] = rng.standard_normal(3)
    bn.beta[:] = rng.standard_normal(3)
    x = rng.standard_normal((4, 3, 2, 3)) * 2 + 1
    check_layer(bn, x, rng)
    R = rng.standard_normal(x.shape)
    f = lambda: float((bn.forward(x) * R).sum())
    bn.forward(x)
    bn.backward(R)
    for p, g in ((bn.gamma, bn.dgamma), (bn.beta, bn.dbeta)):
        np.testing.assert_allclose(g, num_grad(f, p, [(i,) for i in range(3)]), rtol=1e-6)
    # training output: zero mean, unit (biased) variance per channel before γ, β
    y = (bn.forward(x) - bn.beta) / bn.gamma
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 1, 2)), 1, rtol=1e-4)
    # eval uses the running averages (PyTorch convention: unbiased variance, momentum 0.1)
    fresh = BatchNorm("b2", 3)
    fresh.forward(x)
    n = 4 * 3 * 2
    np.testing.assert_allclose(fresh.running_mean, 0.1 * x.mean(axis=(0, 1, 2)))
    np.testing.assert_allclose(fresh.running_var, 0.9 + 0.1 * x.var(axis=(0, 1, 2)) * n / (n - 1))
    ye = fresh.forward(x, train=False)
    np.testing.assert_allclose(ye, (x - fresh.running_mean) / np.sqrt(fresh.running_var + 1e-5))


@pytest.mark.parametrize("c_in,c_out,groups", [(4, 6, 2), (3, 3, 3)])   # grouped, depthwise
def test_grouped_conv_gradients_and_blocks(c_in, c_out, groups):
    rng = np.random.default_rng(1)
    layer = Conv2D("g", c_in, c_out, (3, 3), (1, 1), (1, 1), True, rng, groups=groups)
    layer.b[:] = rng.standard_normal(c_out)
    x = rng.standard_normal((2, 5, 4, c_in))
    check_layer(layer, x, rng, params=("W", "b"))
    # equals independent convs on the channel groups
    cg, og = c_in // groups, c_out // groups
    y = layer.forward(x)
    for g in range(groups):
        one = Conv2D("o", cg, og, (3, 3), (1, 1), (1, 1), True, rng)
        one.W[:] = layer.W[g * og:(g + 1) * og]
        one.b[:] = layer.b[g * og:(g + 1) * og]
        np.testing.assert_allclose(y[..., g * og:(g + 1) * og], one.forward(x[..., g * cg:(g + 1) * cg]), atol=1e-12)
    assert layer.pairs == groups * 2 * 5 * 4 and layer.W.shape == (c_out, cg * 9)


TINY_RES = {
    "name": "tinyres", "input": {"channels": 2, "height": 6, "width": 6},
    "layers": [
        {"name": "c0", "type": "conv", "out_channels": 4, "kernel": 3, "padding": 1, "bias": False},
        {"name": "bn0", "type": "batchnorm"},
        {"name": "r0", "type": "relu"},
        {"name": "c1", "type": "conv", "out_channels": 4, "kernel": 3, "padding": 1, "groups": 2},
        {"name": "bn1", "type": "batchnorm"},
        {"name": "r1", "type": "relu"},
        {"name": "dw", "type": "conv", "out_channels": 4, "kernel": 3, "padding": 1, "groups": 4, "bias": False},
        {"name": "bn2", "type": "batchnorm"},
        {"name": "add", "type": "add", "inputs": ["bn2", "r0"]},
        {"name": "r2", "type": "relu"},
        {"name": "p", "type": "maxpool", "kernel": 2},
        {"name": "f", "type": "flatten"},
        {"name": "l1", "type": "linear", "out_features": 5},
        {"name": "bnl", "type": "batchnorm"},
        {"name": "r3", "type": "relu"},
        {"name": "l2", "type": "linear", "out_features": 3},
        {"name": "loss", "type": "softmax_ce"},
    ],
}


def test_bp_equals_finite_differences_with_bn_residual_and_groups():
    rng = np.random.default_rng(7)
    model = build_model(build_network(TINY_RES), rng)
    for l in model.norms:
        l.gamma[:] = 1 + 0.3 * rng.standard_normal(l.gamma.shape)
        l.beta[:] = 0.3 * rng.standard_normal(l.beta.shape)
    x = rng.standard_normal((4, 6, 6, 2))
    y = rng.integers(0, 3, 4)
    model.loss(x, y)
    model.backward()
    f = lambda: model.loss(x, y)[0]
    grads = [(l.W, l.weight_grad()) for l in model.weighted] + \
            [(l.b, l.db) for l in model.weighted if l.b is not None]
    grads += [(p, g) for l in model.norms for _, p, g in l.vectors()]
    grads = [(p, g.copy()) for p, g in grads]
    for p, g in grads:
        idx = sample_idx(p, rng, 5)
        np.testing.assert_allclose([g[i] for i in idx], num_grad(f, p, idx), rtol=1e-5, atol=1e-8)


LINEAR2 = {"name": "lin2", "input": {"channels": 1, "height": 3, "width": 3},
           "layers": [{"name": "f", "type": "flatten"},
                      {"name": "fc1", "type": "linear", "out_features": 7},
                      {"name": "fc2", "type": "linear", "out_features": 4},
                      {"name": "loss", "type": "softmax_ce"}]}


@pytest.mark.parametrize("rule", ["dfa", "bdfa", "hybrid"])
def test_dfa_with_transposed_forward_chain_equals_bp(rule):
    """1-hidden-layer linear net: BP's error at fc1 is e·W2, so DFA with B1 = W2 is BP."""
    rng = np.random.default_rng(3)
    net = build_network(LINEAR2)
    a, b = build_model(net, 5), build_model(net, 5)
    fb = make_feedback(rule, b, rng)
    assert list(fb.matrices) == ["fc1"] and fb.matrices["fc1"].shape == (4, 7)
    x = rng.standard_normal((6, 3, 3, 1))
    y = rng.integers(0, 4, 6)
    ra, rb = make_rule("full"), make_rule("full")
    for _ in range(3):
        fb.matrices["fc1"] = b.weighted[1].W.copy()     # the transposed forward chain of e
        a.loss(x, y)
        a.backward()
        b.loss(x, y)
        b.backward(fb)
        for la, lb in zip(a.weighted, b.weighted):
            np.testing.assert_array_equal(la.weight_grad(), lb.weight_grad())
        ra.apply(a.weighted, 0.1)
        rb.apply(b.weighted, 0.1)
    # with a random feedback matrix the hidden update differs, the output layer's does not
    fb2 = make_feedback(rule, b, np.random.default_rng(0))
    b.loss(x, y)
    b.backward(fb2)
    a.loss(x, y)
    a.backward()
    assert not np.allclose(a.weighted[0].weight_grad(), b.weighted[0].weight_grad())
    np.testing.assert_array_equal(a.weighted[1].weight_grad(), b.weighted[1].weight_grad())


def test_dfa_injects_after_the_elementwise_chain_and_bdfa_is_binary():
    model = build_model(load_network("resnet8"), 0)
    ends = injection_points(model)
    assert ends["conv1"] == "relu" and ends["layer1.0.conv2"] == "layer1.0.bn2"
    assert ends["layer2.0.downsample.0"] == "layer2.0.downsample.1" and ends["fc"] == "fc"
    fb = make_feedback("bdfa", model, np.random.default_rng(0))
    assert len(fb.matrices) == 9          # every conv; not the output layer
    for name, B in fb.matrices.items():
        assert B.shape == (10, model.numel[name])
        assert set(np.unique(B * np.sqrt(B.shape[1])).round(12)) == {-1.0, 1.0}
    lenet = build_model(load_network("lenet5"), 0)
    hy = make_feedback("hybrid", lenet, np.random.default_rng(0))
    assert sorted(hy.matrices) == ["relu3", "relu4"]       # fc1, fc2 (after their ReLUs)
    with pytest.raises(InputError, match="hybrid"):
        make_feedback("hybrid", model, np.random.default_rng(0))   # resnet8 has a single FC layer


def test_resnet8_trains_forward_backward_and_simulator_reads_it():
    net = load_network("resnet8")
    model = build_model(net, 0)
    assert [l.name for l in model.weighted] == [l.name for l in net.weighted_layers]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 28, 28, 1))
    model.loss(x, np.array([0, 1, 2]))
    model.backward()
    assert all(l.dp is not None for l in model.weighted)
    assert model.forward(x, train=False).shape == (3, 10)


@pytest.mark.parametrize("update,backward", [("full", "dfa"), ("full", "bdfa"), ("full", "hybrid"),
                                             ("sketch", "bp"), ("sbpca", "hybrid")])
def test_every_rule_is_deterministic(tmp_path, update, backward):
    from asicsim.nn import TrainConfig, train
    cfg = {"network": "lenet5", "dataset": "tiny", "update": update, "backward": backward, "rank": 4, "batch": 32,
           "epochs": 1, "lr": 0.01, "seed": 3, "log_every": 2, "limit_train": 128, "limit_test": 64}
    a = train(TrainConfig(**cfg)).write(tmp_path / "a")
    b = train(TrainConfig(**cfg)).write(tmp_path / "b")
    assert (a / "history.csv").read_bytes() == (b / "history.csv").read_bytes()
    c = train(TrainConfig(**{**cfg, "seed": 4})).write(tmp_path / "c")
    assert (a / "history.csv").read_bytes() != (c / "history.csv").read_bytes()


def test_sketch_rule_is_the_kernel_and_unbiased():
    from asicsim.kernels.sketch import sketch_gradient
    rng = np.random.default_rng(0)
    model = build_model(build_network(LINEAR2), 0)
    model.loss(rng.standard_normal((16, 3, 3, 1)), rng.integers(0, 4, 16))
    model.backward()
    layer = model.weighted[0]
    rule = make_rule("sketch", rank=4)
    rule.setup(model.weighted, np.random.default_rng(9))
    np.testing.assert_array_equal(rule.estimate(layer), sketch_gradient(layer.xp, layer.dp, 4, np.random.default_rng(9)))
    mean = np.mean([rule.estimate(layer) for _ in range(3000)], axis=0)
    G = layer.weight_grad()
    assert np.linalg.norm(mean - G) / np.linalg.norm(G) < 0.1
    assert rule.state_numbers(layer) == 4 * (7 + 9)


def test_cosim_of_a_feedback_rule_on_resnet8_and_lenet5(tmp_path, capsys):
    from asicsim.cli.main import main
    for net, extra in (("lenet5", ["--backward", "bdfa"]), ("resnet8", ["--update", "sketch", "--rank", "2"])):
        out = tmp_path / net
        rc = main(["train", "--network", net, "--dataset", "tiny", "--limit-train", "40", "--limit-test", "20",
                   "--batch", "16", "--lr", "0.01", "--quiet", "--accelerator", "edge", *extra, "--out", str(out)])
        assert rc == 0
        h = (out / "history.csv").read_text().splitlines()
        assert "sim_energy_j" in h[0] and len(h) == 2
