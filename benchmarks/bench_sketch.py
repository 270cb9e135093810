"""Benchmark + record: the SRHT sketch kernel (`asicsim.kernels.sketch`), numba ``rows`` and ``fwht``
methods vs the dense-Φ numpy reference, at k = 4 on LeNet-5 / batch-64 layer shapes and one
ResNet-size conv layer; also the additions each method does (`sketch_counts`). Ratios are within one
process. Writes benchmarks/results/sketch_kernel.md.

    .venv/bin/python benchmarks/bench_sketch.py

(Where: out/benchmarks/ by default; the committed benchmarks/results/ only with --record, see
benchmarks/destination.py.)
"""
from __future__ import annotations

import os
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np

from asicsim.kernels.sketch import sketch_counts, sketch_gradient, sketch_gradient_ref
from destination import results_dir  # noqa: E402 (benchmarks/ is sys.path[0] when run)

RES = results_dir()   # benchmarks/results with --record, else out/benchmarks (destination.py)
SHAPES = [("lenet5 conv1 (B=64)", 6, 25, 64 * 28 * 28), ("lenet5 conv2 (B=64)", 16, 150, 64 * 10 * 10),
          ("lenet5 fc1 (B=64)", 120, 400, 64), ("conv 64×576, 8192 pairs", 64, 576, 8192)]


def best_of(f, reps: int) -> float:
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        out.append(time.perf_counter() - t)
    return min(out)


def main(k: int = 4) -> None:
    rng = np.random.default_rng(0)
    sketch_gradient(rng.standard_normal((8, 3)), rng.standard_normal((8, 2)), 2, 0, "rows")   # compile
    sketch_gradient(rng.standard_normal((8, 3)), rng.standard_normal((8, 2)), 2, 0, "fwht")
    rows = ["| layer | m | n | pairs | rows adds | fwht adds | auto | rows ms | fwht ms | numpy ref ms | ref / rows |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, m, n, N in SHAPES:
        Xp, Dp = rng.standard_normal((N, n)), rng.standard_normal((N, m))
        reps = 5 if N * (m + n) < 2_000_000 else 2
        t_rows = best_of(lambda X=Xp, D=Dp: sketch_gradient(X, D, k, 1, "rows"), reps)
        t_fwht = best_of(lambda X=Xp, D=Dp: sketch_gradient(X, D, k, 1, "fwht"), reps)
        t_ref = best_of(lambda X=Xp, D=Dp: sketch_gradient_ref(X, D, k, 1), reps)
        a = sketch_gradient(Xp, Dp, k, 1, "rows")
        b = sketch_gradient(Xp, Dp, k, 1, "fwht")
        assert np.allclose(a, b, rtol=1e-9, atol=1e-9 * np.abs(a).max())
        cr, cf = sketch_counts(m, n, k, N, "rows"), sketch_counts(m, n, k, N, "fwht")
        rows.append(f"| {name} | {m} | {n} | {N:,} | {cr['sketch_adds']:,} | {cf['sketch_adds']:,} | "
                    f"{sketch_counts(m, n, k, N)['method']} | {t_rows * 1e3:.2f} | {t_fwht * 1e3:.2f} | "
                    f"{t_ref * 1e3:.2f} | {t_ref / t_rows:.1f}× |")
        print(rows[-1], flush=True)
    text = [f"# SRHT sketch kernel, k = {k} ({date.today()})", "",
            "Produced by `.venv/bin/python benchmarks/bench_sketch.py` (best of 2-5 calls each, single thread,",
            "after compilation). `rows` and `fwht` compute the same Φ (checked equal to 1e-9 here); `auto` is",
            "what the trainer and the hardware model use.", "",
            (f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs (times indicative), "
             f"Python {platform.python_version()}."), ""] + rows
    RES.mkdir(parents=True, exist_ok=True)
    (RES / "sketch_kernel.md").write_text("\n".join(text) + "\n")


if __name__ == "__main__":
    main()
