"""Peak DRAM footprint of a training step, from the lowered op list itself (a liveness analysis).

Why from the ops: what a step holds in memory is exactly what its ops read and write, in the
order they run — the same list the simulator times. So fusion (intermediates that never exist),
recomputation (stashed activations that are dropped after forward and re-made in backward), the
optimizer's state tensors and the master weights all change the footprint without a second model.

Rules (bytes; every tensor at its lowered width, so precision is included):

* a **persistent** tensor (weights, master weights, optimizer state, SBPCA factors) is resident for
  the whole step;
* every other tensor **value** — one write, and the reads up to the next write of the same name —
  is resident from its write to its last read; a value read before any write (the network input,
  the labels) is resident from the start. A write that is never read is resident at that op only;
* the footprint at op *i* is the persistent bytes plus every transient value live at *i*; the peak
  is the maximum over the step, reported with the op and layer where it occurs.

Classes of the breakdown at the peak: ``weights`` (persistent tensors the forward pass reads:
weights, biases, BN scale and shift, at their working width),
``optimizer_state`` (other persistent tensors: master copies, momentum/Adam moments, factors),
``stash`` (activations — values written in forward or recomputed — live at a backward op), ``workspace`` (the rest:
activation gradients, weight gradients, values of the op in flight).
"""
from __future__ import annotations

from dataclasses import dataclass

from asicsim.workload.lowering import GemmOp, Lowered, VectorOp, op_tensors


@dataclass(frozen=True)
class Footprint:
    """Peak resident bytes of a step and its classes at the peak (bytes)."""
    peak_bytes: int
    weights_bytes: int
    optimizer_state_bytes: int
    stash_bytes: int
    workspace_bytes: int
    peak_layer: str
    peak_phase: str
    per_layer_peak_bytes: dict     # layer → the largest footprint while that layer's ops run

    def as_dict(self) -> dict:
        return {"peak_bytes": self.peak_bytes, "weights_bytes": self.weights_bytes,
                "optimizer_state_bytes": self.optimizer_state_bytes, "stash_bytes": self.stash_bytes,
                "workspace_bytes": self.workspace_bytes, "peak_layer": self.peak_layer,
                "peak_phase": self.peak_phase}


def _reads_writes(op) -> tuple[tuple, tuple]:
    if isinstance(op, GemmOp):
        return (op.a, op.b), (op.c,)
    if isinstance(op, VectorOp):
        return op.reads, op.writes
    ts = op_tensors(op)
    return ts, ()      # other ops (SBPCA, crossbar, rule modules): their tensors count as read (live at the op)


def view_aliases(lowered: Lowered, net) -> dict[str, str]:
    """Names that are views of another tensor: a layer with no ops of its own and one input (a
    flatten, an identity) outputs its input's data (``<layer>.out`` is ``<input>.out``) and passes
    the error back unchanged (``<input>.grad`` is ``<layer>.grad``)."""
    if net is None:
        return {}
    busy = {op.layer for op in lowered.ops}
    alias: dict[str, str] = {}
    for l in net.layers:
        if l.name not in busy and len(l.inputs) == 1:
            alias[f"{l.name}.out"] = f"{l.inputs[0]}.out"
            alias[f"{l.inputs[0]}.grad"] = f"{l.name}.grad"

    def root(name: str) -> str:
        seen = set()
        while name in alias and name not in seen:
            seen.add(name)
            name = alias[name]
        return name
    return {k: root(k) for k in alias}


def step_footprint(lowered: Lowered, net=None) -> Footprint:
    """The peak footprint of ``lowered`` (see the module docstring); ``net`` resolves view layers
    (`view_aliases`), so a flatten's output is its input's bytes, counted once."""
    ops = lowered.ops
    alias = view_aliases(lowered, net)
    canon = lambda t: alias.get(t.name, t.name)   # noqa: E731
    persistent: dict[str, int] = {}
    weights: set[str] = set()
    # a name persistent anywhere is persistent everywhere (a bias is read in forward as a plain
    # operand and updated as state: one tensor)
    keep = {t.name for op in ops for t in op_tensors(op) if t.persistent}
    # values: (name, write index) -> [start, end, bytes, written_in_forward]
    current: dict[str, tuple] = {}
    values: dict[tuple, list] = {}
    for i, op in enumerate(ops):
        reads, writes = _reads_writes(op)
        for t in reads + writes:
            if t.name in keep:
                persistent[t.name] = max(persistent.get(t.name, 0), t.bytes)
                if op.phase == "forward":
                    weights.add(t.name)
        for t in reads:
            if t.name in keep:
                continue
            name = canon(t)
            key = current.get(name)
            if key is None:                      # read before any write: resident from the start
                key = current[name] = (name, -1)
                values[key] = [0, i, t.bytes, True]   # the input batch: an activation
            v = values[key]
            v[1] = i
            v[2] = max(v[2], t.bytes)
        for t in writes:
            if t.name in keep:
                continue
            name = canon(t)
            key = current[name] = (name, i)
            values[key] = [i, i, t.bytes, op.phase in ("forward", "recompute")]
    n = len(ops)
    delta = [0] * (n + 1)
    for start, end, nbytes, _ in values.values():
        delta[start] += nbytes
        delta[end + 1] -= nbytes
    live, best, at = 0, -1, 0
    per_layer: dict[str, int] = {}
    base = sum(persistent.values())
    for i in range(n):
        live += delta[i]
        total = base + live
        layer = ops[i].layer
        per_layer[layer] = max(per_layer.get(layer, 0), total)
        if total > best:
            best, at = total, i
    if n == 0:
        best = base
    stash = sum(b for s, e, b, fwd in values.values() if s <= at <= e and fwd and ops[at].phase != "forward")
    transient = sum(b for s, e, b, _ in values.values() if s <= at <= e)
    w = sum(persistent[k] for k in weights)
    return Footprint(peak_bytes=best, weights_bytes=w, optimizer_state_bytes=base - w, stash_bytes=stash,
                     workspace_bytes=transient - stash, peak_layer=ops[at].layer if n else "",
                     peak_phase=ops[at].phase if n else "", per_layer_peak_bytes=per_layer)
