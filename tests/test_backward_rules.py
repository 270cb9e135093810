"""Backward rules (dfa, bdfa, hybrid) and the sketch update rule in the hardware model: hand-worked
counts, zero multiplies for BDFA, the kernel's own sketch counts, state bytes, the rules table and
bad input (exit 2, one line naming the field)."""
from __future__ import annotations

import json
import math

import pytest

from asicsim.cli.main import main
from asicsim.config.hardware import load_hardware
from asicsim.config.update import UpdateConfig
from asicsim.errors import InputError
from asicsim.engine.energy import array_add_pj
from asicsim.engine.mapping import map_step
from asicsim.kernels.sketch import sketch_counts
from asicsim.studies.compare_rules import common_budget, parse_rules, state_bytes, trained_accuracy
from asicsim.studies.step import simulate
from asicsim.workload.backward import FeedbackOp
from asicsim.workload.lowering import GemmOp, lower_step
from asicsim.workload.network import build_network, load_network
from asicsim.workload.rules import lower_training_step
from asicsim.workload.sketch_rule import SketchOp

B = 8
# LeNet-5 on 28×28: C_last = 10; outputs per sample: conv1 6·28·28, conv2 16·10·10, fc1 120, fc2 84
LENET_OUTS = {"conv1": 6 * 28 * 28, "conv2": 16 * 10 * 10, "fc1": 120, "fc2": 84}


@pytest.fixture(scope="module")
def lenet():
    return load_network("lenet5")


@pytest.fixture(scope="module")
def edge():
    return load_hardware("edge")


def _bwd(table, layer):
    rows = table[(table["layer"] == layer) & (table["phase"] == "backward_data")]
    return rows.iloc[0] if len(rows) else None


def test_dfa_backward_macs_are_b_clast_outputs(lenet, edge):
    t = simulate(edge, lenet, B, UpdateConfig(backward="dfa")).layers
    for layer, outs in LENET_OUTS.items():
        assert _bwd(t, layer)["macs"] == B * 10 * outs          # 376,320 for conv1, 9,600 for fc1, …
    assert _bwd(t, "conv1")["macs"] == 376_320
    assert _bwd(t, "fc3") is None                                # the last layer's error is e itself
    assert _bwd(t, "pool1") is None and _bwd(t, "pool2") is None  # the error skips the pools
    assert _bwd(t, "relu1")["vector_ops"] == B * LENET_OUTS["conv1"]  # f' of conv1's own activation
    # BP's backward-data work for comparison: transposed-weight GEMMs, none for conv1
    bp = simulate(edge, lenet, B).layers
    assert _bwd(bp, "conv1") is None and _bwd(bp, "fc3")["macs"] == B * 10 * 84
    # everything else in the step is unchanged
    for ph in ("forward", "weight_gradient", "update"):
        assert t[t["phase"] == ph]["macs"].sum() == bp[bp["phase"] == ph]["macs"].sum()


def test_bdfa_has_no_multiplies_and_one_bit_feedback(lenet, edge):
    upd = UpdateConfig(backward="bdfa")
    low = lower_training_step(lenet, B, 2, 4, upd)
    fb = [op for op in low.ops if isinstance(op, FeedbackOp)]
    assert {op.layer for op in fb} == set(LENET_OUTS)
    assert all(op.macs == 0 and op.adds == B * 10 * LENET_OUTS[op.layer] for op in fb)
    assert all(op.fb.bytes == math.ceil(10 * LENET_OUTS[op.layer] / 8) for op in fb)
    assert not any(isinstance(op, GemmOp) and op.phase == "backward_data" for op in low.ops)
    mapping = map_step(low, edge)
    mf = [mo for mo in mapping.ops if mo.kind == "bdfa_feedback"]
    assert sum(mo.macs for mo in mf) == 0 and sum(mo.array_adds for mo in mf) == sum(op.adds for op in fb)
    t = simulate(edge, lenet, B, upd).layers
    row = _bwd(t, "conv1")
    assert row["macs"] == 0
    # the PE energy of the feedback is its additions at the [H14] add energy
    assert row["energy_mac_pj"] == pytest.approx(B * 10 * LENET_OUTS["conv1"] * array_add_pj(edge))


