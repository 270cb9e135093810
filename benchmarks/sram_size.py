"""A larger SRAM should never make a double-buffered step slower; today it can.

The tile search breaks ties of equal DRAM traffic towards the fewest (largest) tiles, and a vector
op streams in the fewest chunks that fit (`asicsim.engine.tiling`, `asicsim.engine.mapping`), so
an operand that fits whole is one tile or chunk whose load and write-back no compute overlaps.
This script measures that on a TPU v4 core: one ResNet-50 training step (the `realistic`
execution, 64 images) with the preset's 16 MiB vector memory and with 144 MiB (16 + the chip's
128 MiB common memory), in the same process. A ratio above 1 is the known limit in README.md.

Writes sram_size.md (out/benchmarks/ by default, benchmarks/results/ with --record).

    .venv/bin/python benchmarks/sram_size.py [--record]
"""
from __future__ import annotations

import copy

from asicsim.config.hardware import hardware_from_dict, load_hardware_dict
from asicsim.config.update import UpdateConfig
from asicsim.outputs import write_text
from asicsim.studies.step import simulate
from asicsim.workload.lowering import PHASES
from asicsim.workload.network import load_network
from destination import results_dir  # noqa: E402 (benchmarks/ is sys.path[0] when run)

PRESET, NETWORK, BATCH = "tpu_v4_core", "resnet50", 64
VMEM_KIB = (16 * 1024, 144 * 1024)


def step_ms(vmem_kib: int) -> float:
    data, file = load_hardware_dict(PRESET)
    data = copy.deepcopy(data)
    data["sram"]["vmem"]["capacity_kib"] = vmem_kib
    hw = hardware_from_dict(data, file)
    res = simulate(hw, load_network(NETWORK), BATCH, UpdateConfig(rule="full", momentum=0.0), PHASES,
                   execution="realistic")
    return res.time_s * 1e3


def main() -> None:
    times = {k: step_ms(k) for k in VMEM_KIB}
    small, large = VMEM_KIB
    lines = ["# Step time against SRAM size (double-buffered)", "",
             f"Written by `benchmarks/sram_size.py`: {PRESET}, {NETWORK} training step, batch {BATCH}, "
             "execution `realistic`.", "",
             "| vector memory | step (ms) |", "|---:|---:|"]
    lines += [f"| {k // 1024} MiB | {v:.2f} |" for k, v in times.items()]
    lines += ["", f"ratio {large // 1024} MiB / {small // 1024} MiB: {times[large] / times[small]:.3f} "
              "(above 1: the larger SRAM is slower, the known limit in README.md)", ""]
    out = results_dir()
    out.mkdir(parents=True, exist_ok=True)
    print(f"wrote {write_text(out / 'sram_size.md', chr(10).join(lines))}")


if __name__ == "__main__":
    main()
