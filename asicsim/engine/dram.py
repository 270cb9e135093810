"""Banked DRAM timing (``dram.model: banked``): per channel and bank state, row hits and misses,
activate limits, refresh and read/write turnaround, evaluated per tile transfer.

Why analytic per row segment, not per-burst events: ResNet-18 b32 on ``edge`` moves 4.4 GB through
DRAM, about 69 M bursts of 64 B; one simpy event per burst would take minutes. A transfer is
instead cut into *row segments* (the bursts of one channel that fall in one row of one bank) and
each segment's first and last data beat is computed in closed form from the channel's state
(``_segment``): ~1 M segments for that run, looped in numba. Bursts inside a segment are row hits
issued back to back, so their timing is exact under the rules below, not an average.

Address mapping (documented assumption; `BankedDram.access` takes byte addresses). Bits, low to
high: byte in burst | channel | column (burst within the row) | bank | row. Consecutive bursts
therefore alternate channels; one channel fills a row of one bank, then moves to the next bank.
The link (`asicsim.engine.sim.BankedLink`) lays tiles out tile-major: every step's DRAM load is one
contiguous block, consecutive loads of an op follow each other, writes go to a separate region that
starts half the banks away, and each op's blocks start at a fresh row stripe (a row in every bank of
every channel) of each region. Strided (row-major) tile layouts, which have fewer row hits, are not
modelled.

Timing rules of one channel (``t*`` in array cycles; ``tB`` = burst_bytes / channel bandwidth):

* Data bus: one burst per ``tB``, in issue order (FIFO, in-order commands, open-page policy).
* Row hit: the segment's data starts at max(issue + CL (CWL for writes), bus free).
* Row miss: precharge at max(issue, bank free) if a row is open, activate ``tRP`` later (closed bank:
  activate at max(issue, bank free)); the activate also waits ``tRRD`` after the channel's previous
  activate and ``tFAW`` after the fourth-previous one; data starts at max(activate + tRCD + CL/CWL,
  bus free). The bank is free to precharge at max(activate + tRAS, last data end (+ tWR for writes)).
* Turnaround: read data after a write waits tWTR + CL after the last write data; write data after a
  read waits ``tRTW`` after the last read data.
* Refresh (all-bank): windows [k·tREFI, k·tREFI + tRFC), k = 1, 2, …; no data beat crosses a window
  start (a segment is split there); every bank is closed at the window's end and cannot activate
  before it. The precharge-all before a refresh is taken as part of tRFC.

Bounds this gives (checked in tests): a long read stream keeps the bus busy except for refresh
(efficiency ≈ 1 − (tRFC + tRCD + CL)/tREFI when the banks hide each other's activates), and 64 B
random reads are limited to one burst per max(tB, tRRD, tFAW/4) (the row-miss bound) or slower
when consecutive reads hit the same bank (tRP + tRCD + CL + tB per access for one bank).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np
from numba import njit

_FIELDS_NS = ("t_burst", "t_cl", "t_cwl", "t_rcd", "t_rp", "t_ras", "t_wr", "t_rrd", "t_faw",
              "t_rfc", "t_refi", "t_wtr", "t_rtw", "controller")


@dataclass(frozen=True)
class BankedTiming:
    """Geometry and timing of one physical channel (all channels alike). Time fields are in the unit
    the simulation runs in (ns from the config, array cycles after `in_cycles`)."""
    channels: int          # independent physical channels (command + data bus each)
    banks: int             # banks per channel
    burst_bytes: int       # bytes per burst on one channel
    row_bytes: int         # row (page) size of one channel
    t_burst: float         # data-bus time of one burst
    t_cl: float            # read column latency (CL / RL)
    t_cwl: float           # write column latency (CWL / WL)
    t_rcd: float
    t_rp: float
    t_ras: float
    t_wr: float            # write recovery before a precharge
    t_rrd: float           # activate to activate, same channel
    t_faw: float           # window of four activates
    t_rfc: float           # refresh cycle time (all banks)
    t_refi: float          # refresh interval (0: no refresh)
    t_wtr: float           # write data end → read command
    t_rtw: float           # read data end → write data (bus turnaround)
    controller: float      # controller/PHY latency added to each transfer's arrival (pipelined)

    def in_cycles(self, clock_ghz: float) -> "BankedTiming":
        """The same timing with every time field converted from ns to array cycles."""
        return replace(self, **{f: getattr(self, f) * clock_ghz for f in _FIELDS_NS})

    @property
    def peak_bytes_per_time(self) -> float:
        return self.channels * self.burst_bytes / self.t_burst

    def params(self) -> np.ndarray:
        return np.array([getattr(self, f.name) for f in fields(self)], dtype=np.float64)


# indices into BankedTiming.params() (field order above)
_C, _NB, _BB, _RB, _TB, _CL, _CWL, _RCD, _RP, _RAS, _WR, _RRD, _FAW, _RFC, _REFI, _WTR, _RTW = range(17)
# channel state columns
_BUS, _DIR, _REF, _NACT, _APTR = range(5)
# counters
_ACTS, _BURSTS, _REFS = range(3)


@njit(cache=True)
def _catch_up_refresh(P, st, open_row, bank_free, cnt, c, t):
    """Apply every refresh window of channel c that ended by time t (idle gaps)."""
    refi = P[_REFI]
    if refi <= 0.0:
        return
    kmax = math.floor((t - P[_RFC]) / refi)
    k = st[c, _REF]
    if kmax >= k:
        cnt[_REFS] += int(kmax - k + 1)
        we = kmax * refi + P[_RFC]
        for b in range(open_row.shape[1]):
            open_row[c, b] = -1
            if bank_free[c, b] < we:
                bank_free[c, b] = we
        st[c, _REF] = kmax + 1


@njit(cache=True)
def _segment(P, st, open_row, bank_free, acts, cnt, c, b, row, nb, t, write):
    """Serve nb bursts of one row of bank b on channel c, issued at t. Returns (first data start,
    last data end)."""
    tb = P[_TB]
    lat = P[_CWL] if write else P[_CL]
    first = -1.0
    de = t
    while nb > 0:
        bus = st[c, _BUS]
        ld = st[c, _DIR]
        if ld >= 0.0 and (ld > 0.5) != write:
            bus += (P[_WTR] + P[_CL]) if ld > 0.5 else P[_RTW]
        act = -1.0
        if open_row[c, b] == row:
            ds = max(t + lat, bus)
        else:
            act = max(t, bank_free[c, b])
            if open_row[c, b] >= 0:
                act += P[_RP]
            na = int(st[c, _NACT])
            if na > 0:
                last = acts[c, (int(st[c, _APTR]) + 3) % 4]
                act = max(act, last + P[_RRD])
            if na >= 4:
                act = max(act, acts[c, int(st[c, _APTR])] + P[_FAW])
            ds = max(act + P[_RCD] + lat, bus)
        ws = st[c, _REF] * P[_REFI] if P[_REFI] > 0.0 else np.inf
        if ds + tb > ws:          # the next beat would cross a refresh: the refresh comes first
            we = ws + P[_RFC]
            for bb in range(open_row.shape[1]):
                open_row[c, bb] = -1
                if bank_free[c, bb] < we:
                    bank_free[c, bb] = we
            st[c, _REF] += 1
            cnt[_REFS] += 1
            continue
        n1 = nb
        if ds + nb * tb > ws:
            n1 = int(math.floor((ws - ds) / tb + 1e-9))
        if act >= 0.0:
            p = int(st[c, _APTR])
            acts[c, p] = act
            st[c, _APTR] = (p + 1) % 4
            if st[c, _NACT] < 4:
                st[c, _NACT] += 1
            open_row[c, b] = row
            bank_free[c, b] = act + P[_RAS]
            cnt[_ACTS] += 1
        de = ds + n1 * tb
        rel = de + P[_WR] if write else de
        if bank_free[c, b] < rel:
            bank_free[c, b] = rel
        st[c, _BUS] = de
        st[c, _DIR] = 1.0 if write else 0.0
        cnt[_BURSTS] += n1
        if first < 0.0:
            first = ds
        nb -= n1
    return first, de


@njit(cache=True)
def _access(P, st, open_row, bank_free, acts, cnt, t, addr, nbytes, write):
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
        _catch_up_refresh(P, st, open_row, bank_free, cnt, c, t)
        j = j0
        while j <= j1:
            e = min(j1, (j // RB + 1) * RB - 1)
            rowlin = j // RB
            s, d = _segment(P, st, open_row, bank_free, acts, cnt, c, rowlin % NB, rowlin // NB,
                            e - j + 1, t, write)
            start = min(start, s)
            end = max(end, d)
            j = e + 1
    return start, end


class BankedDram:
    """State of every channel and bank; `access` serves one transfer (calls in issue order)."""

    def __init__(self, timing: BankedTiming):
        if timing.row_bytes % timing.burst_bytes:
            raise ValueError("row_bytes must be a multiple of burst_bytes")
        self.timing = timing
        C, B = timing.channels, timing.banks
        self._p = timing.params()
        self._st = np.zeros((C, 5))
        self._st[:, _DIR] = -1.0
        self._st[:, _REF] = 1.0
        self._open = np.full((C, B), -1, dtype=np.int64)
        self._free = np.zeros((C, B))
        self._acts = np.zeros((C, 4))
        self._cnt = np.zeros(3, dtype=np.int64)

    def access(self, t: float, addr: int, nbytes: int, write: bool = False) -> tuple[float, float]:
        """Serve ``nbytes`` at byte address ``addr`` issued at time ``t``: (first data start, last
        data end). Zero bytes: (t, t)."""
        if nbytes <= 0:
            return t, t
        return _access(self._p, self._st, self._open, self._free, self._acts, self._cnt,
                       float(t), int(addr), int(nbytes), bool(write))

    @property
    def activates(self) -> int:
        return int(self._cnt[_ACTS])

    @property
    def bursts(self) -> int:
        return int(self._cnt[_BURSTS])

    @property
    def refreshes(self) -> int:
        return int(self._cnt[_REFS])

    @property
    def stripe_bytes(self) -> int:
        """Bytes of one row in every bank of every channel (the alignment of a new tensor region)."""
        t = self.timing
        return t.row_bytes * t.channels * t.banks


def banked_timing(dram, clock_ghz: float) -> BankedTiming:
    """The banked model of a `DramConfig` in array cycles. A preset channel is ``sub_channels``
    physical channels sharing its bandwidth; tBURST = burst bytes / physical channel bandwidth
    (GB/s = bytes/ns), so the peak equals the bandwidth model's. The controller/PHY share of the
    preset's idle latency (latency_ns − tRCD − CL, at least 0) is added to every transfer's arrival."""
    d = dram.banked_timing()
    per_ch_gb_s = dram.bandwidth_gb_s / d["sub_channels"]
    ns = BankedTiming(
        channels=dram.channels * d["sub_channels"], banks=d["banks"], burst_bytes=d["burst_bytes"],
        row_bytes=d["row_bytes"], t_burst=d["burst_bytes"] / per_ch_gb_s, t_cl=d["t_cl"], t_cwl=d["t_cwl"],
        t_rcd=d["t_rcd"], t_rp=d["t_rp"], t_ras=d["t_ras"], t_wr=d["t_wr"], t_rrd=d["t_rrd"],
        t_faw=d["t_faw"], t_rfc=d["t_rfc"], t_refi=d["t_refi"], t_wtr=d["t_wtr"], t_rtw=d["t_rtw"],
        controller=max(0.0, dram.latency_ns - d["t_rcd"] - d["t_cl"]))
    return ns.in_cycles(clock_ghz)