def test_feedback_bounds_and_traffic(lenet, edge):
    low = lower_training_step(lenet, B, 2, 4, UpdateConfig(backward="dfa"))
    mapping = map_step(low, edge)
    for op, mo in zip(low.ops, mapping.ops):
        if isinstance(op, FeedbackOp):
            assert mo.compute_cycles >= op.macs / edge.peak_macs_per_cycle
            resident = op.fb.name in mapping.plan.resident
            assert mo.dram_read_bytes >= (0 if resident else op.fb.bytes)
            assert mo.dram_write_bytes == op.dy.bytes
            assert sum(s.count * s.load_bytes for s in mo.steps) == mo.dram_read_bytes
            assert sum(s.count * s.write_bytes for s in mo.steps) == mo.dram_write_bytes


def test_hybrid_is_bp_for_conv_and_dfa_between_fc(lenet, edge):
    t = simulate(edge, lenet, B, UpdateConfig(backward="hybrid")).layers
    bp = simulate(edge, lenet, B).layers
    assert _bwd(t, "conv2")["macs"] == _bwd(bp, "conv2")["macs"]       # BP into the conv stack
    assert _bwd(t, "pool2")["vector_ops"] == _bwd(bp, "pool2")["vector_ops"]
    # fc1 (first FC): its own δ from e·F plus its BP GEMM into conv2's output
    assert _bwd(t, "fc1")["macs"] == B * 10 * 120 + _bwd(bp, "fc1")["macs"]
    assert _bwd(t, "fc2")["macs"] == B * 10 * 84                       # DFA only
    assert _bwd(t, "fc3") is None or _bwd(t, "fc3")["macs"] == 0


def test_hybrid_with_only_a_classifier_fc_equals_bp(edge):
    net = load_network("resnet18")
    low = lower_training_step(net, 2, 2, 4, UpdateConfig(backward="hybrid"))
    assert low == lower_step(net, 2, 2, 4, UpdateConfig())


def test_defaults_lower_exactly_as_before(lenet):
    for upd in (UpdateConfig(), UpdateConfig(rule="sbpca", rank=2)):
        assert lower_training_step(lenet, B, 2, 4, upd) == lower_step(lenet, B, 2, 4, upd)
    assert "backward" not in UpdateConfig().model_dump() and "sketch_method" not in UpdateConfig().model_dump()
    assert UpdateConfig(backward="dfa").model_dump()["backward"] == "dfa"


@pytest.mark.parametrize("projections", ["array", "vector"])
def test_sketch_charges_the_kernel_counts(lenet, edge, projections):
    upd = UpdateConfig(rule="sketch", rank=4, projections=projections)
    low = lower_training_step(lenet, B, 2, 4, upd)
    mapping = map_step(low, edge)
    sk = [(op, mo) for op, mo in zip(low.ops, mapping.ops) if isinstance(op, SketchOp)]
    assert {op.layer for op, _ in sk} == {"conv1", "conv2", "fc1", "fc2", "fc3"}
    for op, mo in sk:
        l = next(x for x in lenet.layers if x.name == op.layer)
        m, n = l.weight_shape
        c = sketch_counts(m, n, 4, B * l.positions)
        assert op.counts == c
        adds = mo.array_adds if mo.unit == "array" else mo.vector_ops - c["sign_mul"] - c["scale_mul"]
        assert adds == c["sketch_adds"] and mo.macs == 0
        if projections == "vector":
            assert mo.array_adds == 0
    # the update expands Ĝ = D̃ᵀX̃: m·n·k MACs per layer, Ĝ never stored
    t = simulate(edge, lenet, B, upd).layers
    up = t[(t["layer"] == "fc1") & (t["phase"] == "update")].iloc[0]
    assert up["macs"] == 120 * 400 * 4
    assert state_bytes(low, upd) == sum(4 * sum(l.weight_shape) * 4 for l in lenet.weighted_layers)


def test_sketch_rank_capped_at_padded_pairs(lenet):
    low = lower_training_step(lenet, 8, 2, 4, UpdateConfig(rule="sketch", rank=64))
    ks = {op.layer: op.k for op in low.ops if isinstance(op, SketchOp)}
    assert ks["fc1"] == 8 and ks["conv1"] == 64      # FC: N = B = 8 pairs → at most 8 rows


def test_state_bytes_hand_count(lenet):
    full = state_bytes(lower_training_step(lenet, B, 2, 4, UpdateConfig()), UpdateConfig())
    g = sum(l.weight_shape[0] * l.weight_shape[1] * 4 for l in lenet.weighted_layers)
    assert full == g
    fb = sum(10 * o for o in LENET_OUTS.values())
    dfa = UpdateConfig(backward="dfa")
    bdfa = UpdateConfig(backward="bdfa")
    assert state_bytes(lower_training_step(lenet, B, 2, 4, dfa), dfa) == g + 2 * fb
    assert state_bytes(lower_training_step(lenet, B, 2, 4, bdfa), bdfa) == g + sum(
        math.ceil(10 * o / 8) for o in LENET_OUTS.values())


