"""The execution spec: default byte-identity, optimizer state and ops, fusion hand counts, fold
schedule bounds, bad input."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import asicsim
from asicsim.config.execution import ExecutionConfig, as_execution, load_execution
from asicsim.config.hardware import load_hardware
from asicsim.config.update import UpdateConfig
from asicsim.engine.systolic import gemm_compute_cycles, gemm_compute_cycles_folds
from asicsim.errors import InputError
from asicsim.studies.step import simulate
from asicsim.workload.fusion import stash_bytes
from asicsim.workload.lowering import VectorOp
from asicsim.workload.network import build_network, load_network
from asicsim.workload.optimizer import ops_per_param, state_tensors
from asicsim.workload.rules import lower_training_step

SMALL = {"name": "small", "input": {"channels": 2, "height": 8, "width": 8}, "layers": [
    {"name": "conv1", "type": "conv", "out_channels": 4, "kernel": 3, "padding": 1},
    {"name": "relu1", "type": "relu"},
    {"name": "conv2", "type": "conv", "out_channels": 4, "kernel": 3, "padding": 1},
    {"name": "relu2", "type": "relu"},
    {"name": "flat", "type": "flatten"},
    {"name": "fc", "type": "linear", "out_features": 10},
    {"name": "loss", "type": "softmax_ce"}]}


def _ex(**kw) -> ExecutionConfig:
    return as_execution({"name": "test", **kw})


def test_default_execution_is_todays_step_byte_for_byte():
    hw, net = load_hardware("edge"), load_network("lenet5")
    a = simulate(hw, net, 8)
    b = simulate(hw, net, 8, execution="scalesim")
    assert "execution" not in b.summary and json.dumps(a.summary) == json.dumps(b.summary)
    assert a.layers.equals(b.layers)
    assert load_execution("scalesim").is_default and not load_execution("realistic").is_default


def test_adam_state_bytes_and_ops_per_parameter():
    net = load_network("lenet5")
    ex = _ex(optimizer={"kind": "adam"}, precision={"optimizer_state_bits": 32})
    low = lower_training_step(net, 4, 2, 4, UpdateConfig(), execution=ex)
    upd = [o for o in low.ops if o.phase == "update"]
    params = sum(l.params for l in net.layers if l.is_weighted)
    state = {t.name: t for o in upd for t in o.reads if t.name.endswith((".adam_m", ".adam_v"))}
    assert state_tensors("adam") == 2
    assert sum(t.bytes for t in state.values()) == 2 * params * 4
    # m: mul+FMA, v: g·g, mul, FMA, bias correction 2, sqrt, +eps, divide, final FMA = 11
    assert ops_per_param("adam") == 11 and ops_per_param("adamw", weight_decay=0.05) == 12
    assert sum(o.ops for o in upd) == 11 * params
    assert ops_per_param("sgd") == 1 and ops_per_param("momentum") == 2 and ops_per_param("nesterov") == 3
    assert ops_per_param("lamb") == 13 and ops_per_param("lars") == 5
    assert ops_per_param("adam", loss_scaling="dynamic", master_copy=True) == 14


def test_master_weights_add_the_cast_traffic():
    net = load_network("lenet5")
    ex = _ex(optimizer={"kind": "sgd"}, precision={"compute_bits": 16, "master_weight_bits": 32})
    low = lower_training_step(net, 4, 2, 4, UpdateConfig(), execution=ex)
    op = next(o for o in low.ops if o.phase == "update" and o.layer == "fc1")
    w = 84 * 0 + 120 * 400          # fc1: 400 → 120 weights
    names = {t.name: t.bytes for t in op.writes}
    assert names["fc1.Wmaster"] == (w + 120) * 4 and names["fc1.W"] == w * 2 and names["fc1.b"] == 120 * 2
    assert op.ops == (w + 120) * 2     # the SGD FMA and the cast per parameter


def test_legacy_momentum_is_the_momentum_optimizer_and_conflicts_are_refused():
    net = load_network("lenet5")
    legacy = lower_training_step(net, 4, 2, 4, UpdateConfig(momentum=0.9))
    new = lower_training_step(net, 4, 2, 4, UpdateConfig(), execution=_ex(optimizer={"kind": "momentum"}))
    ops = lambda low: sum(o.ops for o in low.ops if o.phase == "update")
    assert ops(legacy) == ops(new)
    with pytest.raises(InputError, match="momentum"):
        lower_training_step(net, 4, 2, 4, UpdateConfig(momentum=0.9), execution=_ex(optimizer={"kind": "adam"}))


def test_sbpca_composes_with_adam_state_on_the_dense_gradient():
    net = load_network("lenet5")
    low = lower_training_step(net, 4, 2, 4, UpdateConfig(rule="sbpca", rank=2),
                              execution=_ex(optimizer={"kind": "adam"}))
    op = next(o for o in low.ops if o.phase == "update" and isinstance(o, VectorOp) and o.layer == "fc1")
    m = next(t for t in op.reads if t.name == "fc1.adam_m")
    assert m.elems == 120 * 400 + 120 and op.kind == "adam"


def test_fused_forward_bytes_are_unfused_minus_the_fused_activations_round_trips():
    hw, net = load_hardware("edge"), build_network(SMALL)
    B = 4
    base = simulate(hw, net, B, ideal_memory=True, execution=_ex())
    fused = simulate(hw, net, B, ideal_memory=True, execution=_ex(fusion={"forward_epilogues": True}))
    fwd = lambda r: int(r.layers[r.layers.phase == "forward"][["dram_read_bytes", "dram_write_bytes"]].sum().sum())
    y = B * 4 * 8 * 8 * 2        # one conv output, bf16
    fc = B * 10 * 2
    # conv + bias + relu: the raw and the biased conv output each skip a write and a read;
    # fc + bias: the raw fc output skips a write and a read (softmax is not an epilogue)
    assert fwd(base) - fwd(fused) == 2 * (2 * y) + 2 * (2 * y) + 2 * fc
    # the relu outputs are stashed (read by relu backward and the next layer's weight gradient)
    st = fused.summary["stash_bytes"]
    assert st["relu1"] == y and st["relu2"] == y


def test_bn_statistics_fused_saves_one_read_of_the_conv_output():
    hw = load_hardware("edge")
    spec = json.loads(json.dumps(SMALL))
    spec["layers"].insert(1, {"name": "bn1", "type": "batchnorm"})
    net = build_network(spec)
    run = lambda s: simulate(hw, net, 4, ideal_memory=True, execution=_ex(fusion={"bn_statistics": s}))
    bn = lambda r: int(r.layers[(r.layers.layer == "bn1") & (r.layers.phase == "forward")]["dram_read_bytes"].sum())
    assert bn(run("extra_pass")) - bn(run("fused")) == 4 * 4 * 8 * 8 * 2


def test_backward_fusion_keeps_the_relu_delta_on_chip():
    hw, net = load_hardware("edge"), build_network(SMALL)
    off = simulate(hw, net, 4, ideal_memory=True, execution=_ex())
    on = simulate(hw, net, 4, ideal_memory=True, execution=_ex(fusion={"backward": True}))
    dram = lambda r: int(r.layers[r.layers.phase == "backward_data"][["dram_read_bytes", "dram_write_bytes"]].sum().sum())
    y = 4 * 4 * 8 * 8 * 2
    # relu1's δ (made by conv2's backward-data GEMM) is masked on the GEMM's tiles: no write, no read
    assert dram(off) - dram(on) == 2 * y


@pytest.mark.parametrize("df,m,k,n,default,overlap,preload", [
    ("ws", 10, 8, 8, 79, 49, 67),     # folds 4, stream M=10, fd 2·4+4−2 = 10, preload hides R = 4
    ("os", 10, 8, 8, 83, 53, 83),     # folds 3·2 = 6, stream K=8, fd 6; os has nothing to preload
    ("is", 10, 8, 8, 107, 57, 87),    # folds 2·3 = 6, stream N=8, fd 10: 6·18−1, 48+10−1, 6·14+4−1
])
def test_fold_options_on_hand_cases(df, m, k, n, default, overlap, preload):
    R = C = 4
    assert gemm_compute_cycles(df, m, k, n, R, C) == default
    assert gemm_compute_cycles_folds(df, m, k, n, R, C) == default
    assert gemm_compute_cycles_folds(df, m, k, n, R, C, overlap=True) == overlap
    assert gemm_compute_cycles_folds(df, m, k, n, R, C, preload=True) == preload
    mac_bound = m * k * n / (R * C)
    for c in (overlap, preload, gemm_compute_cycles_folds(df, m, k, n, R, C, True, True)):
        assert mac_bound <= c + 1 <= default + 1


def test_overlapped_folds_in_the_step_lie_between_the_bounds():
    hw, net = load_hardware("edge"), load_network("lenet5")
    base = simulate(hw, net, 8, execution=_ex())
    ov = simulate(hw, net, 8, execution=_ex(folds={"overlap": True, "weight_preload": True}))
    arr = lambda r: r.layers[r.layers.macs > 0]
    assert (arr(ov)["compute_cycles"].to_numpy() <= arr(base)["compute_cycles"].to_numpy()).all()
    assert ov.summary["compute_cycles"] < base.summary["compute_cycles"]
    mac_bound = arr(ov)["macs"] / (hw.array.rows * hw.array.cols)
    assert (arr(ov)["compute_cycles"] + 1 >= mac_bound).all()


def test_api_and_realistic_preset_report_the_execution():
    r = asicsim.simulate(network="lenet5", accelerator="edge", batch=8, execution="realistic")
    assert r.summary["execution"]["name"] == "realistic" and r.summary["execution"]["optimizer"]["kind"] == "adamw"
    assert sum(r.summary["stash_bytes"].values()) > 0


@pytest.mark.parametrize("body,field,value", [
    ("optimizer: {kind: adagrad}", "optimizer.kind", "adagrad"),
    ("precision: {compute_bits: -16}", "precision.compute_bits", "-16"),
    ("fusion: {bn_statistics: later}", "fusion.bn_statistics", "later"),
    ("folds: {overlap: true, warp: 2}", "folds.warp", ""),
])
def test_bad_execution_files_exit_2_with_one_line(tmp_path, body, field, value):
    f = tmp_path / "ex.yaml"
    f.write_text(f"name: bad\n{body}\n")
    p = subprocess.run([sys.executable, "-m", "asicsim", "run", "--network", "lenet5", "--batch", "2",
                        "--execution", str(f), "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert p.returncode == 2, p.stderr
    err = p.stderr.strip()
    assert len(err.splitlines()) == 1 and str(f) in err and field in err and value in err


def test_cli_run_and_compare_name_the_execution(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "asicsim", *a], capture_output=True, text=True)
    p = run("run", "--network", "lenet5", "--batch", "2", "--execution", "realistic", "--out", str(tmp_path / "r"))
    assert p.returncode == 0, p.stderr
    assert "execution: realistic (fusion: forward epilogues, backward" in p.stdout
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert s["execution"]["precision"]["master_weight_bits"] == 32
    p = run("run", "--network", "lenet5", "--batch", "2", "--out", str(tmp_path / "d"))
    assert "execution: scalesim" in p.stdout
    assert "execution" not in json.loads((tmp_path / "d" / "summary.json").read_text())
    p = run("compare", "--network", "lenet5", "--batch", "2", "--rank", "2", "--execution", "realistic",
            "--out", str(tmp_path / "c"))
    assert p.returncode == 0, p.stderr
    assert json.loads((tmp_path / "c" / "summary.json").read_text())["execution"]["name"] == "realistic"


def test_sketch_rule_composes_with_the_execution_optimizer():
    net = load_network("lenet5")
    low = lower_training_step(net, 4, 2, 4, UpdateConfig(rule="sketch", rank=2),
                              execution=_ex(optimizer={"kind": "adam"}))
    upd = [o for o in low.ops if o.phase == "update" and o.layer == "fc1"]
    assert [type(o).__name__ for o in upd] == ["GemmOp", "VectorOp"]     # Ĝ expanded, then Adam on it
    assert upd[1].kind == "adam" and upd[1].ops == 11 * (120 * 400 + 120)


def test_gemm_epilogues_are_hidden_behind_the_gemm_cycles():
    hw, net = load_hardware("edge"), build_network(SMALL)
    B = 4
    row = lambda r: r.layers[(r.layers.layer == "relu1") & (r.layers.phase == "forward")].iloc[0]
    off = simulate(hw, net, B, ideal_memory=True, execution=_ex())
    on = simulate(hw, net, B, ideal_memory=True, execution=_ex(fusion={"forward_epilogues": True}))
    elems = B * 4 * 8 * 8
    assert row(off)["compute_cycles"] == -(-elems // hw.vector.lanes)
    # conv1's GEMM runs ≥ 256 stream cycles, far more than bias + relu need on the vector unit
    assert row(on)["compute_cycles"] == 0 and row(on)["vector_ops"] == row(off)["vector_ops"]
