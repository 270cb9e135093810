"""Energy validation against ZigZag 3.9.1: ResNet-18 conv2_1 and the whole ResNet-18
forward pass at batch 1 on ZigZag's `tpu_like` example, asicsim vs ZigZag per energy level, in
total and in cycles.

Inputs (copies of the shared peer data, MIT, see tests/data/zigzag/README.md):
  tests/data/zigzag/result_conv_tpu.json, result_r18_tpu.json   ZigZag's results
  tests/data/zigzag/resnet18.onnx                                the network both tools read
  models/accelerators/zigzag_tpu_like.yaml                       tpu_like in asicsim's units
Writes benchmarks/results/zigzag_validation.md (the record, with the reading) and
benchmarks/results/zigzag_validation.json (the numbers tests/test_zigzag_energy.py guards).

    .venv/bin/python benchmarks/zigzag_validation.py

(Where: out/benchmarks/ by default; the committed benchmarks/results/ only with --record, see
benchmarks/destination.py.)
"""
from __future__ import annotations

import json
from pathlib import Path

from asicsim.config.hardware import load_hardware
from asicsim.studies.zigzag import LEVELS, Side, as_dict, asicsim_sides, zigzag_side
from asicsim.workload.network import build_network, load_network
from destination import results_dir  # noqa: E402 (benchmarks/ is sys.path[0] when run)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "zigzag"
OUT = results_dir()   # benchmarks/results with --record, else out/benchmarks (destination.py)

# ZigZag's conv_layer.yaml: ResNet-18 conv2_1, 64→64 channels, 56×56 outputs, 3×3, stride 1, no bias
CONV2_1 = {"name": "conv2_1", "input": {"channels": 64, "height": 56, "width": 56},
           "layers": [{"name": "resnet18_conv2_1", "type": "conv", "out_channels": 64, "kernel": 3,
                       "padding": 1, "bias": False}]}


def cases() -> dict[str, dict]:
    """Both cases: ZigZag's side and asicsim's (GEMM ops only, and the whole forward pass)."""
    hw = load_hardware("zigzag_tpu_like")
    out = {}
    for key, net, ref in (("conv2_1", build_network(CONV2_1, "<conv2_1>"), "result_conv_tpu.json"),
                          ("resnet18", load_network(DATA / "resnet18.onnx"), "result_r18_tpu.json")):
        zz = zigzag_side(json.loads((DATA / ref).read_text()))
        gemm, whole = asicsim_sides(hw, net)
        out[key] = {"zigzag": zz, "asicsim_gemm": gemm, "asicsim_all": whole}
    return out


def _pct(a: float, b: float) -> str:
    return f"{(a / b - 1) * 100:+.1f} %" if b else "–"


def _table(c: dict[str, Side]) -> list[str]:
    zz, g, a = c["zigzag"], c["asicsim_gemm"], c["asicsim_all"]
    rows = ["| | ZigZag 3.9.1 | asicsim, GEMM ops | Δ | asicsim, whole forward | Δ |", "|---|---:|---:|---:|---:|---:|"]
    names = {"mac": "MAC", "registers": "PE registers (rf_128B + rf_2B)", "sram": "SRAM (sram_2MB / global)",
             "dram": "DRAM"}
    for lvl in LEVELS:
        rows.append(f"| {names[lvl]} energy (µJ) | {zz.energy_pj[lvl] / 1e6:.3f} | {g.energy_pj[lvl] / 1e6:.3f} | "
                    f"{_pct(g.energy_pj[lvl], zz.energy_pj[lvl])} | {a.energy_pj[lvl] / 1e6:.3f} | "
                    f"{_pct(a.energy_pj[lvl], zz.energy_pj[lvl])} |")
    rows.append(f"| vector unit + static (µJ) | – | {g.energy_pj['other'] / 1e6:.3f} | | {a.energy_pj['other'] / 1e6:.3f} | |")
    rows.append(f"| **total energy (µJ)** | **{zz.total_pj / 1e6:.3f}** | **{g.total_pj / 1e6:.3f}** | "
                f"**{_pct(g.total_pj, zz.total_pj)}** | **{a.total_pj / 1e6:.3f}** | **{_pct(a.total_pj, zz.total_pj)}** |")
    rows.append(f"| **cycles** | **{zz.cycles:,.0f}** | **{g.cycles:,.0f}** | **{_pct(g.cycles, zz.cycles)}** | "
                f"**{a.cycles:,.0f}** | **{_pct(a.cycles, zz.cycles)}** |")
    for what in ("dram_read_bytes", "dram_write_bytes", "sram_read_bytes", "sram_write_bytes"):
        zv, gv, av = (getattr(s, what) for s in (zz, g, a))
        rows.append(f"| {what.replace('_', ' ')} | {zv:,} | {gv:,} | {_pct(gv, zv)} | {av:,} | {_pct(av, zv)} |")
    return rows


