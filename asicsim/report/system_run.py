"""Report section of a multi-chip run (``asicsim run --system``): the data-parallel step's
timing, traffic and energy, and the gradient buckets (from summary.json and comm_buckets.csv)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from asicsim.inputs import read_csv_frame
from asicsim.report.doc import Doc, fmt_num


def system_section(doc: Doc, d: Path, s: dict, clock_ghz: float | None) -> None:
    ms = 1.0 / ((clock_ghz or 1.0) * 1e6)
    lv = " × ".join(f"{x['size']} ({x['topology']}, {x['algorithm']}, {fmt_num(x['bandwidth_gbps'])} GB/s × "
                    f"{x['links_per_chip']})" for x in s.get("levels", [])) or "no links (one chip)"
    doc.h("Multi-chip step")
    doc.p(f"System `{s['name']}`: {s['chips']} chips, {lv}; buckets of {fmt_num(s['bucket_mib'])} MiB"
          f"{', overlapped with backward' if s.get('overlap') else ', after backward'}. The tables above are one "
          "chip's compute; this section adds the synchronisation (README, 'Data-parallel training').")
    rows = [("step time", fmt_num(s["step_time_s"] * 1e3), "ms"),
            ("compute", fmt_num(s["compute_cycles"] * ms), "ms"),
            ("exposed communication", fmt_num(s["exposed_comm_cycles"] * ms), "ms"),
            ("hidden communication", fmt_num(s["hidden_comm_cycles"] * ms), "ms"),
            ("payload per chip", fmt_num(s["payload_bytes_per_chip"] / 1e6), "MB"),
            ("sent per chip", fmt_num(s["comm_bytes_sent_per_chip"] / 1e6), "MB"),
            ("link energy per chip", fmt_num(s["link_energy_pj_per_chip"] / 1e9), "mJ"),
            ("energy per chip-step", fmt_num(s["step_energy_pj_per_chip"] / 1e9), "mJ"),
            ("scaling efficiency", f"{s['scaling_efficiency']:.1%}", ""),
            ("samples/s (all chips)", f"{s['samples_per_s']:,.0f}", "1/s")]
    doc.table(pd.DataFrame(rows, columns=["quantity", "value", "unit"]))
    b = d / "comm_buckets.csv"
    if b.exists():
        t = read_csv_frame(b)
        keep = [c for c in ("bucket", "layers", "first_layer", "last_layer", "allreduce_bytes", "allgather_bytes",
                            "second_bytes", "comm_cycles", "exposed_cycles", "hidden_cycles") if c in t]
        doc.table(t[keep].map(fmt_num) if hasattr(t, "map") else t[keep], "Gradient buckets (bytes; cycles)")
    doc.p("Files: [comm_buckets.csv](comm_buckets.csv), [comm_layers.csv](comm_layers.csv) (per layer: "
          "payload, bucket, exposed and hidden share).")
