"""Console lines for a multi-chip step (``asicsim run --system``)."""
from __future__ import annotations

from pathlib import Path


def print_system(s: dict, out: Path) -> None:
    ms = 1e3 / (s["step_cycles"] / s["step_time_s"]) if s["step_time_s"] else 0.0
    lv = " × ".join(f"{d['size']} {d['topology']}/{d['algorithm']}" for d in s["levels"]) or "no links"
    print(f"system {s['name']}: {s['chips']} chips ({lv}), buckets of {s['bucket_mib']:g} MiB, "
          f"{s['buckets']} bucket(s){'' if s['overlap'] else ', no overlap'}")
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
