"""Console lines for a multi-chip step (``asicsim run --system``)."""
from __future__ import annotations

from pathlib import Path


def describe_levels(levels: list[dict]) -> str:
    """The fabric, innermost level first: chips per level, its topology, the collective run on it
    and its links, e.g. "8 chips on a ring (ring all-reduce, 2 links × 80 GB/s each way)"."""
    parts = [f"{d['size']} chips on a {d['topology'].replace('_', ' ')} ({d['algorithm']} collective, "
             f"{d['links_per_chip']} link{'s' if d['links_per_chip'] != 1 else ''} × {d['bandwidth_gbps']:g} GB/s "
             "each way)" for d in levels]
    return "; then ".join(parts) or "no links"


def print_system(s: dict, out: Path, resized: bool = False) -> None:
    """``resized``: the chip count came from --chips, so the preset's name no longer describes the
    system; the line says so and gives the resolved shape."""
    ms = 1e3 / (s["step_cycles"] / s["step_time_s"]) if s["step_time_s"] else 0.0
    dims = " × ".join(str(d["size"]) for d in s["levels"])
    shape = f"{s['chips']} chips" + (f" = {dims} {s['topology']}" if len(s["levels"]) > 1 else f" {s['topology']}")
    name = f"{s['name']} resized by --chips" if resized else s["name"]
    print(f"system {name}: {shape}; levels, innermost first: {describe_levels(s['levels'])}; "
          f"buckets of {s['bucket_mib']:g} MiB, {s['buckets']} bucket(s){'' if s['overlap'] else ', no overlap'}")
    if "resist" in s:
        r = s["resist"]
        print(f"ResIST: {r['subnets']} sub-networks, {r['local_iterations']} local iterations per round, "
              f"sync every round {r['sync_cycles'] * ms:,.3f} ms")
    print(f"step {s['step_time_s'] * 1e3:,.3f} ms = compute {s['compute_cycles'] * ms:,.3f} ms + exposed comm "
          f"{s['exposed_comm_cycles'] * ms:,.3f} ms (hidden {s['hidden_comm_cycles'] * ms:,.3f} ms); "
          f"scaling efficiency {s['scaling_efficiency']:.1%}, {s['samples_per_s']:,.0f} samples/s")
    print(f"sync payload {s['payload_bytes_per_chip'] / 1e6:,.3f} MB per chip, sent {s['comm_bytes_sent_per_chip'] / 1e6:,.3f} MB "
          f"per chip; link energy {s['link_energy_pj_per_chip'] / 1e9:,.3f} mJ, step energy "
          f"{s['step_energy_pj_per_chip'] / 1e9:,.3f} mJ per chip, {s['system_energy_pj'] / 1e9:,.3f} mJ all chips")
    print(f"wrote {out}/comm_buckets.csv and {out}/comm_layers.csv")
