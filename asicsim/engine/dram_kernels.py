"""numba loops of the banked DRAM model (`asicsim.engine.dram` documents the rules they implement).

State lives in plain arrays owned by `asicsim.engine.dram.BankedDram`: ``P`` the timing
(`BankedTiming.params()` order), ``st`` per channel (bus free, last direction, next refresh index,
activates in the tFAW ring, ring pointer), ``open_row`` and ``bank_free`` per channel × bank,
``acts`` the last four activate times per channel, ``cnt`` the counters (activates, bursts,
refreshes). ``cache=True``: compiled once per machine into ``__pycache__``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

# indices into BankedTiming.params() (field order above)
_C, _NB, _BB, _RB, _TB, _CL, _CWL, _RCD, _RP, _RAS, _WR, _RRD, _FAW, _RFC, _REFI, _WTR, _RTW = range(17)
# channel state columns
BUS, DIR, REF, NACT, APTR = range(5)
# counters
ACTS, BURSTS, REFS = range(3)


@njit(cache=True)
def catch_up_refresh(P, st, open_row, bank_free, cnt, c, t):
    """Apply every refresh window of channel c that ended by time t (idle gaps)."""
    refi = P[_REFI]
    if refi <= 0.0:
        return
    kmax = math.floor((t - P[_RFC]) / refi)
    k = st[c, REF]
    if kmax >= k:
        cnt[REFS] += int(kmax - k + 1)
        we = kmax * refi + P[_RFC]
        for b in range(open_row.shape[1]):
            open_row[c, b] = -1
            bank_free[c, b] = max(bank_free[c, b], we)
        st[c, REF] = kmax + 1


@njit(cache=True)
def segment(P, st, open_row, bank_free, acts, cnt, c, b, row, nb, t, write):
    """Serve nb bursts of one row of bank b on channel c, issued at t. Returns (first data start,
    last data end)."""
    tb = P[_TB]
    lat = P[_CWL] if write else P[_CL]
    first = -1.0
    de = t
    while nb > 0:
        bus = st[c, BUS]
        ld = st[c, DIR]
        if ld >= 0.0 and (ld > 0.5) != write:
            bus += (P[_WTR] + P[_CL]) if ld > 0.5 else P[_RTW]
        act = -1.0
        if open_row[c, b] == row:
            ds = max(t + lat, bus)
        else:
            act = max(t, bank_free[c, b])
            if open_row[c, b] >= 0:
                act += P[_RP]
            na = int(st[c, NACT])
            if na > 0:
                last = acts[c, (int(st[c, APTR]) + 3) % 4]
                act = max(act, last + P[_RRD])
            if na >= 4:
                act = max(act, acts[c, int(st[c, APTR])] + P[_FAW])
            ds = max(act + P[_RCD] + lat, bus)
        ws = st[c, REF] * P[_REFI] if P[_REFI] > 0.0 else np.inf
        if ds + tb > ws:          # the next beat would cross a refresh: the refresh comes first
            we = ws + P[_RFC]
            for bb in range(open_row.shape[1]):
                open_row[c, bb] = -1
                bank_free[c, bb] = max(bank_free[c, bb], we)
            st[c, REF] += 1
            cnt[REFS] += 1
            continue
        n1 = nb
        if ds + nb * tb > ws:
            n1 = int(math.floor((ws - ds) / tb + 1e-9))
        if act >= 0.0:
            p = int(st[c, APTR])
            acts[c, p] = act
            st[c, APTR] = (p + 1) % 4
            if st[c, NACT] < 4:
                st[c, NACT] += 1
            open_row[c, b] = row
            bank_free[c, b] = act + P[_RAS]
            cnt[ACTS] += 1
        de = ds + n1 * tb
        rel = de + P[_WR] if write else de
        bank_free[c, b] = max(bank_free[c, b], rel)
        st[c, BUS] = de
        st[c, DIR] = 1.0 if write else 0.0
        cnt[BURSTS] += n1
        if first < 0.0:
            first = ds
        nb -= n1
    return first, de


@njit(cache=True)
def access(P, st, open_row, bank_free, acts, cnt, t, addr, nbytes, write):
    """One contiguous transfer of nbytes at byte address addr, issued at t: (first data start,
    last data end) over all channels it touches."""
    C = int(P[_C])
    NB = int(P[_NB])
    BB = int(P[_BB])
    RB = int(P[_RB]) // BB            # bursts per row
    i0 = addr // BB
    i1 = (addr + nbytes - 1) // BB
    start = np.inf
    end = t
    for c in range(C):
        j0 = (i0 - c + C - 1) // C
        j1 = (i1 - c) // C if i1 >= c else -1
        if j1 < j0:
            continue
        catch_up_refresh(P, st, open_row, bank_free, cnt, c, t)
        j = j0
        while j <= j1:
            e = min(j1, (j // RB + 1) * RB - 1)
            rowlin = j // RB
            s, d = segment(P, st, open_row, bank_free, acts, cnt, c, rowlin % NB, rowlin // NB,
                            e - j + 1, t, write)
            start = min(start, s)
            end = max(end, d)
            j = e + 1
    return start, end


