"""ResIST on a multi-chip system (simulation only; accuracy is out of scope).

Per round: S = min(``system.resist.subnets``, chips) sub-ResNets (`asicsim.system.resist`); chip i
trains sub-network i mod S for L = ``local_iterations`` full-gradient steps on its own ``batch``
samples with no communication, then the parameters are averaged. Modelled here:

* compute per round = L × the slowest sub-network's simulated step (the round is synchronous);
* sync per round = one all-reduce, on the system's fabric, of the parameters a chip holds (the
  largest sub-network's, at ``grad_bytes`` per value): each chip moves only its sub-network, the
  traffic ResIST claims; blocks held by fewer chips are averaged among those (counted at the
  largest holder set, an upper bound on time). No overlap: averaging needs the final parameters;
* reported per step = per round / L; memory per chip = the sub-network's weights, gradients,
  momentum (if any) and stored activations, beside the full network's.
"""
from __future__ import annotations

import pandas as pd
import simpy

from asicsim.config.hardware import HardwareConfig
from asicsim.config.update import UpdateConfig
from asicsim.engine.energy import power_energy_pj
from asicsim.studies.chip_step import (
    SystemResult,
    grad_bytes,
    single_chip,
    static_power_mw,
)
from asicsim.system.config import SystemConfig, levels
from asicsim.system.fabric import Fabric
from asicsim.system.resist import activation_bytes, subnetworks
from asicsim.workload.network import Network


def memory_bytes(net: Network, batch: int, hw: HardwareConfig, momentum: bool) -> dict:
    ob, ab = hw.array.operand_bytes, hw.array.accumulator_bytes
    p = net.num_params
    return {"weights": p * ob, "gradients": p * ab, "momentum": p * ab if momentum else 0,
            "activations": activation_bytes(net, batch, ob)}


def simulate_resist(hw: HardwareConfig, net: Network, batch: int, update: UpdateConfig, system: SystemConfig,
                    ideal_memory: bool = False) -> SystemResult:
    cfg = system.resist
    S = min(cfg.subnets, system.chips)
    L = cfg.local_iterations
    plain = update.model_copy(update={"rule": "full"})
    subs = subnetworks(net, S, cfg.seed)
    steps = [single_chip(hw, sub, batch, plain, ideal_memory)[0] for sub, _ in subs]
    slow = max(range(S), key=lambda i: steps[i].summary["total_cycles"])
    step = steps[slow]
    gb = grad_bytes(system, hw)
    held = max(sub.num_params for sub, _ in subs) * gb
    env = simpy.Environment()
    fab = Fabric(env, levels(system), hw.array.clock_ghz, system.collective.chunks)
    env.process(fab.all_reduce(held))
    env.run()
    sync = env.now
    compute = step.summary["total_cycles"]
    per_step = compute + sync / L
    per_level = [{**d, "bytes_sent_per_chip": d["bytes_sent_per_chip"] / L,
                  "max_bytes_per_link": d["max_bytes_per_link"] / L,
                  "link_energy_pj_per_chip": d["link_energy_pj_per_chip"] / L} for d in fab.per_level()]
    link_pj = sum(d["link_energy_pj_per_chip"] for d in per_level)
    idle_pj = power_energy_pj(static_power_mw(hw), sync / L, hw.array.clock_ghz)
    chip_pj = step.summary["energy_pj"] + link_pj + idle_pj
    one_chip = single_chip(hw, net, batch, plain, ideal_memory)[0].summary["total_cycles"]
    sent = sum(d["bytes_sent_per_chip"] for d in per_level)
    holders = {}
    for i, (_, names) in enumerate(subs):
        for n in names:
            holders.setdefault(n, []).append(i)
    layers = pd.DataFrame([{"layer": l.name, "params": l.params, "subnets_holding": len(holders.get(l.name, [])),
                            "bytes_per_holder": l.params * gb} for l in net.layers if l.params])
    buckets = pd.DataFrame([{"bucket": 0, "layers": len(layers), "allreduce_bytes": held, "launch_cycles": L * compute,
                             "end_cycles": L * compute + sync, "comm_cycles": sync, "exposed_cycles": sync,
                             "hidden_cycles": 0.0, "per": f"round of {L} local iterations"}])
    mom = update.momentum > 0
    mems = [memory_bytes(sub, batch, hw, mom) for sub, _ in subs]
    biggest = max(range(S), key=lambda i: sum(mems[i].values()))
    sysd = {
        "name": system.name, "chips": system.chips, "topology": system.topology, "levels": per_level,
        "algorithm": system.collective.algorithm, "bucket_mib": system.collective.bucket_mib,
        "chunks": system.collective.chunks, "grad_bytes": gb, "overlap": False,
        "step_cycles": per_step, "step_time_s": per_step / hw.clock_hz, "compute_cycles": compute,
        "exposed_comm_cycles": sync / L, "comm_active_cycles": sync / L, "hidden_comm_cycles": 0.0,
        "backward_end_cycles": compute, "sync_end_cycles": per_step, "buckets": 1,
        "payload_bytes_per_chip": held / L, "dense_grad_bytes_per_chip": net.num_params * gb,
        "factor_values": 0, "comm_bytes_sent_per_chip": sent, "system_comm_bytes": sent * system.chips,
        "extra_compute_cycles": 0.0, "extra_compute_energy_pj": 0.0,
        "link_energy_pj_per_chip": link_pj, "idle_energy_pj_per_chip": idle_pj,
        "step_energy_pj_per_chip": chip_pj, "system_energy_pj": chip_pj * system.chips,
        "samples_per_s": system.chips * batch * hw.clock_hz / per_step,
        "scaling_efficiency": one_chip / per_step,
        "resist": {"subnets": S, "local_iterations": L, "seed": cfg.seed, "sync_cycles": sync,
                   "round_cycles": L * compute + sync, "slowest_subnet": slow,
                   "subnet_step_cycles": [s.summary["total_cycles"] for s in steps],
                   "subnet_params": [sub.num_params for sub, _ in subs], "full_params": net.num_params,
                   "held_bytes_per_chip": held,
                   "memory_per_chip_bytes": mems[biggest], "largest_memory_subnet": biggest,
                   "memory_full_network_bytes": memory_bytes(net, batch, hw, mom)},
    }
    summary = {**step.summary, "update": update.model_dump(), "system": sysd}
    return SystemResult(step, buckets, layers, summary)
