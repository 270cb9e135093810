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
