"""Optimizers of the update phase: state tensors and vector ops per parameter (pure formulas).

Counting rule (the same as the SGD/momentum counts before the execution spec): one element op =
one add, multiply, fused multiply-add, compare, square root or divide on one element; an FMA counts
once. Scalars computed once per step or per layer (η·r, 1/(1−βᵗ), the trust ratio of a layer from
its two norms) are not per-parameter work and are not counted. g is the gradient as the update
reads it (G, or SBPCA's Ĝ), w the weight, η the learning rate.

==========  =====  ===========================================================================  ===
kind        state  per-parameter ops                                                            ops
==========  =====  ===========================================================================  ===
sgd         0      w ← w − η·g (FMA)                                                            1
momentum    1      v ← μ·v + g (FMA); w ← w − η·v (FMA)                                         2
nesterov    1      v ← μ·v + g (FMA); d ← g + μ·v (FMA); w ← w − η·d (FMA)                       3
adam/adamw  2      m ← β₁·m + (1−β₁)·g (mul, FMA: 2); v ← β₂·v + (1−β₂)·g² (g·g, mul, FMA: 3);   11
                   m̂ = m·c₁, v̂ = v·c₂ (bias correction by scalars cᵢ = 1/(1−βᵢᵗ): 2);
                   √v̂ (1); + ε (1); u = m̂ / (√v̂+ε) (1); w ← w − η·u (FMA: 1)
lamb        2      Adam's u (10 ops, as above without the final FMA); ‖w‖², ‖u‖² accumulated     13
                   (2 FMAs); w ← w − (η·r)·u with the layer's trust ratio r (FMA: 1)
lars        1      ‖w‖², ‖g‖² accumulated (2 FMAs); v ← μ·v + (η·r)·g (mul, FMA: 2);             5
                   w ← w − v (1)
==========  =====  ===========================================================================  ===

``weight_decay`` > 0 adds 1 FMA per parameter for every kind (g ← g + λ·w coupled for
sgd/momentum/nesterov/adam/lars; w ← w − η·λ·w decoupled for adamw/lamb): AdamW is 12.
Loss scaling adds 1 op (unscale g·(1/S), static) or 2 (also an is-finite check, dynamic) per
parameter, done on the G read the update makes anyway (no traffic). A fp32 master copy adds
1 op per parameter: the cast of the updated master weight to the compute-width working copy.
"""
from __future__ import annotations

STATE_TENSORS = {"sgd": 0, "momentum": 1, "nesterov": 1, "adam": 2, "adamw": 2, "lamb": 2, "lars": 1}
BASE_OPS = {"sgd": 1, "momentum": 2, "nesterov": 3, "adam": 11, "adamw": 11, "lamb": 13, "lars": 5}
STATE_NAMES = {"sgd": (), "momentum": ("v",), "nesterov": ("v",), "adam": ("adam_m", "adam_v"),
               "adamw": ("adam_m", "adam_v"), "lamb": ("adam_m", "adam_v"), "lars": ("v",)}
LOSS_SCALING_OPS = {"none": 0, "static": 1, "dynamic": 2}


def state_tensors(kind: str) -> int:
    """Optimizer state tensors per parameter tensor (each as large as the parameter)."""
    return STATE_TENSORS[kind]


def state_names(kind: str) -> tuple[str, ...]:
    """Suffixes of the state tensors' names (``<layer>.<suffix>``); momentum's is ``v`` as before."""
    return STATE_NAMES[kind]


def ops_per_param(kind: str, weight_decay: float = 0.0, loss_scaling: str = "none",
                  master_copy: bool = False) -> int:
    """Vector element ops per parameter of one update (table in the module docstring)."""
    return (BASE_OPS[kind] + (1 if weight_decay > 0 else 0) + LOSS_SCALING_OPS[loss_scaling]
            + (1 if master_copy else 0))


def state_bytes(kind: str, params: int, state_bytes_per_elem: int) -> int:
    """Bytes of optimizer state for ``params`` parameters: tensors × params × width (bytes)."""
    return state_tensors(kind) * params * state_bytes_per_elem


def resolve_kind(ex, upd) -> str:
    """The optimizer kind of a step. Decision on the update rule's legacy ``momentum`` field: with
    the execution's optimizer ``sgd`` it means ``momentum`` (as it always did); with any other kind
    it is refused, so a step never has two momentum settings."""
    kind = ex.optimizer.kind
    if upd.momentum > 0:
        if kind != "sgd":
            from asicsim.errors import InputError
            raise InputError(f"update.momentum {upd.momentum} conflicts with the execution's optimizer {kind!r}; "
                             "set the optimizer's own hyper-parameters instead",
                             field="update.momentum", value=upd.momentum, allowed="0 with optimizer.kind != sgd")
        return "momentum"
    return kind


def optimizer_update_ops(layer: str, w, G, upd, bias: int, ob: int, ab: int, ex, Tensor, VectorOp) -> list:
    """The update of one layer under the execution's optimizer and widths: one vector op that
    reads the parameters (the fp32 master copy if there is one, else W and b at compute width),
    their gradients (G, db) and every state tensor, and writes the parameters, the state and, with
    a master copy, the compute-width working copy (the cast traffic). State covers every
    parameter (weights and biases): ``state_tensors(kind)`` tensors of ``params`` elements at the
    optimizer-state width (``precision.optimizer_state_bits``; null = the weight-gradient width)."""
    pr = ex.precision
    kind = resolve_kind(ex, upd)
    params = w.elems + bias
    sb = pr.optimizer_state_bits // 8 if pr.optimizer_state_bits else ab
    master = pr.master_weight_bits is not None
    reads: list = []
    writes: list = []
    if master:
        wm = Tensor(f"{layer}.Wmaster", params, pr.master_weight_bits // 8, persistent=True)
        reads.append(wm)
        writes.append(wm)
    else:
        reads.append(w)
        writes.append(w)
    reads.append(G)
    for suffix in state_names(kind):
        st = Tensor(f"{layer}.{suffix}", params, sb, persistent=True)
        reads.append(st)
        writes.append(st)
    if bias:
        db = Tensor(f"{layer}.db", bias, ab)
        b = Tensor(f"{layer}.b", bias, ob, persistent=True)
        reads += [db] if master else [b, db]
        writes.append(b)          # the bias at compute width (the working copy when there is a master)
    if master:
        writes.append(w)          # the cast: the working weights at compute width
    ops = params * ops_per_param(kind, ex.optimizer.weight_decay, pr.loss_scaling, master)
    return [VectorOp(layer, "update", ops, tuple(reads), tuple(writes), kind)]