def _layers(c: dict[str, Side]) -> list[str]:
    zz, g = c["zigzag"], c["asicsim_gemm"]
    rows = ["| layer | ZigZag µJ | asicsim µJ | Δ | ZigZag cycles (ideal) | asicsim cycles (compute) | Δ | DRAM bytes equal |",
            "|---|---:|---:|---:|---:|---:|---:|:---:|"]
    for name, (ze, zc, zi, zr, zw) in zz.layers.items():
        ge, gc, gi, gr_, gw = g.layers[name]
        rows.append(f"| {name} | {ze / 1e6:.2f} | {ge / 1e6:.2f} | {_pct(ge, ze)} | {zc:,.0f} ({zi:,.0f}) | "
                    f"{gc:,.0f} ({gi:,.0f}) | {_pct(gc, zc)} | {'yes' if (zr, zw) == (gr_, gw) else 'no'} |")
    return rows


READING = """
## Reading: every difference over 10 %, by the modelling choice behind it

**MAC energy: equal** in both cases (same MAC count × 0.04 pJ). **PE registers: within 1 %**
(asicsim charges one weight-register read and one psum read + write per MAC, 0.137 pJ; ZigZag also
counts the register fills and the psum read-outs). **DRAM, GEMM ops of ResNet-18: equal to the
byte** in every layer ({r18_dram_rd:,} B read, {r18_dram_wr:,} B written: every weight, input and
output once; ZigZag's words × 8 B).

1. **SRAM (+{c_sram} conv2_1, +{r_sram} ResNet-18 GEMMs): where partial sums accumulate.** asicsim's
   weight-stationary fold model (SCALE-Sim's) holds one weight per PE per fold, so a layer with
   K = C·FY·FX = 576 runs ⌈576/32⌉ = 18 folds and accumulates its 16-bit partial sums in the ofmap
   buffer: for conv2_1 18 × 3136 × 64 × 2 B = 7,225,344 B written and 17 × 401,408 B = 6,823,936 B
   read back. ZigZag's `tpu_like` mapping keeps C·FY·FX = 18 weights in each PE's 128 B register file
   and accumulates over them in the PE's 2 B psum register, so partial sums reach sram_2MB once.
   Both read the same ifmap bytes from SRAM (3,612,672 B for conv2_1: {c_sram_rd:,} B asicsim − the
   psums and the final output read = ZigZag's I reads, checked in the test). Without the psum traffic
   asicsim's conv2_1 SRAM energy would be {c_sram_nopsum:.3f} µJ vs ZigZag's {c_sram_zz:.3f} µJ.
2. **DRAM, conv2_1 ({c_dram}): weights and padding.** Run alone, conv2_1's 36,864 B of weights fit in the
   weight buffer, and asicsim's step plan keeps persistent weights on chip between training steps
   (`weights+state-on-chip`), so they are not fetched (ZigZag: 4,608 words = 3.226 µJ). ZigZag's
   conv2_1 workload reads a pre-padded 58×58 input (215,296 B); asicsim reads the 56×56 tensor
   (200,704 B) and pads in the address generator. Outputs: both write 200,704 B (18.816 µJ).
3. **Cycles, conv2_1 ({c_cyc}): no overlap of a one-tile layer.** asicsim's tiling search minimises DRAM
   traffic first: conv2_1 is one tile, so the input load (25,088 cycles at 8 B/cycle) precedes and the
   output write-back (25,088) follows the {c_comp:,.0f} compute cycles (SCALE-Sim fold model: 112,896 ideal +
   fill/drain of 36 folds). ZigZag charges the input load (26,912 cycles, padded) and only 64 cycles
   of output offload, overlapping the rest with compute.
4. **Cycles, ResNet-18 ({r_cyc}): conv1's mapping.** ZigZag's `tpu_like` spatial mapping unrolls
   K × C = 32 × 3 for conv1 (96 of 1024 PEs busy: 1,248,163 cycles), while asicsim lowers conv1 by
   im2col to K = C·FY·FX = 147 rows of work ({r_conv1_cyc:,.0f} cycles). The other 20 layers take
   {g_rest:,.0f} asicsim cycles vs ZigZag's {z_rest:,.0f} ({r_rest_pct}), made of two opposite choices:
   asicsim's fold model pays the array's fill and drain on every fold ({g_rest_comp:,.0f} compute cycles
   vs ZigZag's {z_rest_ideal:,.0f} ideal; the 7×7 and 14×14 layers stream only M = 49 or 196 rows per
   fold, so fill/drain is a large share), while it overlaps DRAM transfers with compute through double
   buffering ({g_rest_stall:,.0f} stall cycles) where ZigZag adds {z_rest_onoff:,.0f} cycles of data on-
   and offloading in series.
5. **Whole forward (total {r_all}): element-wise layers.** ZigZag models the 21 conv/GEMM layers only;
   asicsim also runs the bias adds (BN folded into the convs by the export), ReLUs, max-pool,
   residual adds and global pool on the vector unit (0 pJ per op here, as ZigZag has none), each a
   pass through DRAM (asicsim's layer-by-layer convention): {r_extra_dram:.1f} µJ more DRAM energy and
   {r_extra_cyc:,.0f} more cycles.

Per layer, the energy gaps over 10 % are item 1: the psum SRAM traffic grows with ⌈K/32⌉ folds and
matters less where DRAM weight traffic dominates (layer4, fc: +0 to +8 %); the cycle gaps are items 3
and 4 — compare each layer's compute cycles (fill/drain per fold) with ZigZag's ideal, and the rest
(asicsim: DMA not hidden behind compute; ZigZag: on/offloading in series).

Total energy of the like-for-like part (GEMM ops): conv2_1 {c_tot}, ResNet-18 {r_tot}; both gaps are
item 1 (and 2) alone — the levels without a named choice agree to ≤ 1 %.
"""


