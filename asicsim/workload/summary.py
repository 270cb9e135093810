"""The network's layer table (for reports): name, type, input → output shape, parameters, MACs.

Shapes are per sample, channels × height × width (``features`` after flatten/linear); MACs are the
forward MACs of one sample (conv and linear only, the `Network.forward_macs` count), so the column
sums to ``Network.forward_macs(1)``.
"""
from __future__ import annotations

import pandas as pd

from asicsim.workload.network import Network, Shape

NETWORK_COLUMNS = ["layer", "type", "inputs", "input_shape", "output_shape", "params", "forward_macs_per_sample"]


def shape_text(s: Shape) -> str:
    return f"{s.c}" if s.h == 1 and s.w == 1 else f"{s.c}x{s.h}x{s.w}"


def network_table(net: Network) -> pd.DataFrame:
    rows = []
    for layer in net.layers:
        macs = 0
        if layer.is_weighted:
            m, n = layer.weight_shape
            macs = layer.positions * m * n
        rows.append({"layer": layer.name, "type": layer.kind, "inputs": "+".join(layer.inputs),
                     "input_shape": shape_text(layer.in_shape), "output_shape": shape_text(layer.out_shape),
                     "params": layer.params, "forward_macs_per_sample": macs})
    return pd.DataFrame(rows, columns=NETWORK_COLUMNS)
