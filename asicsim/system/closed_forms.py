"""Closed forms (α-β model) of the collectives the fabric simulates: the independent truth the
event model is checked against (tests), and a quick estimate. Seconds; S in bytes, B in bytes/s
per link per direction, α in seconds per message, L links (rings / ports), C chunks.

* ring reduce-scatter / all-gather: (N−1)/N · S/(L·B) + (N−1)·α
* ring all-reduce: 2(N−1)/N · S/(L·B) + 2(N−1)·α            (Patarasuk & Yuan, JPDC 2009;
  Thakur, Rabenseifner & Gropp, IJHPCA 2005)
* direct reduce-scatter / all-gather: ⌈(N−1)/L⌉ · S/(N·B) + α  (fully connected: L = N−1)
* direct all-reduce: twice that
* pipelined binary tree all-reduce on dedicated links: 2d·(S/(C·B) + α) + (C−1)·S/(C·B),
  d = ⌊log₂ N⌋ (the heap's depth): the last chunk leaves a deepest leaf (C−1) chunk-times late
  and crosses 2d hops, each a chunk-time plus α.
* hierarchical all-reduce: Σ over inner levels of reduce-scatter + all-gather on the data left at
  that level, + the outermost level's all-reduce on S / Π(inner sizes).
These hold for C = 1 on rings and direct exchanges (with C > 1 the chunks hide some α).
"""
from __future__ import annotations

import math

from asicsim.system.config import Level


def ring_reduce_scatter_s(n: int, s_bytes: float, b_bytes_per_s: float, alpha_s: float, links: int = 1) -> float:
    return (n - 1) / n * s_bytes / (links * b_bytes_per_s) + (n - 1) * alpha_s


def ring_all_reduce_s(n: int, s_bytes: float, b_bytes_per_s: float, alpha_s: float, links: int = 1) -> float:
    return 2 * ring_reduce_scatter_s(n, s_bytes, b_bytes_per_s, alpha_s, links)


def direct_reduce_scatter_s(n: int, s_bytes: float, b_bytes_per_s: float, alpha_s: float, links: int) -> float:
    return math.ceil((n - 1) / links) * s_bytes / (n * b_bytes_per_s) + alpha_s


def direct_all_reduce_s(n: int, s_bytes: float, b_bytes_per_s: float, alpha_s: float, links: int) -> float:
    return 2 * direct_reduce_scatter_s(n, s_bytes, b_bytes_per_s, alpha_s, links)


def tree_all_reduce_s(n: int, s_bytes: float, b_bytes_per_s: float, alpha_s: float, chunks: int = 1) -> float:
    d = math.floor(math.log2(n))
    t_chunk = s_bytes / (chunks * b_bytes_per_s)
    return 2 * d * (t_chunk + alpha_s) + (chunks - 1) * t_chunk


def _level_rs_s(lv: Level, s: float) -> float:
    b, a = lv.bandwidth_gbps * 1e9, lv.latency_ns * 1e-9
    if lv.algorithm == "direct":
        return direct_reduce_scatter_s(lv.size, s, b, a, lv.links)
    return ring_reduce_scatter_s(lv.size, s, b, a, lv.links)


def _level_ar_s(lv: Level, s: float, chunks: int) -> float:
    b, a = lv.bandwidth_gbps * 1e9, lv.latency_ns * 1e-9
    if lv.algorithm == "tree":
        return tree_all_reduce_s(lv.size, s, b, a, chunks)
    return 2 * _level_rs_s(lv, s)


def all_reduce_s(lvls: tuple[Level, ...], s_bytes: float, chunks: int = 1) -> float:
    """Hierarchical all-reduce (one level: that level's all-reduce)."""
    if not lvls:
        return 0.0
    t, s = 0.0, s_bytes
    for lv in lvls[:-1]:
        t += 2 * _level_rs_s(lv, s)
        s /= lv.size
    return t + _level_ar_s(lvls[-1], s, chunks)


def all_gather_s(lvls: tuple[Level, ...], contribution_bytes: float) -> float:
    """Hierarchical all-gather of each chip's contribution, outermost level first."""
    t, s = 0.0, contribution_bytes
    for lv in reversed(lvls):
        s *= lv.size
        t += _level_rs_s(lv, s)
    return t
