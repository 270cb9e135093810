"""Benchmark: whole-process wall time of importing and simulating one ResNet-50 ONNX training step.

Target: ≤ 3 s for `asicsim run --network <resnet50>.onnx --batch 32 --accelerator edge`. Two files:
the real Caffe2 ResNet-50 export of the regression set (weights stripped to ConstantOfShape nodes,
80 kB), and a ResNet-50 written here with onnx.helper from models/networks/resnet50.yaml with
every weight a full-size zero initializer (25.6 M parameters, 102 MB: the parse and read cost of a
shipped file). Median of N runs in a subprocess pinned to one core when taskset exists.
Writes out/benchmarks/onnx_import.md (``--record``: the committed benchmarks/results/onnx_import.md).

    .venv/bin/python benchmarks/bench_onnx.py [--repeat 3] [--record]
"""
from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from destination import RECORD_HELP, results_dir  # noqa: E402


def resnet50_with_weights(path: Path) -> None:
    """ResNet-50 as ONNX, full-size zero weights (only the structure of the YAML network is used)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from asicsim.workload.network import _pair, load_network

    net = load_network("resnet50")
    nodes, inits, out = [], [], {"input": "x"}
    W = lambda name, shape: inits.append(numpy_helper.from_array(np.zeros(shape, np.float32), name)) or name
    for l in net.layers:
        s, x, y = l.spec, out[l.inputs[0]], f"{l.name}:out"
        if l.kind == "conv":
            kh, kw = _pair(s.kernel)
            ph, pw = _pair(s.padding)
            ins = [x, W(f"{l.name}.W", (s.out_channels, l.in_shape.c // s.groups, kh, kw))]
            nodes.append(helper.make_node("Conv", ins, [y], name=l.name, kernel_shape=[kh, kw],
                                          strides=list(_pair(s.stride)), pads=[ph, pw, ph, pw], group=s.groups))
        elif l.kind == "batchnorm":
            ps = [W(f"{l.name}.{k}", (l.in_shape.c,)) for k in ("s", "b", "m", "v")]
            nodes.append(helper.make_node("BatchNormalization", [x] + ps, [y], name=l.name))
        elif l.kind == "relu":
            nodes.append(helper.make_node("Relu", [x], [y], name=l.name))
        elif l.kind == "maxpool":
            ph, pw = _pair(s.padding)
            nodes.append(helper.make_node("MaxPool", [x], [y], name=l.name, kernel_shape=list(_pair(s.kernel)),
                                          strides=list(_pair(s.stride or s.kernel)), pads=[ph, pw, ph, pw]))
        elif l.kind == "global_avgpool":
            nodes.append(helper.make_node("GlobalAveragePool", [x], [y], name=l.name))
        elif l.kind == "add":
            nodes.append(helper.make_node("Add", [out[i] for i in l.inputs], [y], name=l.name))
        elif l.kind == "flatten":
            nodes.append(helper.make_node("Flatten", [x], [y], name=l.name))
        elif l.kind == "linear":
            ins = [x, W(f"{l.name}.W", (s.out_features, l.in_shape.numel)), W(f"{l.name}.b", (s.out_features,))]
            nodes.append(helper.make_node("Gemm", ins, [y], name=l.name, transB=1))
        elif l.kind == "softmax_ce":
            nodes.append(helper.make_node("Softmax", [x], [y], name=l.name))
        else:
            raise SystemExit(f"unexpected layer kind {l.kind}")
        out[l.name] = y
    c, h, w = net.input_shape.c, net.input_shape.h, net.input_shape.w
    g = helper.make_graph(nodes, "resnet50", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, h, w])],
                          [helper.make_tensor_value_info(out[net.layers[-1].name], TensorProto.FLOAT, None)],
                          initializer=inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="bench_onnx"), path)


def timed(argv: list[str]) -> float:
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    t = time.perf_counter()
    subprocess.run(pin + [sys.executable] + argv, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--record", action="store_true", help=RECORD_HELP)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "resnet50_weights.onnx"
        resnet50_with_weights(full)
        files = {"light_resnet50.onnx (Caffe2 export, regression set)": ROOT / "tests/data/onnx/light_resnet50.onnx",
                 f"resnet50 with zero weights ({full.stat().st_size / 1e6:.0f} MB)": full}
        rows = []
        for label, f in files.items():
            cmd = ["-m", "asicsim", "run", "--network", str(f), "--batch", "32", "--accelerator", "edge",
                   "--out", str(Path(tmp) / "out")]
            times = [timed(cmd) for _ in range(args.repeat)]
            rows.append((label, statistics.median(times), min(times)))
            print(f"{label}: median {rows[-1][1]:.2f} s")
        base = statistics.median(timed(["-c", "import asicsim.cli.run, asicsim.studies.step"]) for _ in range(args.repeat))
    lines = [f"# ONNX import + one training step, whole process ({date.today()})", "",
             "Command: `asicsim run --network FILE.onnx --batch 32 --accelerator edge --out DIR`, "
             f"median of {args.repeat} runs, one core pinned; measured by `python benchmarks/bench_onnx.py`.",
             f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}. "
             f"Start-up + imports alone: {base:.2f} s. Target: ≤ 3 s.", "",
             "| file | median s | min s | within 3 s |", "|---|---|---|---|"]
    lines += [f"| {l} | {m:.2f} | {mn:.2f} | {'yes' if m <= 3 else 'no'} |" for l, m, mn in rows]
    dest = results_dir(args.record) / "onnx_import.md"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("\n".join(lines) + "\n")
    print(f"wrote {dest.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
