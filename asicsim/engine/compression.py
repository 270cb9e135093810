"""Activation compression on the DRAM link: how many bytes a tensor costs once encoded.

Run-length coding of zeros (Eyeriss's RLC: Chen et al., IEEE JSSC 52(1), 2017) packs a map as
(run, level) pairs — ``run_bits`` counting the zeros before a value, ``level_bits`` the value —
``⌊(word_bits − 1) / (run_bits + level_bits)⌋`` pairs to a ``word_bits`` word (the last bit marks
the end). With 5-bit runs, 16-bit levels and 64-bit words: three pairs per word.

For a map whose elements are zero with probability ``z``, independently, one pair covers
``min(G + 1, 2^run_bits)`` elements (G: zeros before the next non-zero, geometric), whose mean is
``Σ_{j<2^run_bits} z^j = (1 − z^(2^run_bits)) / (1 − z)``. Real feature maps cluster their zeros,
which compresses better: the formula is the conservative, statistics-only estimate.

Only tensors whose zero fraction is known (the network's ``activation_zeros``) are encoded; an
encoding that would grow the data (``z`` near 0: 21.3 bits per 16-bit value) is not used — the
layer's maps go raw (assumed: a per-layer enable, as the chip configures each layer).
"""
from __future__ import annotations


def rlc_elements_per_pair(zero_fraction: float, run_bits: int) -> float:
    """Mean elements one (run, level) pair encodes, zeros independent with P = zero_fraction."""
    cap = 1 << run_bits
    z = float(zero_fraction)
    if z >= 1.0:
        return float(cap)
    return (1.0 - z ** cap) / (1.0 - z)


def rlc_bytes_ratio(zero_fraction: float, run_bits: int, level_bits: int, word_bits: int) -> float:
    """Encoded bytes / raw bytes of a map (raw: ``level_bits`` per element)."""
    pairs_per_word = (word_bits - 1) // (run_bits + level_bits)
    if pairs_per_word < 1:
        raise ValueError(f"a {word_bits}-bit word cannot hold one {run_bits}+{level_bits}-bit pair")
    bits_per_element = word_bits / pairs_per_word / rlc_elements_per_pair(zero_fraction, run_bits)
    return bits_per_element / level_bits


def dram_bytes_factor(zero_fraction: float | None, dram, level_bits: int) -> float:
    """Factor on a tensor's raw DRAM bytes: < 1 when the link's codec shrinks it, else 1."""
    if zero_fraction is None or dram.activation_codec == "none":
        return 1.0
    return min(1.0, rlc_bytes_ratio(zero_fraction, dram.rlc_run_bits, level_bits, dram.rlc_word_bits))
