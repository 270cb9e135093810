"""Lowering of the ``sketch`` update rule: the weight gradient from an SRHT sketch of the pair
stream (`asicsim.kernels.sketch`), then the rank-k update.

Per weighted layer (and group), the full-gradient GEMM δyᵀ·im2col(x) is replaced by a `SketchOp`:
the B·P (δ, x) pairs stream through the random signs and the k sampled Walsh–Hadamard rows,
leaving the factors D̃ (k×m) and X̃ (k×n). Its work is the kernel's own `sketch_counts` (additions
and sign flips, no multiplies). The update expands Ĝ = D̃ᵀ X̃ on the array (M = m, K = k, N = n:
m·n·k MACs, tile by tile, never to DRAM — as SBPCA's expansion) and then does the same SGD
read-modify-write of W as ``full``. The rank is capped per layer at N' (the padded pair count:
H has no more rows), e.g. k ≤ B for an FC layer at a power-of-two batch. The factors live only within the step (no persistent state,
unlike SBPCA's warm-started Δ, X, σ); momentum, if asked for, is dense (m·n per layer).
"""
from __future__ import annotations

from dataclasses import dataclass

from asicsim.config.update import UpdateConfig
from asicsim.errors import InputError
from asicsim.workload.lowering import (
    GemmOp,
    Lowered,
    Op,
    SbpcaOp,
    Tensor,
    VectorOp,
    update_ops,
)
from asicsim.workload.network import ConvLayer, Network


@dataclass(frozen=True)
class SketchOp:
    """SRHT sketch of one layer's ``pairs`` (δ, x) pairs to k rows, per group; ``counts`` are
    `sketch_counts(m, n, k, pairs, method)` of one group. ``unit``: where the ±1 row sums run
    (``array`` or ``vector``; the fwht butterflies always run on the vector unit)."""
    layer: str
    phase: str
    m: int
    n: int
    k: int
    pairs: int
    groups: int
    x: Tensor
    dy: Tensor
    dt: Tensor
    xt: Tensor
    counts: dict
    unit: str = "array"

    def tensors(self) -> tuple[Tensor, ...]:
        return (self.x, self.dy, self.dt, self.xt)


# the update op's kind: "sgd" by default, the optimizer's name under an execution spec
UPDATE_KINDS = ("sgd", "momentum", "nesterov", "adam", "adamw", "lamb", "lars")


def apply_sketch(lowered: Lowered, net: Network, update: UpdateConfig, ob: int, ab: int,
                 execution=None) -> Lowered:
    """Replace each weighted layer's weight-gradient GEMM and update by the sketch rule."""
    if update.rule != "sketch":
        return lowered
    # imported here: asicsim.kernels loads numba (seconds), which the other rules never need
    from asicsim.kernels.sketch import pow2_at_least, sketch_counts
    if update.apply != "digital":
        raise InputError("the sketch rule expands Ĝ digitally; crossbar pulses are modelled for sbpca only",
                         field="update.apply", value=update.apply, allowed="digital")
    layers = {l.name: l for l in net.layers if l.is_weighted}
    out: list[Op] = []
    for op in lowered.ops:
        l = layers.get(op.layer)
        if l is None or op.phase not in ("weight_gradient", "update") or isinstance(op, SbpcaOp):
            out.append(op)
            continue
        m_total, n = l.weight_shape
        g = l.spec.groups if isinstance(l.spec, ConvLayer) else 1
        m = m_total // g
        k = min(update.rank, pow2_at_least(lowered.batch * l.positions))  # rows of H: N' at most
        dt = Tensor(f"{l.name}.sketch_d", g * k * m, ab, on_chip_candidate=True)
        xt = Tensor(f"{l.name}.sketch_x", g * k * n, ab, on_chip_candidate=True)
        if op.phase == "weight_gradient" and isinstance(op, GemmOp):
            pairs = lowered.batch * l.positions
            counts = sketch_counts(m, n, k, pairs, update.sketch_method)
            x = Tensor(f"{l.inputs[0]}.out", lowered.batch * l.in_shape.numel, ob)
            dy = Tensor(f"{l.name}.grad", lowered.batch * l.out_shape.numel, ob)
            out.append(SketchOp(l.name, "weight_gradient", m, n, k, pairs, g, x, dy, dt, xt, counts,
                                update.projections))
        elif op.phase == "update" and isinstance(op, VectorOp) and op.kind in UPDATE_KINDS:
            w = Tensor(f"{l.name}.W", m_total * n, ob, persistent=True)
            G = Tensor(f"{l.name}.G", m_total * n, ab, on_chip_candidate=True)
            dt_g = Tensor(dt.name, k * m, ab, on_chip_candidate=True)     # one group's slice
            xt_g = Tensor(xt.name, k * n, ab, on_chip_candidate=True)
            out.append(GemmOp(l.name, "update", m, k, n, dt_g, xt_g, Tensor(G.name, m * n, ab, on_chip_candidate=True),
                              g, fused_output=True))
            bias = m_total if getattr(l.spec, "bias", False) else 0
            out.extend(update_ops(l.name, w, G, update, bias, ob, ab, execution))
        else:
            out.append(op)
    return Lowered(lowered.network, lowered.batch, tuple(out))