def test_trained_accuracy_reads_records(tmp_path):
    for i, acc in enumerate((0.8, 0.9)):
        d = tmp_path / "accuracy_lenet5" / f"dfa_s{i}"
        d.mkdir(parents=True)
        (d / "summary.json").write_text(json.dumps({"network": "lenet5", "update": "full", "rank": None,
                                                    "backward": "dfa", "final_test_accuracy": acc}))
    assert trained_accuracy("lenet5", UpdateConfig(backward="dfa"), tmp_path) == (
        pytest.approx(0.85), 2, "accuracy_lenet5/dfa_s0 accuracy_lenet5/dfa_s1", "mean final accuracy of 2 records")
    assert trained_accuracy("lenet5", UpdateConfig(), tmp_path) == (None, 0, "", "")
    # a learning-rate search run (trained on a split, its rate possibly bad) is not a record
    d = tmp_path / "accuracy_study" / "search" / "dfa_lr0.2"
    d.mkdir(parents=True)
    (d / "summary.json").write_text(json.dumps({"network": "lenet5", "update": "full", "rank": None, "n_val": 100,
                                                "backward": "dfa", "final_test_accuracy": 0.1}))
    assert trained_accuracy("lenet5", UpdateConfig(backward="dfa"), tmp_path)[:2] == (pytest.approx(0.85), 2)


def test_parse_rules():
    base = UpdateConfig(momentum=0.5)
    got = parse_rules("full,sbpca:4,sketch:2,dfa,bdfa,hybrid", base)
    assert [lab for lab, _ in got] == ["full", "sbpca_k4", "sketch_k2", "dfa", "bdfa", "hybrid"]
    assert all(u.momentum == 0.5 for _, u in got)
    assert got[2][1].rule == "sketch" and got[2][1].rank == 2 and got[4][1].backward == "bdfa"


def test_compare_rules_cli(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["compare", "--network", "lenet5", "--batch", "8", "--rules", "full,sbpca:4,sketch:4,dfa,bdfa,hybrid",
                 "--out", str(out)]) == 0
    import pandas as pd
    r = pd.read_csv(out / "rules.csv")
    assert list(r["rule"]) == ["full", "sbpca_k4", "sketch_k4", "dfa", "bdfa", "hybrid"]
    full = r.iloc[0]
    for _, row in r.iterrows():
        assert row["energy_pj"] == pytest.approx(sum(row[f"energy_{p}_pj"] for p in
                                                     ("forward", "backward_data", "weight_gradient", "update")))
    assert r.set_index("rule").loc["dfa", "state_bytes"] > full["state_bytes"]
    s = json.loads((out / "summary.json").read_text())
    assert len(s["rules"]) == 6


NOFC = {"name": "nofc", "input": {"channels": 1, "height": 8, "width": 8},
        "layers": [{"name": "c1", "type": "conv", "out_channels": 4, "kernel": 3},
                   {"name": "r", "type": "relu"},
                   {"name": "c2", "type": "conv", "out_channels": 3, "kernel": 6},
                   {"name": "f", "type": "flatten"}, {"name": "loss", "type": "softmax_ce"}]}


