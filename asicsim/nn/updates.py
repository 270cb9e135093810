"""Weight-update rules of the functional trainer: `full`, `sbpca`, `svd`, `sketch`.

Every rule sees, per weighted layer, the batch's (δ, x) pairs (`layer.dp`, `layer.xp`) and
updates W ← W − η·Ĝ with its own Ĝ:

* ``full``  Ĝ = G = Σ δ xᵀ, the mean-loss mini-batch gradient (plain SGD; momentum optional).
* ``sbpca`` Ĝ = Δ·diag(σ)·Xᵀ·N from the streaming batch PCA state (`asicsim.kernels`), rank k,
  sub-batches of s pairs; the state persists across batches; G is never formed. With
  ``sub_batch_unit="samples"`` s counts samples instead: a conv layer then streams sub-batches of
  s·H_out·W_out pairs (all positions of s images), a linear layer is unchanged.
* ``sketch`` Ĝ = (ΦDp)ᵀ(ΦXp), the rank-k SRHT (Fast-JL) sketch of the pair stream
  (`asicsim.kernels.sketch.sketch_gradient`): unbiased, E[Ĝ] = G; a fresh Φ every batch from the
  rule's seed stream; no state across batches (k·(m+n) numbers for the factors of one batch).
* ``svd``   Ĝ = G_k, the exact rank-k truncated SVD of G (a baseline that has the low-rank error
  but no streaming error).

Grouped and depthwise convs under ``sbpca`` follow the simulator's decision
(`asicsim.workload.lowering.sbpca_pays`): one SBPCA state per group, on that group's own
C_out/g × C_in/g·kh·kw block of W, where the rank can pay (k < min of the block's sides); where it
cannot (every depthwise layer: a 1 × kh·kw block) the layer takes the exact full gradient, which is
cheaper in state and MACs and is what rank-k factors of such a block would hold at best.

The rank is clamped per layer to min(k, m, n) (at that rank the ``svd`` update equals G).
Biases always get the plain gradient Σ δ (same learning rate and momentum) under every rule.
Momentum (μ > 0) keeps a dense velocity v ← μ·v + Ĝ per weight matrix under every rule: for
``sbpca`` that is m·n extra numbers per layer and gives back SBPCA's memory saving (reported in
`state_numbers`).
"""
from __future__ import annotations

import numpy as np

from asicsim import kernels as K
from asicsim.kernels.sketch import sketch_gradient
from asicsim.nn.layers import _Weighted
from asicsim.workload.lowering import sbpca_pays

RULES = ("full", "sbpca", "svd", "sketch")
SUB_BATCH_UNITS = ("pairs", "samples")


class UpdateRule:
    name = "base"

    def __init__(self, momentum: float = 0.0, rank: int | None = None, sub_batch: int | None = None,
                 sub_batch_unit: str = "pairs"):
        self.momentum = float(momentum)
        self.rank = rank
        self.sub_batch = sub_batch
        if sub_batch_unit not in SUB_BATCH_UNITS:
            raise ValueError(f"sub_batch_unit must be one of {SUB_BATCH_UNITS}")
        self.sub_batch_unit = sub_batch_unit
        self._vel: dict[str, np.ndarray] = {}
        self._bvel: dict[str, np.ndarray] = {}

    # -- per-rule pieces ------------------------------------------------------------------
    def setup(self, layers: list[_Weighted], rng: np.random.Generator) -> None:
        pass

    def layer_rank(self, layer: _Weighted) -> int:
        return min(self.rank or 1, layer.m, layer.n)

    def estimate(self, layer: _Weighted) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def state_numbers(self, layer: _Weighted) -> int:
        """Numbers the rule keeps for the weight gradient of ``layer`` (excluding W and bias)."""
        mom = layer.m * layer.n if self.momentum else 0
        return layer.m * layer.n + mom

    # -- common ---------------------------------------------------------------------------
    def apply(self, layers: list[_Weighted], lr: float, diagnose: bool = False) -> dict:
        """Update every layer in place. With ``diagnose``, return per layer the relative errors
        ``err`` = ‖Ĝ−G‖/‖G‖, ``err_k`` = ‖Ĝ−G_k‖/‖G_k‖ and ``svd_err`` = ‖G_k−G‖/‖G‖ (rank k of this
        rule, or --rank for ``full``)."""
        info = {}
        mu = self.momentum
        for layer in layers:
            G_hat = self.estimate(layer)
            if diagnose:
                G = layer.weight_grad() if self.name != "full" else G_hat
                Gk = K.truncated_svd(G, self.layer_rank(layer))
                info[layer.name] = {"err": K.relative_error(G_hat, G), "err_k": K.relative_error(G_hat, Gk),
                                    "svd_err": K.relative_error(Gk, G)}
            if mu:
                G_hat = _velocity(self._vel, layer.name, G_hat, mu)
            layer.W -= lr * G_hat
            if layer.b is not None:
                gb = _velocity(self._bvel, layer.name, layer.db, mu) if mu else layer.db
                layer.b -= lr * gb
        return info

    def apply_vectors(self, norms, lr: float) -> None:
        """Plain (momentum) SGD on parameter vectors (batch-norm γ, β) under every rule; a vector
        that got no gradient this step (not reached by the backward rule) is left as it is."""
        mu = self.momentum
        for layer in norms:
            for key, p, g in layer.vectors():
                if g is None:
                    continue
                p -= lr * (_velocity(self._bvel, key, g, mu) if mu else g)


