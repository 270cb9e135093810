"""Benchmark: the banked DRAM model (`dram.model: banked`) against its bounds and against the
bandwidth model, in one process.

1. Per preset (one preset channel or stack, 1 GHz): a long read stream (40 refresh intervals, 64 KB
   transfers all queued) as a share of peak bandwidth, next to the refresh-only bound
   1 − (tRFC + tRCD + CL)/tREFI; 64 B reads that each open a new row, rotating over the banks
   (steady state, refresh off) next to the activation bound max(tB, tRRD, tFAW/4) per read; and
   uniformly random 64 B reads (refresh on).
2. ResNet-18 batch 32 on ``edge`` and ``cloud`` with each model: cycles, stall share, DRAM energy,
   activations, row-hit rate, and the wall time of `simulate` (median of N, same process, after
   one warm-up run that also compiles or loads the numba kernels).

Writes benchmarks/results/dram_banked.md.

    .venv/bin/python benchmarks/bench_dram.py [--repeat 3]

(Where: out/benchmarks/ by default; the committed benchmarks/results/ only with --record, see
benchmarks/destination.py.)
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

from asicsim.config.dram_timing import DRAM_TIMINGS
from asicsim.config.hardware import DramConfig, load_hardware
from asicsim.engine import memo
from asicsim.engine.dram import BankedDram, banked_timing
from asicsim.studies.step import simulate
from asicsim.workload.network import load_network
from destination import RECORD_HELP, results_dir  # noqa: E402 (benchmarks/ is sys.path[0] when run)

HERE = Path(__file__).resolve().parent


def preset_rows() -> list[str]:
    rows = []
    for p in DRAM_TIMINGS:
        t = banked_timing(DramConfig(preset=p, model="banked"), 1.0)
        peak = t.peak_bytes_per_time
        chunk = 1 << 16
        n = int(40 * t.t_refi * peak) // chunk * chunk
        d = BankedDram(t)
        end = max(d.access(0.0, a, chunk)[1] for a in range(0, n, chunk))
        stream = n / (end * peak)
        lost = (t.t_rfc + t.t_rcd + t.t_cl) / t.t_refi
        t0 = replace(t, t_refi=0.0)
        stripe = t.row_bytes * t.channels
        m = 800 * t.channels
        d = BankedDram(t0)
        ends = [d.access(0.0, (i % (t.channels * t.banks)) // t.channels * stripe + (i % t.channels) * 64
                         + (i // (t.channels * t.banks)) * stripe * t.banks, 64)[1] for i in range(m)]
        rot = (m - m // 2) * 64 / (max(ends) - max(ends[: m // 2])) / peak
        act_bound = t.t_burst / max(t.t_burst, t.t_rrd, t.t_faw / 4)
        d = BankedDram(t)
        rng = np.random.default_rng(0)
        end = max(d.access(0.0, int(a) * 64, 64)[1] for a in rng.integers(0, 1 << 24, m))
        rnd = m * 64 / end / peak
        rows.append(f"| {p} | {t.channels} × {t.banks} banks, {t.row_bytes} B rows | {peak:.1f} | "
                    f"{stream:.1%} | {1 - lost:.1%} | {rot:.1%} | {act_bound:.1%} | {rnd:.1%} |")
    return rows


def run_rows(repeat: int) -> list[str]:
    net = load_network("resnet18")
    rows = []
    for acc in ("edge", "cloud"):
        base = load_hardware(acc)
        res = {}
        for model in ("bandwidth", "banked"):
            hw = base.model_copy(update={"dram": base.dram.model_copy(update={"model": model})})
            r = simulate(hw, net, 32)                    # warm-up (numba compile / cache load)
            walls = []
            with memo.disabled():                        # time the model, not the memo's lookups
                for _ in range(repeat):
                    t = time.perf_counter()
                    r = simulate(hw, net, 32)
                    walls.append(time.perf_counter() - t)
            res[model] = (r.summary, statistics.median(walls))
        for model, (s, wall) in res.items():
            b = s.get("dram_banked")
            acts = f"{b['activates']:,}" if b else "–"
            hits = f"{b['row_hit_rate']:.2%}" if b else "–"
            rows.append(f"| {acc} | {model} | {s['total_cycles'] / 1e6:,.3f} | "
                        f"{s['stall_cycles'] / s['total_cycles']:.1%} | "
                        f"{s['energy_breakdown_pj']['dram'] / 1e9:,.3f} | {acts} | {hits} | {wall:.2f} | "
                        f"{wall / res['bandwidth'][1]:.2f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--record", action="store_true", help=RECORD_HELP)
    args = ap.parse_args()
    pr = preset_rows()
    rr = run_rows(args.repeat)
    nl = "\n"
    text = f"""# Banked DRAM model

Measured by `.venv/bin/python benchmarks/bench_dram.py --repeat {args.repeat}` on {date.today()},
{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. Model and rules:
`asicsim/engine/dram.py`; device numbers and sources: `asicsim/config/dram_timing.py`.

## Bounds per preset (one preset channel or stack)

| preset | physical channels | peak (GB/s) | read stream | refresh-only bound | 64 B row misses, banks rotating (refresh off) | activation bound max(tB, tRRD, tFAW/4) | 64 B random (refresh on) |
|---|---|---:|---:|---:|---:|---:|---:|
{nl.join(pr)}

Streaming reads reach ≥ 90 % of peak on every preset: the banks hide each other's activates and
only refresh costs bandwidth (HBM's all-bank tRFC = 350 ns every 3.9 µs is the largest loss; per-bank
refresh is not modelled). 64 B reads that each open a row reach the activation bound exactly when
they rotate over the banks; uniformly random ones fall further, since commands issue in order and a
read to a busy bank (tRC = tRAS + tRP) holds up the ones behind it (no FR-FCFS reordering).

## ResNet-18, batch 32, full training step

| accelerator | DRAM model | Mcycles | stall share | DRAM energy (mJ) | activations | row-hit rate | `simulate` wall (s, median) | wall vs bandwidth |
|---|---|---:|---:|---:|---:|---:|---:|---:|
{nl.join(rr)}

The DRAM bytes are the same under both models (mapping is unchanged); the banked model changes
when they arrive (activates, refresh, turnaround, and the controller latency latency_ns − tRCD − CL
instead of the whole preset latency) and adds activate + precharge energy. Speed: the link is
modelled per row segment in numba (`asicsim/engine/dram_kernels.py`), not per burst event.
"""
    res = results_dir(args.record)
    res.mkdir(parents=True, exist_ok=True)
    (res / "dram_banked.md").write_text(text)
    print(f"wrote {res / 'dram_banked.md'}")
    print(text)


if __name__ == "__main__":
    main()
