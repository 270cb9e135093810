"""Benchmark + record: `asicsim compare --network resnet18 --batch 32 --rank 1,4,16` on `edge` and
`cloud`. Times each command (target < 30 s each), keeps their outputs under
benchmarks/results/compare_resnet18_<acc>/ and writes benchmarks/results/compare.md with the
per-rule totals and per-layer winners that benchmarks/results/compare_reading.md discusses.

    .venv/bin/python benchmarks/bench_compare.py

(Where: out/benchmarks/ by default; the committed benchmarks/results/ only with --record, see
benchmarks/destination.py.)
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
from destination import results_dir  # noqa: E402 (benchmarks/ is sys.path[0] when run)

HERE = Path(__file__).resolve().parent
RES = results_dir()   # benchmarks/results with --record, else out/benchmarks (destination.py)


def main() -> None:
    lines = [f"# `asicsim compare`: ResNet-18, batch 32, ranks 1,4,16 ({date.today()})", "",
             "Produced by `.venv/bin/python benchmarks/bench_compare.py`. wu = weight-gradient + update",
             "phases (the only phases the update rule changes). Ratios are against `full`.", ""]
    for acc in ("edge", "cloud"):
        out = RES / f"compare_resnet18_{acc}"
        cmd = [sys.executable, "-m", "asicsim", "compare", "--accelerator", acc, "--network", "resnet18",
               "--batch", "32", "--rank", "1,4,16", "--report", "--out", str(out)]
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - t
        s = json.loads((out / "summary.json").read_text())
        tot = pd.DataFrame(s["totals"])
        view = pd.DataFrame({
            "rule": tot["rule"], "wu Mcycles": tot["wu_cycles"] / 1e6, "x": tot["wu_cycles_vs_full"],
            "wu DRAM MB": tot["wu_dram_bytes"] / 1e6, "x ": tot["wu_dram_bytes_vs_full"],
            "wu SRAM MB": tot["wu_sram_bytes"] / 1e6, "x  ": tot["wu_sram_bytes_vs_full"],
            "wu energy mJ": tot["wu_energy_pj"] / 1e9, "x   ": tot["wu_energy_pj_vs_full"],
            "step Mcycles": tot["step_cycles"] / 1e6, "step mJ": tot["step_energy_pj"] / 1e9})
        per = pd.read_csv(out / "compare_layers.csv")
        lines += [f"## {acc} — `{' '.join(['asicsim'] + cmd[3:-3])}` ({wall:.1f} s wall, target < 30 s)", "",
                  view.to_markdown(index=False, floatfmt=".3f"), "",
                  "Where SBPCA stops paying (smallest rank tried at which it costs ≥ full):", ""]
        for metric, v in s["stops_paying"].items():
            lines.append(f"- {metric}: stops at rank {v['stops_paying_at_rank']}, "
                         f"pays at smallest rank: {v['pays_at_smallest_rank']}")
        lines += ["", f"Layers favouring each rule (wu energy): {s['layers_favouring']}; "
                      f"by wu cycles: {per['favoured_cycles'].value_counts().to_dict()}", ""]
        cols = ["layer"] + [c for c in per.columns if c.startswith("energy_pj_")] + ["favoured"]
        e = per[cols].copy()
        for c in cols[1:-1]:
            e[c] = e[c] / 1e6
        e.columns = ["layer"] + [c.replace("energy_pj_", "") + " µJ" for c in cols[1:-1]] + ["favoured"]
        lines += ["<details><summary>per layer wu energy</summary>", "", e.to_markdown(index=False, floatfmt=".1f"),
                  "", "</details>", ""]
    (RES / "compare.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