class FullSGD(UpdateRule):
    name = "full"

    def estimate(self, layer):
        return layer.weight_grad()


class SVDUpdate(UpdateRule):
    name = "svd"

    def estimate(self, layer):
        return K.truncated_svd(layer.weight_grad(), self.layer_rank(layer))


class SBPCAUpdate(UpdateRule):
    name = "sbpca"

    def setup(self, layers, rng):
        self.states = {}
        for l in layers:
            g = getattr(l, "groups", 1)
            if g == 1:
                self.states[l.name] = K.SBPCAState.random(l.m, l.n, self.layer_rank(l), rng)
            elif sbpca_pays(self.rank or 1, l.m // g, l.n, g):   # one state per group
                k = min(self.rank or 1, l.m // g, l.n)
                self.states[l.name] = [K.SBPCAState.random(l.m // g, l.n, k, rng) for _ in range(g)]
            else:
                self.states[l.name] = None                         # the rank cannot pay: full gradient

    def pairs_per_sub_batch(self, layer, batch: int) -> int:
        """s in pairs: ``sub_batch`` itself, or ``sub_batch`` samples = sub_batch·P pairs."""
        if self.sub_batch_unit == "pairs":
            return self.sub_batch
        return self.sub_batch * max(1, layer.pairs // batch)

    def estimate(self, layer):
        st = self.states[layer.name]
        if st is None:
            return layer.weight_grad()
        s = self.pairs_per_sub_batch(layer, layer.batch)
        if not isinstance(st, list):
            K.sbpca_stream(st, layer.xp, layer.dp, s)
            return K.sbpca_expand(st, layer.pairs)
        g = len(st)                      # pairs are stacked group by group (`Conv2D`)
        N, og = layer.pairs // g, layer.m // g
        G_hat = np.zeros((layer.m, layer.n))
        for i, sti in enumerate(st):
            rows, cols = slice(i * N, (i + 1) * N), slice(i * og, (i + 1) * og)
            K.sbpca_stream(sti, np.ascontiguousarray(layer.xp[rows]), np.ascontiguousarray(layer.dp[rows, cols]), s)
            G_hat[cols] = K.sbpca_expand(sti, N)
        return G_hat

    def state_numbers(self, layer):
        mom = layer.m * layer.n if self.momentum else 0
        st = self.states[layer.name]
        if st is None:
            return layer.m * layer.n + mom
        return (sum(x.numbers for x in st) if isinstance(st, list) else st.numbers) + mom


class SketchUpdate(UpdateRule):
    name = "sketch"

    def setup(self, layers, rng):
        self.rng = rng

    def estimate(self, layer):
        # k distinct Hadamard rows: also at most the padded pair count (matters only for a tiny last batch)
        k = min(self.layer_rank(layer), 1 << max(0, (layer.pairs - 1).bit_length()))
        return sketch_gradient(layer.xp, layer.dp, k, self.rng)

    def state_numbers(self, layer):
        mom = layer.m * layer.n if self.momentum else 0
        return self.layer_rank(layer) * (layer.m + layer.n) + mom


def make_rule(name: str, momentum: float = 0.0, rank: int = 4, sub_batch: int = 32,
              sub_batch_unit: str = "pairs") -> UpdateRule:
    cls = {"full": FullSGD, "sbpca": SBPCAUpdate, "svd": SVDUpdate, "sketch": SketchUpdate}[name]
    return cls(momentum=momentum, rank=rank, sub_batch=sub_batch, sub_batch_unit=sub_batch_unit)


def _velocity(store: dict, key: str, g: np.ndarray, mu: float) -> np.ndarray:
    """Momentum buffer v ← μ·v + g (v = g on the first step), kept in ``store[key]``; returns v."""
    v = store.get(key)
    v = g.copy() if v is None else np.add(mu * v, g, out=v)
    store[key] = v
    return v
