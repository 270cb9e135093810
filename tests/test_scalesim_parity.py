"""With ideal memory, per-layer compute cycles equal SCALE-Sim v3's "Total Cycles" (peer runs).

The expected numbers are read from SCALE-Sim's own COMPUTE_REPORT.csv files; nothing here is
derived from asicsim's output."""
from __future__ import annotations

import csv

import pytest

from asicsim.studies.step import simulate
from asicsim.workload.topology import (
    hardware_from_scalesim,
    load_scalesim_config,
    load_topology,
)

RUNS = [  # folder, config, dataflow used by the run, topology
    ("r18_scale32_os", "scale.cfg", "os", "conv_nets/Resnet18.csv"),
    ("r18_google256_ws", "google.cfg", "ws", "conv_nets/Resnet18.csv"),
    ("single_scale32_os", "scale.cfg", "os", "conv_nets/test.csv"),
    ("single_scale32_ws", "scale.cfg", "ws", "conv_nets/test.csv"),
    ("single_scale32_is", "scale.cfg", "is", "conv_nets/test.csv"),
    ("single_google256_os", "google.cfg", "os", "conv_nets/test.csv"),
]


def scalesim_cycles(path) -> list[int]:
    with open(path) as fh:
        rows = list(csv.reader(fh))
    head = [h.strip() for h in rows[0]]
    col = head.index("Total Cycles")
    return [int(float(r[col])) for r in rows[1:] if r and r[0].strip()]


def sim_cycles(peer, cfg_name, dataflow, topo, batch=1):
    hw = hardware_from_scalesim(load_scalesim_config(peer / "scalesim" / "configs" / cfg_name))
    hw = hw.model_copy(update={"array": hw.array.model_copy(update={"dataflow": dataflow})})
    net = load_topology(peer / "scalesim" / "topologies" / topo)
    res = simulate(hw, net, batch, phases=("forward",), ideal_memory=True)
    return res.layers, hw


@pytest.mark.parametrize("folder,cfg,dataflow,topo", RUNS)
def test_compute_cycles_equal_scalesim(peer, folder, cfg, dataflow, topo):
    expected = scalesim_cycles(peer / "scalesim_runs" / folder / "COMPUTE_REPORT.csv")
    table, _ = sim_cycles(peer, cfg, dataflow, topo)
    got = [int(round(c)) for c in table["compute_cycles"]]
    assert len(got) == len(expected)
    assert got == expected
    # ideal memory: no stalls, total = compute
    assert (table["stall_cycles"] == 0).all()


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("rows,cols", [(8, 8), (16, 64), (128, 32)])
def test_other_arrays_follow_fold_model(peer, dataflow, rows, cols):
    """Other arrays and dataflows on another topology: a hand-written fold count per layer."""
    from asicsim.engine.systolic import ceil_div

    hw = hardware_from_scalesim(load_scalesim_config(peer / "scalesim" / "configs" / "scale.cfg"))
    hw = hw.model_copy(update={"array": hw.array.model_copy(update={"dataflow": dataflow, "rows": rows, "cols": cols})})
    net = load_topology(peer / "scalesim" / "topologies" / "conv_nets" / "alexnet.csv")
    table = simulate(hw, net, 1, phases=("forward",), ideal_memory=True).layers
    for layer, row in zip(net.layers, table.itertuples()):
        M = layer.out_shape.h * layer.out_shape.w
        N = layer.out_shape.c
        kh, kw = layer.spec.kernel
        K = kh * kw * layer.in_shape.c
        if dataflow == "os":
            want = ceil_div(M, rows) * ceil_div(N, cols) * (K + rows + cols - 2) - 1
        elif dataflow == "ws":
            want = ceil_div(K, rows) * ceil_div(N, cols) * (2 * rows + cols + M - 2) - 1
        else:
            want = ceil_div(K, rows) * ceil_div(M, cols) * (2 * rows + cols + N - 2) - 1
        assert row.compute_cycles == want, layer.name


def test_cli_scalesim_mode(peer, tmp_path):
    from asicsim.cli.main import main
    out = tmp_path / "o"
    rc = main(["run", "--scalesim-config", str(peer / "scalesim/configs/scale.cfg"), "--topology",
               str(peer / "scalesim/topologies/conv_nets/test.csv"), "--phases", "forward",
               "--ideal-memory", "--dataflow", "os", "--out", str(out)])
    assert rc == 0
    expected = scalesim_cycles(peer / "scalesim_runs/single_scale32_os/COMPUTE_REPORT.csv")
    import pandas as pd
    assert pd.read_csv(out / "layers.csv")["compute_cycles"].astype(int).tolist() == expected


def scalesim_sram_reads(path) -> list[tuple[int, int]]:
    with open(path) as fh:
        rows = list(csv.reader(fh))
    head = [h.strip() for h in rows[0]]
    ci, cf = head.index("SRAM IFMAP Reads"), head.index("SRAM Filter Reads")
    return [(int(float(r[ci])), int(float(r[cf]))) for r in rows[1:] if r and r[0].strip()]


@pytest.mark.parametrize("folder,cfg,dataflow,topo", RUNS)
def test_sram_reads_equal_scalesim(peer, folder, cfg, dataflow, topo):
    """Array-side SRAM reads of the ifmap and filter buffers (1-byte words) equal SCALE-Sim's
    DETAILED_ACCESS_REPORT per layer, with ideal memory (one tile per layer, as SCALE-Sim streams)."""
    from asicsim.engine.mapping import map_step
    from asicsim.workload.lowering import lower_step

    hw = hardware_from_scalesim(load_scalesim_config(peer / "scalesim" / "configs" / cfg))
    hw = hw.model_copy(update={"array": hw.array.model_copy(update={"dataflow": dataflow})})
    net = load_topology(peer / "scalesim" / "topologies" / topo)
    low = lower_step(net, 1, hw.array.operand_bytes, hw.array.accumulator_bytes, phases=("forward",))
    mapped = map_step(low, hw, ideal=True)
    got = [(mo.sram_read_bytes["ifmap"], mo.sram_read_bytes["filter"]) for mo in mapped.ops]
    assert got == scalesim_sram_reads(peer / "scalesim_runs" / folder / "DETAILED_ACCESS_REPORT.csv")