@pytest.mark.parametrize("argv,words", [
    (["compare", "--network", "lenet5", "--rules", "full,magic"], ["--rules", "magic"]),
    (["compare", "--network", "lenet5", "--rules", "sbpca:0"], ["--rules", "sbpca:0"]),
    (["compare", "--network", "lenet5", "--rules", "sketch"], ["--rules", "sketch"]),
    (["compare", "--network", "lenet5", "--rules", "full", "--rank", "4"], ["--rank"]),
    (["compare", "--network", "lenet5", "--rules", "full,magic", "--report"], ["--rules", "magic"]),
    (["compare", "--network", "lenet5", "--rules", "full", "--report", "--batch", "0"], ["--batch", "0"]),
    (["run", "--network", "lenet5", "--update", "sketch", "--apply", "crossbar"], ["--apply", "sketch"]),
    (["run", "--network", "lenet5", "--update", "sketch", "--rank", "0"], ["rank"]),
    (["run", "--network", "NOFC", "--backward", "bdfa"], ["--backward", "bdfa", "FC"]),
    (["run", "--network", "NOFC", "--backward", "hybrid"], ["--backward", "hybrid"]),
    (["compare", "--network", "NOFC", "--rules", "full,bdfa"], ["--rules", "bdfa"]),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, words):
    import yaml
    f = tmp_path / "nofc.yaml"
    f.write_text(yaml.safe_dump(NOFC))
    argv = [str(f) if a == "NOFC" else a for a in argv] + ["--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for w in words:
        assert w in err


def test_nofc_network_runs_dfa(tmp_path):
    net = build_network(NOFC)
    t = simulate(load_hardware("edge"), net, 2, UpdateConfig(backward="dfa")).layers
    assert _bwd(t, "c1")["macs"] == 2 * 3 * 4 * 6 * 6


@pytest.mark.parametrize("upd", [UpdateConfig(backward="dfa"), UpdateConfig(backward="bdfa"),
                                 UpdateConfig(backward="hybrid"), UpdateConfig(rule="sketch", rank=4),
                                 UpdateConfig(rule="sketch", rank=8, projections="vector", sketch_method="fwht")])
def test_step_bounds_hold_for_every_rule(lenet, edge, upd):
    s = simulate(edge, lenet, 16, upd).summary
    assert s["total_cycles"] >= s["macs"] / edge.peak_macs_per_cycle
    assert s["total_cycles"] >= (s["dram_read_bytes"] + s["dram_write_bytes"]) / edge.dram_bytes_per_cycle
    assert s["energy_pj"] == pytest.approx(sum(s["energy_breakdown_pj"].values()))
    again = simulate(edge, lenet, 16, upd)
    assert again.layers.equals(simulate(edge, lenet, 16, upd).layers)


def test_bdfa_feedback_on_the_vector_unit(lenet, edge):
    upd = UpdateConfig(backward="bdfa", projections="vector")
    low = lower_training_step(lenet, B, 2, 4, upd)
    mapping = map_step(low, edge)
    for op, mo in zip(low.ops, mapping.ops):
        if isinstance(op, FeedbackOp):
            assert mo.unit == "vector" and mo.macs == 0 and mo.array_adds == 0
            assert mo.vector_ops == B * 10 * LENET_OUTS[op.layer]
            assert mo.compute_cycles >= mo.vector_ops / edge.vector.lanes


def test_trained_accuracy_prefers_the_study_index(tmp_path):
    """The accuracy study's index (searched rate, 3-seed finals per budget) wins over pooled records,
    at the budget every rule shown has; a broken index is a clear error."""
    rec = tmp_path / "accuracy_lenet5" / "full_old"
    rec.mkdir(parents=True)
    (rec / "summary.json").write_text(json.dumps({"network": "lenet5", "update": "full", "final_test_accuracy": 0.5}))
    sb = {"network": "lenet5", "update": "sbpca", "rank": 4, "sub_batch": 32, "backward": "bp"}
    entries = [{"network": "lenet5", "update": "full", "rank": None, "sub_batch": None, "backward": "bp",
                "epochs": ep, "lr": 0.1, "test_accuracy": {"0": a, "1": a + 0.02}, "folders": [f"f{ep}_0", f"f{ep}_1"]}
               for ep, a in ((2, 0.80), (5, 0.86))] + [sb | {"epochs": 2, "lr": 0.2, "test_accuracy": {"0": 0.7},
                                                           "folders": ["s2"]}]
    idx = tmp_path / "accuracy_study" / "chosen.json"
    idx.parent.mkdir()
    idx.write_text(json.dumps({"entries": entries}))
    full, sbpca = UpdateConfig(), UpdateConfig(rule="sbpca", rank=4, sub_batch=32)
    assert trained_accuracy("lenet5", full, tmp_path) == (
        pytest.approx(0.87), 2, "f5_0 f5_1", "accuracy study: epoch 5, lr 0.1 from its search, mean of 2 seeds")
    assert common_budget("lenet5", [full], tmp_path) == 5
    assert common_budget("lenet5", [full, sbpca], tmp_path) == 2
    assert trained_accuracy("lenet5", full, tmp_path, 2)[:3] == (pytest.approx(0.81), 2, "f2_0 f2_1")
    # sbpca at another rank is not in the index, and has no record either
    assert trained_accuracy("lenet5", UpdateConfig(rule="sbpca", rank=2), tmp_path)[0] is None
    idx.write_text("{not json")
    with pytest.raises(InputError, match="chosen.json.*field 'entries'"):
        trained_accuracy("lenet5", full, tmp_path)
