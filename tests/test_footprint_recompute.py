"""Peak DRAM footprint (liveness over the lowered ops), DRAM capacity, and activation recomputation,
against hand counts."""
from __future__ import annotations

import pytest

from asicsim.cli.main import main
from asicsim.config.execution import ExecutionConfig, load_execution
from asicsim.config.hardware import load_hardware_dict, hardware_from_dict
from asicsim.config.update import UpdateConfig
from asicsim.studies.step import simulate
from asicsim.workload.footprint import step_footprint
from asicsim.workload.network import build_network, load_network
from asicsim.workload.rules import lower_training_step

T3 = {"name": "t3", "input": {"channels": 8, "height": 1, "width": 1},
      "layers": [{"name": "fc1", "type": "linear", "out_features": 4}, {"name": "relu", "type": "relu"},
                 {"name": "fc2", "type": "linear", "out_features": 2}, {"name": "loss", "type": "softmax_ce"}]}


def test_three_layer_net_peak_by_hand():
    """Batch 2, 2-byte operands, 4-byte weight gradients. Persistent: fc1.W 4·8·2 = 64, fc1.b 8,
    fc2.W 2·4·2 = 16, fc2.b 4 → 92 B. The peak is fc1's weight-gradient GEMM: live then are the
    input batch x (2·8·2 = 32, stashed since forward), fc1's δ (2·4·2 = 16) and fc1's G being
    written (4·8·4 = 128) → 176 B transient; 268 B in all. (At relu backward, the next candidate:
    x 32 + relu out 16 + relu δ 16 + fc1 δ 16 = 80 B.)"""
    fp = step_footprint(lower_training_step(build_network(T3), 2, 2, 4))
    assert (fp.peak_bytes, fp.weights_bytes, fp.optimizer_state_bytes) == (268, 92, 0)
    assert (fp.stash_bytes, fp.workspace_bytes) == (32, 144)
    assert (fp.peak_layer, fp.peak_phase) == ("fc1", "weight_gradient")


def test_lenet5_peak_by_hand():
    """LeNet-5, batch 2, 2-byte operands, 4-byte weight gradients, default execution. Weights:
    61,706 parameters × 2 B = 123,412 B. The peak is fc1's weight-gradient GEMM; live then:
    stashed activations x 2·1·28·28·2 = 3,136, relu1 out 2·6·28·28·2 = 18,816, pool1 out
    2·6·14·14·2 = 4,704, relu2 out 2·16·10·10·2 = 6,400, pool2 out (= flatten's view) 2·400·2 = 1,600
    → 34,656 B; workspace: fc1's δ 2·120·2 = 480, fc1's G 120·400·4 = 192,000, the δ going back to
    pool2 2·400·2 = 1,600 → 194,080 B. 123,412 + 34,656 + 194,080 = 352,148 B."""
    net = load_network("lenet5")
    fp = step_footprint(lower_training_step(net, 2, 2, 4), net)
    assert (fp.weights_bytes, fp.stash_bytes, fp.workspace_bytes) == (123_412, 34_656, 194_080)
    assert fp.peak_bytes == 352_148 and (fp.peak_layer, fp.peak_phase) == ("fc1", "weight_gradient")


def test_lenet5_weights_and_adam_state_by_hand():
    """LeNet-5 has 61,706 parameters (conv1 156, conv2 2,416, fc1 48,120, fc2 10,164, fc3 850):
    bf16 working weights 123,412 B; AdamW with fp32 master and state adds 3 × 4 B per parameter."""
    net = load_network("lenet5")
    assert net.num_params == 61_706
    ex = load_execution("realistic")
    fp = step_footprint(lower_training_step(net, 32, 2, 4, UpdateConfig(), execution=ex))
    assert fp.weights_bytes == 61_706 * 2
    assert fp.optimizer_state_bytes == 61_706 * 12
    base = step_footprint(lower_training_step(net, 32, 2, 4))
    # the stash at the start of backward: every forward activation a backward op reads, at least
    assert base.peak_bytes >= base.weights_bytes + 32 * (6 * 28 * 28) * 2


