"""Run-report additions: the network layer table (network.csv) and the busy-interval timeline
(timeline.csv + figure), with the banked DRAM rows; older run folders without these files still
report. The default run's layers.csv and summary.json do not depend on them."""
from __future__ import annotations

import pandas as pd

from asicsim.config.hardware import load_hardware
from asicsim.report.write import write_report
from asicsim.studies.step import simulate
from asicsim.workload.network import load_network
from asicsim.workload.summary import network_table


def test_network_table_counts():
    net = load_network("resnet18")
    t = network_table(net)
    assert list(t["layer"]) == [l.name for l in net.layers]
    assert t["forward_macs_per_sample"].sum() == net.forward_macs(1) == 1_814_073_344
    assert t["params"].sum() == net.num_params
    conv1 = t.iloc[0]
    assert (conv1["input_shape"], conv1["output_shape"], conv1["params"]) == ("3x224x224", "64x112x112", 9408)
    assert t[t.type == "linear"].iloc[0]["output_shape"] == "1000"


def test_run_report_sections(tmp_path):
    hw = load_hardware("edge")
    hw = hw.model_copy(update={"dram": hw.dram.model_copy(update={"model": "banked"})})
    out = tmp_path / "run"
    simulate(hw, load_network("lenet5"), 8, timeline=True).write(out)
    tl = pd.read_csv(out / "timeline.csv")
    assert set(tl.columns) == {"layer", "phase", "resource", "start_cycle", "end_cycle", "busy_cycles"}
    write_report(out)
    md = (out / "report.md").read_text()
    assert "## Network" in md and "| conv1 | conv |" in md and "1x28x28 → 6x28x28" in md
    assert "## Timeline" in md and "](figures/timeline.png)" in md
    assert (out / "figures" / "timeline.svg").exists()
    assert "| DRAM row-hit rate |" in md and "| DRAM row activations |" in md
    assert "timeline.csv" in (out / "index.html").read_text()


def test_old_run_folder_without_new_files_still_reports(tmp_path):
    out = tmp_path / "old"
    r = simulate(load_hardware("edge"), load_network("lenet5"), 4, timeline=True)
    r.write(out)
    (out / "network.csv").unlink()
    (out / "timeline.csv").unlink()
    write_report(out)
    md = (out / "report.md").read_text()
    assert "## Network" not in md and "## Timeline" not in md and "## Roofline" in md
    assert "DRAM row-hit rate" not in md
    assert "dram_banked" not in r.summary