def realistic_section(r: dict) -> tuple[list[str], dict]:
    """ResNet-18 again with the ``realistic`` execution (fused epilogues, overlapped folds with
    weight preload; widths stay tpu_like's int8/16-bit, a forward pass optimises nothing)."""
    hw = load_hardware("zigzag_tpu_like")
    net = load_network(DATA / "resnet18.onnx")
    gemm, whole = asicsim_sides(hw, net, execution="realistic")
    rz, rg, ra = r["zigzag"], r["asicsim_gemm"], r["asicsim_all"]
    vec_rd = whole.dram_read_bytes - gemm.dram_read_bytes
    vec_wr = whole.dram_write_bytes - gemm.dram_write_bytes
    cmd = "python benchmarks/zigzag_validation.py --record"
    rows = ["", "## ResNet-18 with the `realistic` execution", "",
            f"Command: `{cmd}` (this section: `asicsim_sides(hw, net, execution=\"realistic\")` in",
            "`asicsim/studies/zigzag.py`; the tables above use the default `scalesim` execution).",
            "Fusion and the fold schedule apply; widths stay tpu_like's (int8 operands, 16-bit psums, as",
            "ZigZag's workload) and a forward pass stashes nothing (ZigZag models inference).", "",
            "| | ZigZag 3.9.1 | scalesim | Δ | realistic | Δ |", "|---|---:|---:|---:|---:|---:|",
            f"| energy, GEMM ops (µJ) | {rz.total_pj / 1e6:.3f} | {rg.total_pj / 1e6:.3f} | {_pct(rg.total_pj, rz.total_pj)} | "
            f"{gemm.total_pj / 1e6:.3f} | {_pct(gemm.total_pj, rz.total_pj)} |",
            f"| energy, whole forward (µJ) | {rz.total_pj / 1e6:.3f} | {ra.total_pj / 1e6:.3f} | {_pct(ra.total_pj, rz.total_pj)} | "
            f"{whole.total_pj / 1e6:.3f} | {_pct(whole.total_pj, rz.total_pj)} |",
            f"| DRAM energy, whole forward (µJ) | {rz.energy_pj['dram'] / 1e6:.3f} | {ra.energy_pj['dram'] / 1e6:.3f} | "
            f"{_pct(ra.energy_pj['dram'], rz.energy_pj['dram'])} | {whole.energy_pj['dram'] / 1e6:.3f} | "
            f"{_pct(whole.energy_pj['dram'], rz.energy_pj['dram'])} |",
            f"| SRAM energy, whole forward (µJ) | {rz.energy_pj['sram'] / 1e6:.3f} | {ra.energy_pj['sram'] / 1e6:.3f} | "
            f"{_pct(ra.energy_pj['sram'], rz.energy_pj['sram'])} | {whole.energy_pj['sram'] / 1e6:.3f} | "
            f"{_pct(whole.energy_pj['sram'], rz.energy_pj['sram'])} |",
            f"| cycles, GEMM ops | {rz.cycles:,.0f} | {rg.cycles:,.0f} | {_pct(rg.cycles, rz.cycles)} | {gemm.cycles:,.0f} | "
            f"{_pct(gemm.cycles, rz.cycles)} |",
            f"| cycles, whole forward | {rz.cycles:,.0f} | {ra.cycles:,.0f} | {_pct(ra.cycles, rz.cycles)} | {whole.cycles:,.0f} | "
            f"{_pct(whole.cycles, rz.cycles)} |",
            f"| DRAM bytes (read + write), whole forward | {rz.dram_read_bytes + rz.dram_write_bytes:,} | "
            f"{ra.dram_read_bytes + ra.dram_write_bytes:,} | | {whole.dram_read_bytes + whole.dram_write_bytes:,} | |",
            "",
            "Reading. **GEMM-only energy is unchanged** "
            f"({_pct(gemm.total_pj, rz.total_pj)}): fusion moves no array work and the fold schedule changes",
            "time, not accesses (tpu_like has no leakage), so the like-for-like gap is still item 1 — the",
            "16-bit partial sums of the fold model accumulating in the global SRAM. **The whole forward",
            f"pass drops from {_pct(ra.total_pj, rz.total_pj)} to {_pct(whole.total_pj, rz.total_pj)}**: bias and ReLU run on the conv",
            "output tiles and residual adds (+ ReLU) on the second conv of each block, so those",
            f"activations never reach DRAM ({(ra.energy_pj['dram'] - whole.energy_pj['dram']) / 1e6:.1f} µJ of DRAM energy saved). "
            f"What stays above the GEMM ops — {vec_rd:,} B read and {vec_wr:,} B written,",
            f"{(whole.energy_pj['dram'] - gemm.energy_pj['dram']) / 1e6:.1f} µJ of DRAM energy — is what fusion cannot remove:",
            "the max-pool after conv1 and the global pool (not epilogues: a window or a reduction over",
            "the whole map), and the residual adds' shortcut inputs (read back from DRAM: the block's input",
            "was written before the two convs ran). ZigZag models none of these layers. **Cycles**:",
            f"overlapped folds take the GEMM ops from {rg.cycles:,.0f} to {gemm.cycles:,.0f} cycles ({_pct(gemm.cycles, rz.cycles)} vs",
            "ZigZag): fill/drain once per tile instead of once per fold brings the compute near ZigZag's",
            "ideal count, while asicsim still hides DRAM transfers behind compute that ZigZag charges in",
            "series, so asicsim is now faster than ZigZag's estimate on the like-for-like part.",
            ]
    return rows, {"asicsim_gemm": as_dict(gemm), "asicsim_all": as_dict(whole)}


