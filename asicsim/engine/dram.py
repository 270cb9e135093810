"""Banked DRAM timing (``dram.model: banked``): per channel and bank state, row hits and misses,
activate limits, refresh and read/write turnaround, evaluated per tile transfer.

Why analytic per row segment, not per-burst events: ResNet-18 b32 on ``edge`` moves 4.4 GB through
DRAM, about 69 M bursts of 64 B; one simpy event per burst would take minutes. A transfer is
instead cut into *row segments* (the bursts of one channel that fall in one row of one bank) and
each segment's first and last data beat is computed in closed form from the channel's state
(`asicsim.engine.dram_kernels.segment`): ~1 M segments for that run, looped in numba. Bursts
inside a segment are row hits issued back to back, so their timing is exact under the rules
below, not an average.

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

from dataclasses import dataclass, fields, replace

import numpy as np

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

    def in_cycles(self, clock_ghz: float) -> BankedTiming:
        """The same timing with every time field converted from ns to array cycles."""
        return replace(self, **{f: getattr(self, f) * clock_ghz for f in _FIELDS_NS})

    @property
    def peak_bytes_per_time(self) -> float:
        return self.channels * self.burst_bytes / self.t_burst

    def params(self) -> np.ndarray:
        return np.array([getattr(self, f.name) for f in fields(self)], dtype=np.float64)


class BankedDram:
    """State of every channel and bank; `access` serves one transfer (calls in issue order)."""

    def __init__(self, timing: BankedTiming):
        if timing.row_bytes % timing.burst_bytes:
            raise ValueError("row_bytes must be a multiple of burst_bytes")
        from asicsim.engine import (
            dram_kernels as k,  # numba: imported only when the model is used
        )

        self._k = k
        self.timing = timing
        C, B = timing.channels, timing.banks
        self._p = timing.params()
        self._st = np.zeros((C, 5))
        self._st[:, k.DIR] = -1.0
        self._st[:, k.REF] = 1.0
        self._open = np.full((C, B), -1, dtype=np.int64)
        self._free = np.zeros((C, B))
        self._acts = np.zeros((C, 4))
        self._cnt = np.zeros(3, dtype=np.int64)

    def access(self, t: float, addr: int, nbytes: int, write: bool = False) -> tuple[float, float]:
        """Serve ``nbytes`` at byte address ``addr`` issued at time ``t``: (first data start, last
        data end). Zero bytes: (t, t)."""
        if nbytes <= 0:
            return t, t
        return self._k.access(self._p, self._st, self._open, self._free, self._acts, self._cnt,
                       float(t), int(addr), int(nbytes), bool(write))

    @property
    def activates(self) -> int:
        return int(self._cnt[self._k.ACTS])

    @property
    def bursts(self) -> int:
        return int(self._cnt[self._k.BURSTS])

    @property
    def refreshes(self) -> int:
        return int(self._cnt[self._k.REFS])

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
