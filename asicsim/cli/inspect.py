"""``asicsim inspect MODEL``: the layer table of a network as asicsim sees it, before simulating.

For each layer: its kind, inputs, input and output shape (C×H×W per sample), forward MACs and
parameters, and the forward work it becomes — GEMMs on the array (M×K×N per group) or element
operations on the vector unit — at ``--batch`` (1 by default, so the numbers are per sample). For
an ``.onnx`` file the header also says which nodes were folded away before import (constant
subgraphs, NHWC layout transposes, views) and the exporter the file names; the check against
ONNX's own shape inference has already passed when the table prints.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="preset name (models/networks), YAML file or .onnx file")
    p.add_argument("--batch", type=int, default=1, help="batch for the MAC and vector-op columns [1]")
    p.add_argument("--csv", default=None, metavar="FILE", help="also write the table as CSV")


def layer_table(net, batch: int):
    """One row per layer (pandas DataFrame): shapes, MACs, params, forward work at ``batch``."""
    import pandas as pd

    from asicsim.workload.lowering import GemmOp, VectorOp, lower_step

    fwd = [op for op in lower_step(net, batch, 2, 4, phases=("forward",)).ops]
    rows = []
    for l in net.layers:
        ops = [op for op in fwd if op.layer == l.name]
        gemms = [op for op in ops if isinstance(op, GemmOp)]
        vec = sum(op.ops for op in ops if isinstance(op, VectorOp))
        work = "; ".join(f"GEMM {g.m}×{g.k}×{g.n}" + (f" ×{g.groups}" if g.groups > 1 else "") for g in gemms)
        if vec:
            work = (work + "; " if work else "") + f"vector {vec:,} ops"
        s_in, s_out = l.in_shape, l.out_shape
        rows.append({"layer": l.name, "kind": l.kind, "inputs": ",".join(l.inputs),
                     "in": f"{s_in.c}×{s_in.h}×{s_in.w}", "out": f"{s_out.c}×{s_out.h}×{s_out.w}",
                     "macs": sum(g.macs for g in gemms), "params": l.params, "work": work or "view (no work)"})
    return pd.DataFrame(rows)


def execute(args: argparse.Namespace) -> int:
    from asicsim.errors import InputError
    from asicsim.workload.network import load_network

    if args.batch < 1:
        raise InputError("--batch must be >= 1", field="--batch", value=args.batch)
    net = load_network(args.model)
    print(f"network {net.name}: {len(net.layers)} layers, {net.num_params:,} parameters, "
          f"{net.forward_macs(args.batch):,} forward MACs at batch {args.batch}")
    if net.source:
        print(f"source: {net.source}")
    if Path(args.model).suffix.lower() == ".onnx":
        from asicsim.workload.onnx_import import import_details
        folded = import_details(args.model)[2]
        print("folded before import: " + (", ".join(f"{k} ×{v}" for k, v in sorted(folded.items())) or "nothing"))
    table = layer_table(net, args.batch)
    vec = table[table["work"].str.contains("vector")]
    print(f"{(table['macs'] > 0).sum()} layers on the MAC array, {len(vec)} with vector work "
          f"({', '.join(sorted(set(vec['kind'])))})")
    import pandas as pd
    with pd.option_context("display.max_rows", None, "display.max_colwidth", 60, "display.width", 200):
        print(table.to_string(index=False, formatters={"macs": "{:,}".format, "params": "{:,}".format}))
    if args.csv:
        from asicsim.outputs import write_csv
        write_csv(args.csv, table)
        print(f"wrote {args.csv}")
    return 0
