"""Before/after of the model changes the silicon validation led to, on the rows they moved.

Each change is undone in a copy of the preset or execution it lives in (the "before"), and the
affected rows of benchmarks/validation/measurements.csv are re-simulated both ways:

- row-stationary scratch-pad energy: before = the systolic default of 0.15 pJ/MAC of registers;
- batch norm with running statistics (the `inference` execution): before = `extra_pass`;
- a TPU v3 core's two MXUs as one 128×128 array at 1.88 GHz: before = one 128×256 array at 0.94 GHz
  (vector lanes and buffer bytes per cycle at that clock);
- run-length coding of activations on Eyeriss's DRAM link, priced with the network's measured zero
  shares: before = `activation_codec: none` (raw 16-bit words);
- Eyeriss single-buffered (load, compute and write-back of a tile one after another; tiles take
  one slot of the global buffer): before = `buffering: double`;
- Eyeriss's weights streamed from DRAM to the filter scratch pads for every tile, which keep
  nothing between tiles: before = `retains: true` on the pads (weights kept on chip when they fit);
- Eyeriss's tiles chosen for time (compute + DRAM transfer) rather than for the least DRAM bytes:
  before = `mapping_objective: traffic`;
- the TPU v4 core's vector unit with its two ALUs per lane and sublane, and its vector memory with
  the v3 core's bandwidth per MXU: before = 256 lanes and 512 bytes per model cycle (the v3 core's
  per-core widths, half of each per MXU);
- Eyeriss's default energies scaled from 45 nm, 0.9 V to its 65 nm node at 1.0 V
  (`technology`, Stillmaker & Baas 2017): before = no `technology` (the 45 nm defaults).

Each "before" undoes one change on today's presets, so the rows show what that change alone does.

Writes validation_changes.md (out/benchmarks/ by default, benchmarks/results/ with --record).

    .venv/bin/python benchmarks/validation_changes.py [--record]
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from asicsim.config.execution import load_execution
from asicsim.config.hardware import hardware_from_dict, load_hardware_dict
from asicsim.outputs import write_text
from asicsim.studies import validation as V
from destination import results_dir  # noqa: E402 (benchmarks/ is sys.path[0] when run)

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "benchmarks" / "validation" / "measurements.csv"


def _variant(data: dict, edit, path: Path) -> Path:
    """``data`` with ``edit`` applied, written as YAML to ``path`` (a scratch file)."""
    edit(data)
    path.write_text(yaml.safe_dump(data))
    return path


def _rs_registers(d):
    d["array"]["register_pj_per_mac"] = 0.15


def _mxu_256(d):
    d["array"].update(cols=256, clock_ghz=0.94)
    d["vector"]["lanes"] = 1024
    d["sram"]["vmem"]["bytes_per_cycle"] = 2048


def _no_codec(d):
    d["dram"]["activation_codec"] = "none"


def _double_buffered(d):
    d["buffering"] = "double"


def _pads_retain(d):
    d["sram"]["filter_spads"]["retains"] = True


def _least_traffic(d):
    d["mapping_objective"] = "traffic"


def _v4_as_v3_core(d):
    d["vector"]["lanes"] = 256
    d["sram"]["vmem"]["bytes_per_cycle"] = 512


def _node_45nm(d):
    d.pop("technology")


def _bn_extra_pass(d):
    d["fusion"]["bn_statistics"] = "extra_pass"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp))


def run(tmp: Path) -> None:
    rows = V.load_measurements(CSV)
    eyeriss = _variant(load_hardware_dict("eyeriss_v1")[0], _rs_registers, tmp / "eyeriss_v1.yaml")
    raw_link = _variant(load_hardware_dict("eyeriss_v1")[0], _no_codec, tmp / "eyeriss_raw.yaml")
    overlapped = _variant(load_hardware_dict("eyeriss_v1")[0], _double_buffered, tmp / "eyeriss_double.yaml")
    retained = _variant(load_hardware_dict("eyeriss_v1")[0], _pads_retain, tmp / "eyeriss_retain.yaml")
    by_traffic = _variant(load_hardware_dict("eyeriss_v1")[0], _least_traffic, tmp / "eyeriss_traffic.yaml")
    at_45nm = _variant(load_hardware_dict("eyeriss_v1")[0], _node_45nm, tmp / "eyeriss_45nm.yaml")
    v3_256 = _variant(load_hardware_dict("tpu_v3_core")[0], _mxu_256, tmp / "tpu_v3_core.yaml")
    v4_before = _variant(load_hardware_dict("tpu_v4_core")[0], _v4_as_v3_core, tmp / "tpu_v4_core.yaml")
    for variant in (v3_256, v4_before):
        hardware_from_dict(yaml.safe_load(variant.read_text()))   # the variants are valid presets
    bn_before = _variant(load_execution("inference").model_dump(mode="json"), _bn_extra_pass, tmp / "inference.yaml")
    eyeriss_mapping = lambda m: m.chip == "eyeriss_v1" and m.metric in (
        "latency_ms", "processing_latency_ms", "throughput_img_s", "dram_mb", "dram_access_per_mac", "glb_mb")
    changes = [
        ("row-stationary scratch-pad energy", lambda m: m.chip == "eyeriss_v1" and m.metric == "power_mw"
         and m.network == "alexnet_caffe" and m.scope != "conv",
         lambda m: m.model_copy(update={"preset": str(eyeriss)})),
        ("frozen batch norm in inference (on the 128x256 core)", lambda m: m.chip == "tpu_v3" and m.phase == "inference",
         lambda m: m.model_copy(update={"preset": str(v3_256), "execution": str(bn_before)}),
         lambda m: m.model_copy(update={"preset": str(v3_256)})),
        ("run-length coded activations on the DRAM link", lambda m: m.chip == "eyeriss_v1"
         and m.metric in ("dram_mb", "dram_access_per_mac"),
         lambda m: m.model_copy(update={"preset": str(raw_link)})),
        ("single-buffered tiles on Eyeriss", lambda m: m.chip == "eyeriss_v1" and m.metric in (
            "latency_ms", "processing_latency_ms", "throughput_img_s", "dram_mb", "dram_access_per_mac"),
         lambda m: m.model_copy(update={"preset": str(overlapped)})),
        ("weights streamed to Eyeriss's filter pads for every tile", eyeriss_mapping,
         lambda m: m.model_copy(update={"preset": str(retained)})),
        ("Eyeriss's tiles chosen for time, not least traffic", eyeriss_mapping,
         lambda m: m.model_copy(update={"preset": str(by_traffic)})),
        ("TPU v3 MXUs as one 2x-clock array", lambda m: m.chip == "tpu_v3" and "mlperf" in m.id
         or m.id == "tpu_v3_512_resnet50_train_img_s",
         lambda m: m.model_copy(update={"preset": str(v3_256)})),
        ("TPU v4 vector unit (2 ALUs per lane) and vector-memory bandwidth per MXU", lambda m: m.chip == "tpu_v4",
         lambda m: m.model_copy(update={"preset": str(v4_before)})),
        ("Eyeriss's energies at its 65 nm node (1.0 V) instead of the 45 nm defaults",
         lambda m: m.chip == "eyeriss_v1" and m.metric == "power_mw",
         lambda m: m.model_copy(update={"preset": str(at_45nm)})),
    ]
    lines = ["# Model changes from the silicon validation: before and after", "",
             "Written by `benchmarks/validation_changes.py`; error % = (asicsim − measured) / measured.", ""]
    for name, pick, before, *after in changes:
        lines += [f"## {name}", "", "| row | measured | before | after |", "|---|---:|---:|---:|"]
        for m in (r for r in rows if pick(r)):
            b = V.simulate_row(before(m))
            a = V.simulate_row(after[0](m) if after else m)
            lines.append(f"| {m.id} | {m.value:.4g} | {(b - m.value) / m.value * 100:+.1f} % | "
                         f"{(a - m.value) / m.value * 100:+.1f} % |")
        lines.append("")
    out = results_dir()
    out.mkdir(parents=True, exist_ok=True)
    path = write_text(out / "validation_changes.md", "\n".join(lines))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
