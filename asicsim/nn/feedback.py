"""Backward rules of the functional trainer: ``bp``, ``dfa``, ``bdfa``, ``hybrid``.

* ``bp``     back-propagation (the transposed-weight chain), the default.
* ``dfa``    direct feedback alignment (Nøkland, NeurIPS 2016): the output error e = ∂L/∂logits
  (B×C, mean loss) is sent straight to every hidden weighted layer through a fixed random matrix
  B_l (C × outputs of the layer), δ_l = e·B_l, instead of coming back through the later layers.
* ``bdfa``   binary DFA (Han & Yoo 2019): B_l has entries ±1 (1 bit of storage each).
* ``hybrid`` Han & Yoo's combination ("Efficient Convolutional Neural Network Training with
  Direct Feedback Alignment", arXiv:1901.01986, 2019): FC layers get binary DFA errors, conv layers
  get ordinary BP, started from the DFA error of the first FC layer (its δ·W flows back into the
  conv part). It needs at least one FC layer before the output layer.

Where the error is injected. The output layer (last weighted layer) always gets the true
error by BP from the loss. For every other layer the rule acts on, the injection tensor is the end
of the element-wise chain after it (batchnorm, relu, relu6, each read only by the next): δ at
that tensor is e·B_l, and the chain's own backward (ReLU mask, BN) turns it into δ at the layer's
output, i.e. δ_l = (e·B_l) ⊙ f'(a_l) of DFA. The chain does not change the shape, so B_l has
C × (H_out·W_out·C_out) entries (NHWC order), and its GEMM costs B·C·(layer outputs) MACs.

Scale. B_l's entries are N(0, 1) (dfa) or ±1 (bdfa, hybrid) times 1/√(outputs of the layer), so
that ‖e·B_l‖ ≈ ‖e‖ per sample, the norm BP keeps under He initialisation. For ±1 matrices the
factor is one constant per layer (a shift or a learning-rate scale in hardware; the stored matrix
is 1 bit per entry). The matrices are drawn once from their own seed stream and never change.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asicsim.errors import InputError

BACKWARDS = ("bp", "dfa", "bdfa", "hybrid")
ELEMENTWISE = ("batchnorm", "relu", "relu6")


@dataclass
class Feedback:
    """Fixed feedback matrices of a model and where they inject the output error."""
    rule: str
    matrices: dict[str, np.ndarray]   # injection tensor name -> B_l (C × outputs), scaled
    targets: dict[str, str]           # injection tensor name -> weighted layer it trains
    bp_layers: frozenset              # weighted layers whose input gradient must be formed

    def signal(self, name: str, e: np.ndarray, g: np.ndarray | None, shape: tuple) -> np.ndarray | None:
        """Gradient to use at tensor ``name`` (batch shape ``shape``): e·B_l at an injection
        tensor (whatever BP brought is dropped), else ``g``."""
        B = self.matrices.get(name)
        if B is None:
            return g
        return (e @ B).reshape(shape)

    def need_dx(self, layer) -> bool:
        return not layer.weighted or layer.name in self.bp_layers

    def feedback_numbers(self) -> int:
        """Entries of all feedback matrices (bits for bdfa/hybrid, numbers for dfa)."""
        return int(sum(B.size for B in self.matrices.values()))


def injection_points(model) -> dict[str, str]:
    """weighted layer name -> the tensor at the end of its element-wise chain (see module doc)."""
    index = {l.name: i for i, l in enumerate(model.layers)}
    out = {}
    for l in model.weighted:
        i = index[l.name]
        while True:
            cons = model.consumers[model.layers[i].name]
            if len(cons) != 1 or model.kinds[cons[0]] not in ELEMENTWISE or len(model.inputs[cons[0]]) != 1:
                break
            i = cons[0]
        out[l.name] = model.layers[i].name
    return out


def make_feedback(rule: str, model, rng: np.random.Generator, where: str = "") -> Feedback | None:
    """Feedback for ``model`` under backward rule ``rule`` (None for ``bp``)."""
    if rule not in BACKWARDS:
        raise InputError("unknown backward rule", field="backward", value=rule, allowed=", ".join(BACKWARDS))
    if rule == "bp":
        return None
    weighted = model.weighted
    kinds = {l.name: k for l, k in zip(model.layers, model.kinds)}
    hidden = [l for l in weighted[:-1] if rule != "hybrid" or kinds[l.name] == "linear"]
    if rule == "hybrid" and not hidden:
        raise InputError("hybrid (BP for conv, DFA for FC) needs at least one linear layer before the output "
                         "layer; this network has none, so hybrid would be plain bp", file=where or None,
                         field="backward", value=rule, allowed="bp, dfa, bdfa for this network")
    ends = injection_points(model)
    C = model.num_outputs
    matrices, targets = {}, {}
    for l in hidden:
        end = ends[l.name]
        numel = model.numel[end]
        if rule == "dfa":
            B = rng.standard_normal((C, numel))
        else:
            B = np.where(rng.random((C, numel)) < 0.5, -1.0, 1.0)
        matrices[end] = B * (1.0 / np.sqrt(numel))
        targets[end] = l.name
    # hybrid: BP runs through the conv part, so weighted layers form their input gradient
    # (that of later FC layers is dropped at the injection tensors); dfa/bdfa: none needs it
    bp = frozenset(l.name for l in weighted) if rule == "hybrid" else frozenset()
    return Feedback(rule, matrices, targets, bp)
