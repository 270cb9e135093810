"""Exact operation counts of the kernels: the work the hardware model charges (MACs, element ops,
QRs, state numbers), derived from the loops in `asicsim.kernels.jit`.
"""
from __future__ import annotations

# --------------------------------------------------------------------------------------------
# exact operation counts
# --------------------------------------------------------------------------------------------

def sbpca_counts(m: int, n: int, k: int, s: int, pairs: int, init: bool = False) -> dict:
    """Exact operations of `sbpca_stream` on one batch of ``pairs`` (δ, x) pairs, plus one
    `sbpca_expand`, for an m×n weight matrix at rank k and sub-batch size s.

    Units: ``*_macs`` are multiply-accumulates (a·b + c, one each); ``mul``, ``div``, ``sqrt``
    are standalone element operations (there are no standalone adds); ``elem_ops`` = mul + div +
    sqrt, the vector-unit work besides the MACs; ``scalar_ops`` are the 3 scalar-unit ops per
    sub-batch that form c and d; ``*_numbers`` are counts of stored values (not bytes).
    Comparisons/branches are not counted.

    Keys (per call of `sbpca_stream`, N = pairs, S = ⌈N/s⌉ sub-batches):
      sub_batches  S;  qr_count 2·S (one n×k and one m×k orthonormalisation per sub-batch)
      proj_macs    N·k·(3m + 2n): Ds·Δ, Xsᵀ·(DsΔ), Xs·X, Dsᵀ·(XsX), Ds·Δ_new
      sigma_macs   N·k + S·k: colsum((DsΔ)⊙(XsX)) and σ ← c·σ + d·sum
      mix_macs     S·k·(m+n): the "+ d/σ·(…)" of steps 1 and 3 (c·X is a mul)
      qr_macs      S·k²·(m+n): modified Gram-Schmidt, L·k² MACs for an L×k matrix
      init_macs    n·k if ``init`` (σ from the first sub-batch: column norms of Xsᵀ Ds Δ)
      macs         the sum of the above (the batch's streaming work)
      mul          S·(2k(m+n) + k): c·X, c·Δ, MGS normalisation, c·σ
      div          S·4k (+k if init): d/σ_j twice, 1/‖q_j‖ twice (+ the init norm / s_i)
      sqrt         S·2k (+k if init): MGS column norms (+ the init norms)
      expand_macs  m·n·k, expand_mul m·k + k: one Ĝ = Δ·diag(σ·N)·Xᵀ
      state_numbers      k·(m+n+1), persistent between batches
      workspace_numbers  2·s·k + k·(m+n), alive during the stream only

    The usual estimate is ≈ 3·B·P·k·(m+n) projection MACs. The exact count is N·k·(3m+2n): Xs·X is
    formed once and reused by steps 3 and 5, while Ds·Δ is needed twice (with the old Δ in step 1
    and the new Δ in step 5), so Ds is read three times and Xs twice. The QR, mixing and σ terms
    are per sub-batch and are listed separately. Assumes a zero-free state (a column whose
    Gram-Schmidt norm is exactly 0 skips its div and L mul).
    """
    m, n, k, s, pairs = int(m), int(n), int(k), int(s), int(pairs)
    if min(m, n, k, s) < 1 or pairs < 0:
        raise ValueError("m, n, k, s must be >= 1 and pairs >= 0")
    S = -(-pairs // s)
    c = {
        "m": m, "n": n, "k": k, "s": s, "pairs": pairs,
        "sub_batches": S,
        "qr_count": 2 * S,
        "proj_macs": pairs * k * (3 * m + 2 * n),
        "sigma_macs": pairs * k + S * k,
        "mix_macs": S * k * (m + n),
        "qr_macs": S * k * k * (m + n),
        "init_macs": n * k if (init and S) else 0,
    }
    c["macs"] = c["proj_macs"] + c["sigma_macs"] + c["mix_macs"] + c["qr_macs"] + c["init_macs"]
    c["mul"] = S * (2 * k * (m + n) + k)
    c["div"] = S * 4 * k + (k if (init and S) else 0)
    c["sqrt"] = S * 2 * k + (k if (init and S) else 0)
    c["elem_ops"] = c["mul"] + c["div"] + c["sqrt"]
    c["scalar_ops"] = 3 * S
    c["expand_macs"] = m * n * k
    c["expand_mul"] = m * k + k
    c["state_numbers"] = k * (m + n + 1)
    c["workspace_numbers"] = 2 * s * k + k * (m + n)
    return c


def full_gradient_counts(m: int, n: int, pairs: int) -> dict:
    """Exact operations of `full_gradient` on one batch: ``macs`` = pairs·m·n multiply-accumulates
    (no other arithmetic), ``state_numbers`` = m·n (the gradient G; momentum, if used, is another
    m·n kept by the update rule, not by this kernel)."""
    m, n, pairs = int(m), int(n), int(pairs)
    return {"m": m, "n": n, "pairs": pairs, "macs": pairs * m * n, "elem_ops": 0,
            "state_numbers": m * n}


