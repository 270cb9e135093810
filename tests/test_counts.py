"""Hand-checked operation counts of the lowering (independent of the simulator's timing)."""
from __future__ import annotations

import pytest

from asicsim.config.update import UpdateConfig
from asicsim.workload.lowering import GemmOp, VectorOp, lower_step
from asicsim.workload.network import _pair, load_network


def test_resnet18_forward_gmac():
    net = load_network("resnet18")
    low = lower_step(net, 1, 2, 4, phases=("forward",))
    macs = sum(op.macs for op in low.ops if isinstance(op, GemmOp))
    assert abs(macs / 1.814e9 - 1) < 0.005


@pytest.mark.parametrize("net_name", ["resnet18", "mobilenetv2", "lenet5", "alexnet"])
@pytest.mark.parametrize("batch", [1, 8])
def test_weight_gradient_macs_per_layer(net_name, batch):
    """wgrad MACs = B·H_out·W_out·C_out·C_in·kh·kw/groups for conv, B·out·in for linear."""
    net = load_network(net_name)
    low = lower_step(net, batch, 2, 4)
    wg = {op.layer: op for op in low.ops if isinstance(op, GemmOp) and op.phase == "weight_gradient"}
    for l in net.weighted_layers:
        s = l.spec
        if l.kind == "conv":
            kh, kw = _pair(s.kernel)
            want = batch * l.out_shape.h * l.out_shape.w * s.out_channels * l.in_shape.c * kh * kw // s.groups
        else:
            want = batch * s.out_features * l.in_shape.numel
        assert wg[l.name].macs == want, l.name
        # forward and backward-data do the same MACs as weight-gradient
    fwd = {op.layer: op.macs for op in low.ops if isinstance(op, GemmOp) and op.phase == "forward"}
    bwd = {op.layer: op.macs for op in low.ops if isinstance(op, GemmOp) and op.phase == "backward_data"}
    for name, macs in bwd.items():
        assert macs == fwd[name] == wg[name].macs
    first = net.weighted_layers[0].name
    assert first not in bwd            # no δx for the network input


def test_update_element_ops_and_traffic_tensors():
    net = load_network("lenet5")
    for mom, per in ((0.0, 1), (0.9, 2)):
        low = lower_step(net, 4, 2, 4, UpdateConfig(momentum=mom))
        ups = [op for op in low.ops if isinstance(op, VectorOp) and op.phase == "update"]
        assert len(ups) == 5
        for op in ups:
            l = net.layer(op.layer)
            assert op.ops == per * l.params
            names = {t.name for t in op.reads}
            assert f"{l.name}.W" in names and f"{l.name}.G" in names
            assert (f"{l.name}.v" in names) == (mom > 0)


def test_phase_selection_and_order():
    net = load_network("lenet5")
    low = lower_step(net, 2, 2, 4)
    phases = [op.phase for op in low.ops]
    last_fwd = max(i for i, p in enumerate(phases) if p == "forward")
    assert all(p == "forward" for p in phases[: last_fwd + 1])
    only = lower_step(net, 2, 2, 4, phases=("weight_gradient",))
    assert {op.phase for op in only.ops} == {"weight_gradient"}


def test_cli_edge_resnet18_ratio_checks(tmp_path):
    """The default run writes the contract columns and totals consistent with the layer table."""
    import json

    import pandas as pd

    from asicsim.cli.main import main
    out = tmp_path / "r"
    assert main(["run", "--network", "resnet18", "--batch", "2", "--accelerator", "edge", "--out", str(out)]) == 0
    t = pd.read_csv(out / "layers.csv")
    need = ["layer", "phase", "m", "k", "n", "macs", "compute_cycles", "stall_cycles", "total_cycles", "utilization",
            "sram_read_bytes", "sram_write_bytes", "dram_read_bytes", "dram_write_bytes", "energy_pj"]
    assert all(c in t.columns for c in need)
    assert any(c.startswith("energy_sram_") for c in t.columns)
    s = json.loads((out / "summary.json").read_text())
    for k in ("total_cycles", "time_s", "dram_read_bytes", "dram_write_bytes", "sram_read_bytes",
              "sram_write_bytes", "energy_pj", "energy_breakdown_pj", "phases"):
        assert k in s
    assert s["dram_read_bytes"] == t["dram_read_bytes"].sum()
    assert set(s["phases"]) == {"forward", "backward_data", "weight_gradient", "update"}
