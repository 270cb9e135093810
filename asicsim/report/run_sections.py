"""Extra sections of a run report, each drawn from a file the run wrote next to layers.csv:
the network's layer table (``network.csv``), the busy-interval timeline (``timeline.csv``) and the
banked DRAM model's counts (``summary.json`` → ``dram_banked``). A folder without the file (an older
run) simply has no such section.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from asicsim.errors import InputError
from asicsim.inputs import read_csv_frame
from asicsim.report import plots_timeline
from asicsim.report.doc import Doc, fmt_num, pct


def _read_csv(p: Path, need: set[str]) -> pd.DataFrame | None:
    if not p.exists():
        return None
    df = read_csv_frame(p, keep_default_na=False)
    missing = sorted(need - set(df.columns))
    if missing:
        raise InputError("table lacks columns", file=p, value=", ".join(missing))
    return df


def dram_rows(s: dict) -> list[tuple[str, str, str]]:
    """Summary-table rows of the banked DRAM model (none for the bandwidth model)."""
    b = s.get("dram_banked")
    if not isinstance(b, dict):
        return []
    geometry = f"banked: {b.get('channels')} channels × {b.get('banks')} banks, {fmt_num(b.get('row_bytes'))} B rows"
    return [("DRAM model", geometry, ""),
            ("DRAM row activations", fmt_num(b.get("activates")), "activates"),
            ("DRAM row-hit rate", pct(b.get("row_hit_rate", 0.0)), "% of bursts")]


def network_section(doc: Doc, d: Path) -> None:
    net = _read_csv(d / "network.csv", {"layer", "type", "input_shape", "output_shape", "params",
                                        "forward_macs_per_sample"})
    if net is None:
        return
    doc.h("Network")
    total_p, total_m = int(net["params"].sum()), int(net["forward_macs_per_sample"].sum())
    doc.p(f"{len(net)} layers, {fmt_num(total_p)} parameters, {fmt_num(total_m)} forward MACs per sample "
          "(conv and linear). Shapes per sample, channels×height×width (features after flatten).")
    rows = pd.DataFrame({
        "layer": net["layer"], "type": net["type"],
        "input → output": [f"{a} → {b}" for a, b in zip(net["input_shape"], net["output_shape"])],
        "inputs": net.get("inputs", ""),
        "params": [fmt_num(v) for v in net["params"]],
        "forward MACs / sample": [fmt_num(v) for v in net["forward_macs_per_sample"]],
    })
    doc.table(rows, "Layer table (from network.csv)")


def timeline_section(doc: Doc, d: Path, fig_dir: Path, layers: pd.DataFrame) -> None:
    tl = _read_csv(d / "timeline.csv", {"layer", "phase", "resource", "start_cycle", "end_cycle", "busy_cycles"})
    if tl is None or not len(tl):
        return
    tl["layer"] = tl["layer"].astype(str)
    doc.h("Timeline")
    order = list(dict.fromkeys(layers["layer"].astype(str)))
    doc.fig(plots_timeline.timeline(tl, order, fig_dir),
            "Busy intervals of the MAC array, the vector unit and the DRAM link from the event simulation "
            "(timeline.csv). Top: per resource, coloured by phase, the dark part of a bar is the busy share "
            "inside it; bottom: per layer, all phases")
    span = float(tl["end_cycle"].max())
    rows = []
    for res in plots_timeline.RESOURCE_ORDER:
        busy = float(tl.loc[tl["resource"] == res, "busy_cycles"].sum())
        rows.append({"resource": plots_timeline.RESOURCE_LABELS[res], "busy cycles": fmt_num(busy),
                     "share of the step (%)": pct(busy / span if span else 0)})
    doc.table(pd.DataFrame(rows), "Busy time per resource")
