"""Activation recomputation (checkpointing): a pass over the lowered op list (execution ``recompute``).

A recomputed layer's forward output is not kept for backward: its forward ops run again, as real
ops of the step, just before the first backward op that needs any value they make. Runs of
consecutive recomputed layers are recomputed together, in forward order, from the last kept
value before the run (the checkpoint). The copies carry phase ``recompute`` (their own row in
``layers.csv``, their own line in the phase totals), so the trade is visible: extra MACs, vector
ops, cycles and DRAM traffic against a smaller stash (`asicsim.workload.footprint` sees the
forward values die at their last forward read and the recomputed ones live only until their
backward use).

Policies (layers are the network's layers, in file order, the loss excluded):

* ``every: k`` — checkpoint every k layers: in each run of k consecutive layers the last one is
  kept, the k−1 before it are recomputed (PyTorch's ``checkpoint_sequential`` with segments of k);
* ``layers: [names]`` — exactly those layers are recomputed (a name that is not a layer is an
  `InputError` listing the layers).

Recomputation adds exactly the recomputed layers' forward ops: their MACs and vector ops, once.
It runs on the unfused op list (there each layer's ops make that layer's values); the fusion pass
then fuses the forward pass only, so the recomputed copies are costed unfused — an upper bound on
their traffic. A recomputed layer whose values no backward op reads (e.g. a conv feeding a ReLU:
ReLU backward needs only its own output) needs no copy and gets none. Written for backprop: with a
DFA-family backward rule the copies are made for the backprop readers (an over-count).
"""
from __future__ import annotations

import dataclasses

from asicsim.errors import InputError
from asicsim.workload.lowering import GemmOp, Lowered, VectorOp, op_tensors
from asicsim.workload.network import Network

PHASE = "recompute"


def recomputed_layers(net: Network, policy: str, every: int, names: tuple[str, ...]) -> list[str]:
    """The layers whose forward is recomputed, in network order."""
    layers = [l.name for l in net.layers if l.kind != "softmax_ce"]
    if policy == "none":
        return []
    if policy == "every":
        return [name for i, name in enumerate(layers) if (i + 1) % every != 0]
    unknown = [n for n in names if n not in layers]
    if unknown:
        shown = ", ".join(layers[:12]) + (", …" if len(layers) > 12 else "")
        raise InputError("recompute names a layer the network does not have", field="recompute.layers",
                         value=unknown[0], allowed=f"layers of {net.name}: {shown}")
    chosen = set(names)
    return [n for n in layers if n in chosen]


def _runs(order: list[str], chosen: list[str]) -> list[list[str]]:
    """Maximal runs of consecutive chosen layers (consecutive in network order)."""
    pos = {n: i for i, n in enumerate(order)}
    runs: list[list[str]] = []
    for name in chosen:
        if runs and pos[name] == pos[runs[-1][-1]] + 1:
            runs[-1].append(name)
        else:
            runs.append([name])
    return runs


def _writes(op) -> tuple:
    if isinstance(op, GemmOp):
        return (op.c,)
    if isinstance(op, VectorOp):
        return op.writes
    return ()


def _reads(op) -> tuple:
    if isinstance(op, GemmOp):
        return (op.a, op.b)
    if isinstance(op, VectorOp):
        return op.reads
    return op_tensors(op)


def apply_recompute(lowered: Lowered, net: Network, policy: str, every: int = 2,
                    names: tuple[str, ...] = ()) -> Lowered:
    """``lowered`` with the recomputed layers' forward ops copied before their first backward use."""
    chosen = recomputed_layers(net, policy, every, names)
    if not chosen:
        return lowered
    order = [l.name for l in net.layers]
    ops = list(lowered.ops)
    inserts: list[tuple[int, list]] = []
    for run in _runs(order, chosen):
        members = set(run)
        fwd = [op for op in ops if op.phase == "forward" and op.layer in members]
        made = {t.name for op in fwd for t in _writes(op) if not t.persistent}
        first_use = next((i for i, op in enumerate(ops) if op.phase != "forward"
                          and any(t.name in made for t in _reads(op))), None)
        if first_use is None or not fwd:      # nothing in backward needs them (e.g. phases not run)
            continue
        inserts.append((first_use, [dataclasses.replace(op, phase=PHASE) for op in fwd]))
    for at, copies in sorted(inserts, key=lambda x: x[0], reverse=True):
        ops[at:at] = copies
    return dataclasses.replace(lowered, ops=tuple(ops))
