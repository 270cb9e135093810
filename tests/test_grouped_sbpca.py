"""SBPCA on grouped and depthwise convs: per group where the rank can pay (k < min(m, n) of the
group's block), the exact full gradient where it cannot (`asicsim.workload.lowering.sbpca_pays`).
Simulator and trainer follow the same decision."""
from __future__ import annotations

import numpy as np

from asicsim import kernels as K
from asicsim.config.hardware import load_hardware
from asicsim.config.update import UpdateConfig
from asicsim.nn import Conv2D, make_rule
from asicsim.studies.step import simulate
from asicsim.workload.lowering import sbpca_pays
from asicsim.workload.network import build_network, load_network


def test_rank_pays_only_below_the_block_rank():
    assert sbpca_pays(4, 1, 9, 32) is False         # depthwise 1×9 block
    assert sbpca_pays(4, 4, 36, 8) is False         # k = min(m, n): factors cost more than G
    assert sbpca_pays(4, 8, 36, 8) is True
    assert sbpca_pays(16, 10, 84, 1) is True        # ungrouped layers keep SBPCA (rank capped)


def _grouped_net():
    layers = [{"name": "c1", "type": "conv", "out_channels": 16, "kernel": 3, "padding": 1, "bias": False},
              {"name": "g", "type": "conv", "out_channels": 16, "kernel": 3, "padding": 1, "groups": 2, "bias": False},
              {"name": "dw", "type": "conv", "out_channels": 16, "kernel": 3, "padding": 1, "groups": 16, "bias": False},
              {"name": "gap", "type": "global_avgpool"}, {"name": "fc", "type": "linear", "out_features": 10},
              {"name": "loss", "type": "softmax_ce"}]
    return build_network({"name": "grp", "input": {"channels": 3, "height": 8, "width": 8}, "layers": layers})


def test_simulator_depthwise_takes_full_gradient_grouped_keeps_sbpca():
    net, hw, B = _grouped_net(), load_hardware("edge"), 4
    full = simulate(hw, net, B, UpdateConfig()).layers
    sb = simulate(hw, net, B, UpdateConfig(rule="sbpca", rank=4, sub_batch=16)).layers
    row = lambda t, name, ph: t[(t.layer == name) & (t.phase == ph)].iloc[0]
    # depthwise: m = 1 per group, so every weight-gradient/update number equals full's
    for ph in ("weight_gradient", "update"):
        for col in ("macs", "vector_ops", "dram_read_bytes", "dram_write_bytes"):
            assert row(sb, "dw", ph)[col] == row(full, "dw", ph)[col]
    # grouped (2 groups of 8 × 72): SBPCA per group, the kernel's counts times the groups
    c = K.sbpca_counts(8, 72, 4, 16, B * 64)
    assert row(sb, "g", "weight_gradient").macs == 2 * c["proj_macs"]
    assert row(sb, "g", "update").macs == 2 * c["expand_macs"]


def test_mobilenetv2_sbpca_step_is_not_dominated_by_depthwise_streams():
    """The README example: with depthwise layers on the full gradient, SBPCA's weight-gradient
    phase costs no more than a few times full's (it used to be ~10 s of tiny QR streams)."""
    net, hw = load_network("mobilenetv2"), load_hardware("cloud")
    full = simulate(hw, net, 8, UpdateConfig())
    sb = simulate(hw, net, 8, UpdateConfig(rule="sbpca", rank=4, sub_batch=32))
    dw = [l.name for l in net.weighted_layers if getattr(l.spec, "groups", 1) > 1]
    assert dw and all(l.weight_shape[0] == l.spec.groups for l in net.weighted_layers if l.name in dw)
    wg = lambda r: r.layers[r.layers.phase == "weight_gradient"]
    assert (wg(sb).set_index("layer").loc[dw, "macs"] == wg(full).set_index("layer").loc[dw, "macs"]).all()
    assert sb.phases["weight_gradient"]["cycles"] < 10 * full.phases["weight_gradient"]["cycles"]


def _grad_layer(groups, rng):
    layer = Conv2D("g", 8, 8, (3, 3), (1, 1), (1, 1), False, rng, groups=groups)
    x = rng.standard_normal((3, 5, 5, 8))
    layer.forward(x)
    layer.backward(rng.standard_normal((3, 5, 5, 8)), need_dx=False)
    layer.batch = 3
    return layer


def test_trainer_depthwise_sbpca_is_the_exact_gradient():
    rng = np.random.default_rng(0)
    layer = _grad_layer(8, rng)                 # depthwise: 1 × 9 blocks
    rule = make_rule("sbpca", rank=4, sub_batch=16)
    rule.setup([layer], rng)
    np.testing.assert_array_equal(rule.estimate(layer), layer.weight_grad())
    assert rule.state_numbers(layer) == 8 * 9


def test_trainer_grouped_sbpca_runs_one_state_per_group():
    rng = np.random.default_rng(1)
    layer = _grad_layer(2, rng)                 # 2 groups of 4 × 36 at rank 2
    rule = make_rule("sbpca", rank=2, sub_batch=16)
    rule.setup([layer], np.random.default_rng(5))
    G_hat = rule.estimate(layer)
    # independent truth: the same per-group states built from the same seed stream, fed by hand
    r2 = np.random.default_rng(5)
    N = layer.pairs // 2
    for i in range(2):
        st = K.SBPCAState.random(4, 36, 2, r2)
        K.sbpca_stream(st, layer.xp[i * N:(i + 1) * N], layer.dp[i * N:(i + 1) * N, i * 4:(i + 1) * 4], 16)
        np.testing.assert_allclose(G_hat[i * 4:(i + 1) * 4], K.sbpca_expand(st, N), rtol=1e-12)
    # block-diagonal in the (output, input-group) sense: each block has rank ≤ 2
    for i in range(2):
        assert np.linalg.matrix_rank(G_hat[i * 4:(i + 1) * 4]) <= 2
    assert rule.state_numbers(layer) == 2 * 2 * (4 + 36 + 1)