def main() -> None:
    res = cases()
    c, r = res["conv2_1"], res["resnet18"]
    cz, cg = c["zigzag"], c["asicsim_gemm"]
    rz, rg, ra = r["zigzag"], r["asicsim_gemm"], r["asicsim_all"]
    hw = load_hardware("zigzag_tpu_like")
    gl = hw.sram["global"]
    psum_w, psum_r = 18 * 401_408, 17 * 401_408
    c_nopsum = cg.energy_pj["sram"] - psum_w * gl.write_pj_per_byte - psum_r * gl.read_pj_per_byte
    rest_z = rz.cycles - rz.layers["conv1"][1]
    rest_g = rg.cycles - rg.layers["conv1"][1]
    lines = ["# Energy validation against ZigZag 3.9.1 (`tpu_like`, batch 1, forward)", "",
             "Produced by `benchmarks/zigzag_validation.py` (numbers also in `zigzag_validation.json`,",
             "guarded by `tests/test_zigzag_energy.py`). Hardware: `models/accelerators/zigzag_tpu_like.yaml`",
             "(ZigZag's per-access energies converted to asicsim's units, see its header). Network: the",
             "ResNet-18 ONNX file ZigZag ships (`tests/data/zigzag/resnet18.onnx`), read by asicsim's ONNX",
             "importer; conv2_1 as ZigZag's `conv_layer.yaml` (64→64, 56×56, 3×3, int8, 16-bit psums).",
             "\"GEMM ops\": asicsim's array work only, the part ZigZag models; \"whole forward\": also the",
             "vector-unit layers. ZigZag's reference: conv2_1 68.29 µJ, 139,872 cycles; ResNet-18",
             "1.860 mJ, 4.106 M cycles.", "", "## ResNet-18 conv2_1", ""] + _table(c) + [
             "", "## ResNet-18 (ZigZag's ONNX: 20 convs + fc, BN folded)", ""] + _table(r) + [
             "", "### Per layer (GEMM ops)", ""] + _layers(r)
    lines += READING.format(
        r18_dram_rd=rg.dram_read_bytes, r18_dram_wr=rg.dram_write_bytes,
        c_sram=_pct(cg.energy_pj["sram"], cz.energy_pj["sram"]).lstrip("+"),
        r_sram=_pct(rg.energy_pj["sram"], rz.energy_pj["sram"]).lstrip("+"),
        c_sram_rd=cg.sram_read_bytes, c_sram_nopsum=c_nopsum / 1e6, c_sram_zz=cz.energy_pj["sram"] / 1e6,
        c_dram=_pct(cg.energy_pj["dram"], cz.energy_pj["dram"]), c_cyc=_pct(cg.cycles, cz.cycles),
        c_comp=cg.compute_cycles,
        r_cyc=_pct(rg.cycles, rz.cycles), r_conv1_cyc=rg.layers["conv1"][1],
        r_rest_pct=_pct(rest_g, rest_z), g_rest=rest_g, z_rest=rest_z,
        g_rest_comp=rg.compute_cycles - rg.layers["conv1"][2], z_rest_ideal=rz.compute_cycles - rz.layers["conv1"][2],
        g_rest_stall=rest_g - (rg.compute_cycles - rg.layers["conv1"][2]),
        z_rest_onoff=rest_z - (rz.compute_cycles - rz.layers["conv1"][2]), r_all=_pct(ra.total_pj, rz.total_pj),
        r_extra_dram=(ra.energy_pj["dram"] - rg.energy_pj["dram"]) / 1e6, r_extra_cyc=ra.cycles - rg.cycles,
        c_tot=_pct(cg.total_pj, cz.total_pj), r_tot=_pct(rg.total_pj, rz.total_pj)).splitlines()
    real_rows, real_record = realistic_section(r)
    lines += real_rows
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "zigzag_validation_realistic.json").write_text(json.dumps(real_record, indent=1, sort_keys=True) + "\n")
    (OUT / "zigzag_validation.md").write_text("\n".join(lines) + "\n")
    record = {k: {side: as_dict(s) for side, s in v.items()} for k, v in res.items()}
    (OUT / "zigzag_validation.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    print((OUT / "zigzag_validation.md").read_text())


if __name__ == "__main__":
    main()
