"""What each layer sends for data-parallel sync, per update rule (bytes per chip contribution).

* ``full``: the gradient of every parameter, m·n (+ bias m) per weighted layer and 2·C per
  batch-norm layer, all-reduced (payload m·n).
* ``sbpca``: the rank-k factors Δ (m×k), X (n×k), σ (k) of each weighted layer — k(m+n+1) values
  per group, k = min(k, m, n) as in the simulated rule — plus biases and batch-norm parameters
  dense. **Combining:** the chips' factors cannot be summed (Σᵢ Δᵢσᵢ Xᵢᵀ is not a product of
  summed factors), so they are **all-gathered** and every chip expands the average
  Ĝ = (1/N)·Σᵢ Δᵢ·diag(σᵢ)·Xᵢᵀ locally: one m × (N·k) × n GEMM instead of the single chip's
  m × k × n, i.e. (N−1)·k·m·n extra MACs per layer, simulated on the array like any GEMM. This is
  the all-gather scheme used for low-rank atoms that are not linear in the data (Wang et al.,
  "ATOMO", NeurIPS 2018; Vogels et al. 2019 §3 contrast it with PowerSGD's all-reduce).
  Each chip keeps its own factors (warm-started locally); the weights stay identical because
  every chip applies the same Ĝ. All-gather traffic per chip grows as (N−1)·k(m+n+1).
* ``powersgd``: P (m·r) all-reduced with the dense vectors and uncompressed matrices, then Q
  (n·r) all-reduced after the orthonormalisation and Q = MᵀP (`asicsim.workload.powersgd`).
* ``resist``: see `asicsim.system.resist` (sub-network parameters, averaged every L steps).

Momentum buffers (and PowerSGD's error memory, SBPCA's factors) are per-chip state and are never
sent; their DRAM traffic is in the single-chip model.
"""
from __future__ import annotations

from dataclasses import dataclass

from asicsim.config.update import UpdateConfig
from asicsim.workload.lowering import sbpca_pays, sbpca_rank
from asicsim.workload.network import ConvLayer, Layer, Network
from asicsim.workload.powersgd import compresses, powersgd_rank


@dataclass(frozen=True)
class LayerPayload:
    """One layer's sync traffic (bytes each chip contributes)."""
    layer: str
    dense_grad_bytes: int        # the layer's full gradient (what DDP buckets by)
    allreduce_bytes: int         # all-reduced in the first round (gradients, vectors, PowerSGD P)
    allgather_bytes: int         # all-gathered (SBPCA factors)
    second_bytes: int            # all-reduced after the hook's compute (PowerSGD Q)
    factor_values: int = 0       # SBPCA: Σ_groups k(m+n+1); PowerSGD: (m+n)·r

    @property
    def wire_bytes(self) -> int:
        return self.allreduce_bytes + self.allgather_bytes + self.second_bytes


def _groups(l: Layer) -> int:
    return l.spec.groups if isinstance(l.spec, ConvLayer) else 1


def layer_payload(l: Layer, update: UpdateConfig, grad_bytes: int) -> LayerPayload | None:
    """None for layers without parameters."""
    if l.params == 0:
        return None
    dense = l.params * grad_bytes
    if not l.is_weighted:
        return LayerPayload(l.name, dense, dense, 0, 0)
    m_total, n = l.weight_shape
    g = _groups(l)
    m = m_total // g
    bias = (l.params - m_total * n) * grad_bytes
    if update.rule == "sbpca" and sbpca_pays(update.rank, m, n, g):   # else: the dense gradient
        k = sbpca_rank(update.rank, m, n)
        vals = g * k * (m + n + 1)
        return LayerPayload(l.name, dense, bias, vals * grad_bytes, 0, vals)
    if update.rule == "powersgd" and compresses(m, n, update.rank):
        r = powersgd_rank(update.rank, m, n)
        return LayerPayload(l.name, dense, bias + g * m * r * grad_bytes, 0, g * n * r * grad_bytes, g * (m + n) * r)
    return LayerPayload(l.name, dense, dense, 0, 0)


def network_payload(net: Network, update: UpdateConfig, grad_bytes: int) -> dict[str, LayerPayload]:
    out = {}
    for l in net.layers:
        p = layer_payload(l, update, grad_bytes)
        if p is not None:
            out[l.name] = p
    return out


def bucket_key_bytes(p: LayerPayload, rule: str) -> int:
    """Bytes a layer adds to a bucket: DDP buckets the dense gradients (full, and PowerSGD whose
    hook runs on DDP's buckets); SBPCA's own scheme buckets what it sends."""
    return p.wire_bytes if rule == "sbpca" else p.dense_grad_bytes
