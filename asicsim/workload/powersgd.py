"""PowerSGD rank-r gradient compression (Vogels, Karimireddy & Jaggi, NeurIPS 2019), lowered to
GEMMs and vector work: the ecosystem's reference low-rank scheme to set beside SBPCA.

Per weight matrix (m × n, the im2col view of a conv), every step, after the full gradient G:

1. M = G + e                     error feedback: add the residual e kept from the last step
2. P = M·Q                       (m×r; Q is the n×r matrix kept from the last step: warm start)
3. all-reduce P, orthonormalise P (Gram–Schmidt)
4. Q = Mᵀ·P                      (n×r), all-reduce Q
5. Ĝ = P·Qᵀ, e = M − Ĝ           then the ordinary SGD (or momentum) update with Ĝ

One power iteration per step, as in the paper. Work counted here: steps 1 and 5's residual are
m·n element ops each; the Gram–Schmidt of P is m·r·(r+1) element ops (r(r−1)/2 dot products
and as many axpys of length m, then r norms and scalings); P, Q and Ĝ are GEMMs of m·n·r MACs
each. State: e (m·n, accumulator precision) and Q (n·r), both persistent. Like PyTorch's
PowerSGD hook (``torch.distributed.algorithms.ddp_comm_hooks.powerSGD_hook``, whose default
``min_compression_rate`` is 2), a matrix is compressed only when (m + n)·r·2 < m·n; smaller ones
and vectors (biases, batch-norm) are sent uncompressed. The all-reduces themselves belong to the
multi-chip model (`asicsim.system`); on one chip the compression work is still done.
The ops are built in `asicsim.workload.lowering` (``powersgd_*_ops``) from these formulas.
"""
from __future__ import annotations

MIN_COMPRESSION_RATE = 2


def powersgd_rank(r: int, m: int, n: int) -> int:
    return max(1, min(r, m, n))


def compresses(m: int, n: int, r: int) -> bool:
    """PyTorch's rule: compress only when it saves at least MIN_COMPRESSION_RATE×."""
    r = powersgd_rank(r, m, n)
    return (m + n) * r * MIN_COMPRESSION_RATE < m * n


def orth_ops(m: int, r: int) -> int:
    """Element ops of Gram–Schmidt on an m×r matrix: r(r−1)/2 dots + as many axpys (2m each
    pair), r norms and r scalings (m each): m·r·(r+1)."""
    return m * r * (r + 1)
