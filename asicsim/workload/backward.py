"""Backward rules: how the error reaches each weighted layer (``update.backward``).

``bp``      backpropagation: the lowering of `asicsim.workload.lowering` unchanged.
``dfa``     direct feedback alignment (Nøkland, NeurIPS 2016): the output error e (B × C_last, the
            softmax-CE gradient at the last weighted layer's output) is sent to every other weighted
            layer l through a fixed random matrix F_l (C_last × O_l, O_l = the layer's outputs per
            sample): δy_l = e·F_l, one GEMM of M = B, K = C_last, N = O_l, i.e. exactly
            B·C_last·O_l MACs (`FeedbackOp`). It replaces every transposed-weight (backward-data)
            GEMM and the error's path back through pooling and residual adds; the element-wise
            derivative of each layer's own activation/batch-norm is still applied (those vector ops
            stay). The feedback GEMMs depend on e only, so they run right after the loss backward
            (in any order; the simulator runs ops one after another, so no overlap is claimed).
``bdfa``    binary DFA (Han & Yoo, "Efficient convolutional neural network training with direct
            feedback alignment", DAC 2019): F_l ∈ {−1, +1}, stored at 1 bit per entry, and e·F_l is
            B·C_last·O_l signed additions on the array (no multiplies); with ``projections: vector``
            the feedback products run on the vector unit instead.
``hybrid``  BP through the conv layers, DFA for the FC layers (Han & Yoo 2019): hidden FC layers get
            e·F_l; the FC→FC backward-data GEMMs are dropped; the first FC layer's backward-data
            GEMM is kept, so the conv stack below it trains by BP from that layer's (DFA) error.
            A network whose only FC layer is the classifier gets exactly the BP lowering.

Storage: every F_l is persistent state (C_last·O_l numbers at operand precision; 1 bit each for
bdfa), read from DRAM each step unless the residency plan keeps it on chip. (Regenerating F_l
from a seed on chip would save that traffic; it is not modelled.) ``bdfa`` and ``hybrid`` need at
least one FC (linear) layer: Han & Yoo apply them to FC layers, and without one the rule is
meaningless — an `InputError` says so.
"""
from __future__ import annotations

from dataclasses import dataclass

from asicsim.config.update import UpdateConfig
from asicsim.errors import InputError
from asicsim.workload.layer_kinds import ELEMENTWISE
from asicsim.workload.lowering import GemmOp, Lowered, Op, Tensor, VectorOp
from asicsim.workload.network import Network

# backward vector ops that stay under DFA: the derivative of a layer's own activation/normalisation
KEPT_VECTOR_KINDS = ("relu", "relu6", "dropout", "batchnorm", "softmax_ce") + ELEMENTWISE + ("lrn",)


@dataclass(frozen=True)
class FeedbackOp:
    """δy of one layer from the output error: dy[B × O] = e[B × C] · F[C × O] on the array.
    ``binary``: F is ±1 (1 bit per entry) and the product is additions only."""
    layer: str
    phase: str
    batch: int
    c_last: int
    outputs: int
    e: Tensor
    fb: Tensor
    dy: Tensor
    binary: bool = False
    unit: str = "array"     # where the products run: "array" or "vector" (update.projections)

    @property
    def products(self) -> int:
        """B·C_last·O: one multiply-accumulate (dfa) or one signed addition (bdfa) each."""
        return self.batch * self.c_last * self.outputs

    @property
    def macs(self) -> int:
        return 0 if self.binary else self.products

    @property
    def adds(self) -> int:
        return self.products if self.binary else 0

    def tensors(self) -> tuple[Tensor, ...]:
        return (self.e, self.fb, self.dy)


def feedback_targets(net: Network, backward: str) -> list:
    """Weighted layers that receive e·F_l under ``backward`` (in network order)."""
    weighted = [l for l in net.layers if l.is_weighted]
    if backward == "bp" or len(weighted) < 2:
        return []
    hidden = weighted[:-1]
    if backward == "hybrid":
        return [l for l in hidden if l.kind == "linear"]
    return hidden


def check_backward(net: Network, backward: str, field: str = "update.backward") -> None:
    """InputError (naming ``field``) for bdfa/hybrid on a network without an FC layer."""
    if backward in ("bdfa", "hybrid") and not any(l.kind == "linear" for l in net.layers):
        raise InputError(f"backward '{backward}' applies DFA to FC layers; network '{net.name}' has no FC "
                         "(linear) layer", field=field, value=backward, allowed="bp, dfa")


def feedback_op(l, net: Network, batch: int, ob: int, binary: bool, unit: str = "array") -> FeedbackOp:
    last = [x for x in net.layers if x.is_weighted][-1]
    c_last = last.out_shape.numel
    outs = l.out_shape.numel
    e = Tensor(f"{last.name}.grad", batch * c_last, ob)
    n_fb = c_last * outs
    fb = (Tensor(f"{l.name}.fb", -(-n_fb // 8), 1, persistent=True) if binary
          else Tensor(f"{l.name}.fb", n_fb, ob, persistent=True))
    dy = Tensor(f"{l.name}.grad", batch * outs, ob)
    return FeedbackOp(l.name, "backward_data", batch, c_last, outs, e, fb, dy, binary, unit)


def apply_backward(lowered: Lowered, net: Network, update: UpdateConfig, ob: int) -> Lowered:
    """The BP lowering rewritten for ``update.backward`` (module docstring); ``bp``: unchanged."""
    rule = update.backward
    if rule == "bp":
        return lowered
    check_backward(net, rule)
    targets = feedback_targets(net, rule)
    if not targets:
        return lowered
    fc_names = {l.name for l in net.layers if l.kind == "linear"}
    first_fc = next((l.name for l in net.layers if l.kind == "linear"), None)
    has_bd = any(op.phase == "backward_data" for op in lowered.ops)

    def dropped(op: Op) -> bool:
        if op.phase != "backward_data":
            return False
        if rule == "hybrid":   # only the GEMMs between FC layers go; conv BP stays as it is
            return isinstance(op, GemmOp) and op.layer in fc_names and op.layer != first_fc
        if isinstance(op, GemmOp):
            return True
        return isinstance(op, VectorOp) and op.kind not in KEPT_VECTOR_KINDS

    feedback = ([feedback_op(l, net, lowered.batch, ob, rule == "bdfa", update.projections) for l in targets]
                if has_bd else [])
    out: list[Op] = []
    inserted = False
    for op in lowered.ops:
        if dropped(op):
            continue
        out.append(op)
        if not inserted and isinstance(op, VectorOp) and op.kind == "softmax_ce" and op.phase == "backward_data":
            out.extend(feedback)
            inserted = True
    if not inserted and feedback:   # no loss layer: the feedback opens the backward pass
        first_bwd = next(i for i, op in enumerate(out) if op.phase != "forward")
        out[first_bwd:first_bwd] = feedback
    return Lowered(lowered.network, lowered.batch, tuple(out))