def test_capacity_error_and_report(tmp_path, capsys):
    import yaml
    data, _ = load_hardware_dict("edge")
    data["dram"]["capacity_gib"] = 0.001        # 1 MiB: ResNet-18 at batch 32 does not fit
    f = tmp_path / "tiny_dram.yaml"
    f.write_text(yaml.safe_dump(data))
    assert main(["run", "--accelerator", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "dram.capacity_gib" in err and "GiB" in err and "tiny_dram.yaml" in err
    hw = hardware_from_dict(data, str(f))
    ex = ExecutionConfig(name="r", memory={"on_overflow": "report"})
    s = simulate(hw, load_network("resnet18"), 32, execution=ex).summary
    assert s["fits"] is False and s["footprint"]["peak_bytes"] > s["dram_capacity_bytes"] == int(0.001 * 2 ** 30)


def test_capacity_zero_is_refused(tmp_path, capsys):
    import yaml
    data, _ = load_hardware_dict("edge")
    data["dram"]["capacity_gib"] = 0
    f = tmp_path / "zero.yaml"
    f.write_text(yaml.safe_dump(data))
    assert main(["run", "--accelerator", str(f), "--network", "lenet5", "--out", str(tmp_path / "o")]) == 2
    assert "capacity_gib" in capsys.readouterr().err


@pytest.mark.parametrize("every", [2, 3])
def test_recompute_adds_exactly_the_recomputed_forward_macs(every):
    net = load_network("lenet5")
    hw = hardware_from_dict(load_hardware_dict("edge")[0], "edge")
    none = ExecutionConfig(name="n", fusion={"forward_epilogues": True})
    rc = ExecutionConfig(name="r", fusion={"forward_epilogues": True}, recompute={"policy": "every", "every": every})
    a = simulate(hw, net, 16, execution=none)
    b = simulate(hw, net, 16, execution=rc)
    layers = [l.name for l in net.layers if l.kind != "softmax_ce"]
    chosen = {n for i, n in enumerate(layers) if (i + 1) % every != 0}
    rec = b.layers[b.layers.phase == "recompute"]
    copied = set(rec.layer)          # runs whose values some backward op reads (the others need no copy)
    assert copied and copied <= chosen
    fwd = a.layers[(a.layers.phase == "forward") & a.layers.layer.isin(copied)]
    assert b.summary["macs"] - a.summary["macs"] == int(fwd["macs"].sum()) == int(rec["macs"].sum())
    assert int(rec["vector_ops"].sum()) == int(fwd["vector_ops"].sum())
    if every == 3:                   # runs [conv1, relu1], [conv2, relu2], …: conv MACs recomputed
        assert {"conv1", "conv2"} <= copied and int(rec["macs"].sum()) > 0
    assert b.summary["footprint"]["peak_bytes"] < a.summary["footprint"]["peak_bytes"]


def test_recompute_of_an_unknown_layer_exits_2(tmp_path, capsys):
    f = tmp_path / "ex.yaml"
    f.write_text("name: x\nrecompute: {policy: layers, layers: [conv9]}\n")
    assert main(["run", "--network", "lenet5", "--execution", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "conv9" in err and "recompute.layers" in err and "conv1" in err


def test_execution_axes_in_a_study(tmp_path):
    from asicsim.studies.expand import load_study
    from asicsim.studies.sweep import run_sweep
    f = tmp_path / "s.yaml"
    f.write_text("name: ex\nbase: {network: lenet5, batch: 8, execution: realistic}\n"
                 "grid:\n  execution.optimizer.kind: [sgd, adamw]\n  execution.recompute.policy: [none, every]\n"
                 "  dram.capacity_gib: [0.0005, 1]\n"
                 "points: [{execution.memory.on_overflow: report}]\n")
    study = load_study(f)
    assert len(study.points) == 8 and len({p.key for p in study.points}) == 8
    t = run_sweep(study, tmp_path / "o", workers=0, progress=False).table
    assert t["error"].isna().all() and set(t["fits"]) == {True, False}
    adam = t[t["execution.optimizer.kind"] == "adamw"]["footprint_optimizer_state_bytes"]
    sgd = t[t["execution.optimizer.kind"] == "sgd"]["footprint_optimizer_state_bytes"]
    assert (adam.to_numpy() - sgd.to_numpy() == 61_706 * 8).all()      # AdamW's two fp32 moments
    # the default execution keeps a point's hash as it was before executions existed
    g = tmp_path / "d.yaml"
    g.write_text("name: d\nbase: {network: lenet5, batch: 8}\n")
    h = tmp_path / "e.yaml"
    h.write_text("name: d\nbase: {network: lenet5, batch: 8, execution: scalesim}\n")
    assert load_study(g).points[0].key == load_study(h).points[0].key
