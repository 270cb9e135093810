"""DRAM device timing for the banked model (``dram.model: banked``): per-preset JEDEC timings,
geometry and activate energy, and the YAML ``dram.timing`` block that overrides any of them.

All times in ns; a preset's "channel" (as in `asicsim.config.hardware.DRAM_PRESETS`) is split into
``sub_channels`` physical channels (an HBM stack has 8 or 16 independent channels), each with its
own banks, data bus and command bus, at 1/sub_channels of the preset channel's bandwidth.

Sources
-------
* [DDR4] JESD79-4 (DDR4 SDRAM), speed bin DDR4-3200AA (22-22-22, tCK 0.625 ns): CL = tRCD = tRP
  = 13.75 ns, CWL 16 nCK = 10 ns, tRAS 32 ns, tWR 15 ns, tRRD_S 2.5 ns, tFAW 21 ns (1 KB page, ×8),
  tWTR_L 7.5 ns, tRFC 350 ns (8 Gb), tREFI 7.8 µs; 16 banks; a ×64 rank of eight ×8 devices: 8 KB
  row, BL8 × 8 B = 64 B bursts. Read→write bus gap 2 nCK (1.25 ns).
* [LP4] JESD209-4 (LPDDR4), LPDDR4-4266 (tCK 0.469 ns): RL 36 nCK = 16.9 ns, WL 18 nCK = 8.4 ns,
  tRCD 18 ns, tRPpb 18 ns, tRAS 42 ns, tWR 18 ns, tRRD 10 ns, tFAW 40 ns, tWTR 10 ns, tRFCab 280 ns
  (8 Gb), tREFI 3.904 µs; 8 banks; the preset's ×32 channel is two ×16 dies in lockstep: 4 KB row
  (2 × 2 KB), BL16 × 4 B = 64 B bursts. Read→write bus gap ≈ 8 nCK (3.75 ns).
* [LP5] JESD209-5 (LPDDR5), LPDDR5-6400 (CK 800 MHz): RL ≈ 20 ns, WL ≈ 11 ns, tRCD 18 ns, tRPpb
  18 ns, tRAS 42 ns, tWR 34 ns, tRRD 5 ns, tFAW 20 ns, tWTR 12 ns, tRFCab 280 ns (8 Gb), tREFI
  3.9 µs; 16 banks; ×32 as two ×16 dies: 4 KB row, 64 B bursts. Read→write gap 2.5 ns (estimate).
* [HBM2] JESD235A (HBM2), 2.0 Gb/s, legacy mode (8 channels × 128 bit per stack, BL4 → 64 B):
  tCL = tRCD = tRP = 14 ns, WL 4 ns, tRAS 33 ns, tWR 16 ns, tRRD 4 ns, tFAW 16 ns, tWTR 8 ns, tRFC
  350 ns (8 Gb), tREFI 3.9 µs; 16 banks, 2 KB row per channel; read→write gap 2 ns. HBM2e (3.6 Gb/s)
  keeps the ns timings (same core) [HBM2]; an estimate.
* [HBM3] JESD238 (HBM3), 6.4 Gb/s: 16 channels × 64 bit per stack, BL8 → 64 B; tCL 16 ns, tRCD = tRP
  = 14 ns, WL 6 ns, tRAS 33 ns, tWR 16 ns, tRRD 2 ns, tFAW 12 ns, tWTR 8 ns, tRFC 350 ns, tREFI
  3.9 µs; 16 banks, 1 KB row per channel (per pseudo-channel pair); an estimate from the standard's
  published summary values.
* [ACT] Activate + precharge energy per activate, Micron TN-40-07 method E = (IDD0 − IDD3N)·VDD·tRC
  (+ the VPP share) with typical 8 Gb datasheet currents: DDR4 ≈ 0.95 nJ per ×8 device → 7.6 nJ per
  8 KB rank row; LPDDR4/5 ≈ 0.6 / 0.5 nJ per 2 KB die row → 1.2 / 1.0 nJ per 4 KB; HBM2/2e ≈ 0.9 nJ
  per 2 KB row (O'Connor et al., "Fine-Grained DRAM", MICRO 2017, report activation energy of this
  order); HBM3 0.5 nJ per 1 KB row. Estimates; override with ``dram.timing.activate_pj``.

Note on energy: the preset pJ/bit figures ([ACG] in `asicsim.config.hardware`) are averages for
streaming access and already carry an activation share; with the banked model the activate energy
is added on top, so streaming energy is overstated by about activate_pj / (row_bytes · 8) per bit
(DDR4 0.12, LPDDR4 0.04, HBM2 0.05 pJ/bit: 1-2 % of the per-bit figure).
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# name: sub_channels, banks, burst_bytes, row_bytes, and (ns) t_cl, t_cwl, t_rcd, t_rp, t_ras, t_wr,
# t_rrd, t_faw, t_rfc, t_refi, t_wtr, t_rtw; activate_pj
DRAM_TIMINGS: dict[str, dict] = {
    "ddr4": dict(sub_channels=1, banks=16, burst_bytes=64, row_bytes=8192, t_cl=13.75, t_cwl=10.0,
                 t_rcd=13.75, t_rp=13.75, t_ras=32.0, t_wr=15.0, t_rrd=2.5, t_faw=21.0, t_rfc=350.0,
                 t_refi=7800.0, t_wtr=7.5, t_rtw=1.25, activate_pj=7600.0),                  # [DDR4] [ACT]
    "lpddr4": dict(sub_channels=1, banks=8, burst_bytes=64, row_bytes=4096, t_cl=16.9, t_cwl=8.4,
                   t_rcd=18.0, t_rp=18.0, t_ras=42.0, t_wr=18.0, t_rrd=10.0, t_faw=40.0, t_rfc=280.0,
                   t_refi=3904.0, t_wtr=10.0, t_rtw=3.75, activate_pj=1200.0),              # [LP4] [ACT]
    "lpddr5": dict(sub_channels=1, banks=16, burst_bytes=64, row_bytes=4096, t_cl=20.0, t_cwl=11.0,
                   t_rcd=18.0, t_rp=18.0, t_ras=42.0, t_wr=34.0, t_rrd=5.0, t_faw=20.0, t_rfc=280.0,
                   t_refi=3900.0, t_wtr=12.0, t_rtw=2.5, activate_pj=1000.0),               # [LP5] [ACT]
    "hbm2": dict(sub_channels=8, banks=16, burst_bytes=64, row_bytes=2048, t_cl=14.0, t_cwl=4.0,
                 t_rcd=14.0, t_rp=14.0, t_ras=33.0, t_wr=16.0, t_rrd=4.0, t_faw=16.0, t_rfc=350.0,
                 t_refi=3900.0, t_wtr=8.0, t_rtw=2.0, activate_pj=900.0),                   # [HBM2] [ACT]
    "hbm2e": dict(sub_channels=8, banks=16, burst_bytes=64, row_bytes=2048, t_cl=14.0, t_cwl=4.0,
                  t_rcd=14.0, t_rp=14.0, t_ras=33.0, t_wr=16.0, t_rrd=4.0, t_faw=16.0, t_rfc=350.0,
                  t_refi=3900.0, t_wtr=8.0, t_rtw=2.0, activate_pj=900.0),                  # [HBM2] [ACT]
    "hbm3": dict(sub_channels=16, banks=16, burst_bytes=64, row_bytes=1024, t_cl=16.0, t_cwl=6.0,
                 t_rcd=14.0, t_rp=14.0, t_ras=33.0, t_wr=16.0, t_rrd=2.0, t_faw=12.0, t_rfc=350.0,
                 t_refi=3900.0, t_wtr=8.0, t_rtw=2.0, activate_pj=500.0),                   # [HBM3] [ACT]
}

TIMING_FIELDS = tuple(DRAM_TIMINGS["ddr4"])


class DramTimingConfig(BaseModel):
    """``dram.timing``: any of the banked model's device numbers (ns, bytes, pJ); unset ones come
    from the preset. Without a preset every field must be given."""
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    sub_channels: int | None = Field(None, gt=0, le=64)
    banks: int | None = Field(None, gt=0, le=1024)
    burst_bytes: int | None = Field(None, gt=0, le=4096)
    row_bytes: int | None = Field(None, gt=0, le=1 << 20)
    t_cl: float | None = Field(None, ge=0)
    t_cwl: float | None = Field(None, ge=0)
    t_rcd: float | None = Field(None, ge=0)
    t_rp: float | None = Field(None, ge=0)
    t_ras: float | None = Field(None, ge=0)
    t_wr: float | None = Field(None, ge=0)
    t_rrd: float | None = Field(None, ge=0)
    t_faw: float | None = Field(None, ge=0)
    t_rfc: float | None = Field(None, ge=0)
    t_refi: float | None = Field(None, ge=0)      # 0: no refresh
    t_wtr: float | None = Field(None, ge=0)
    t_rtw: float | None = Field(None, ge=0)
    activate_pj: float | None = Field(None, ge=0)  # one activate + its precharge

    def resolved(self, preset: str | None) -> dict:
        """Every field, preset values filled in; raises ValueError naming the missing ones."""
        base = dict(DRAM_TIMINGS[preset]) if preset else {}
        given = {k: v for k, v in self.model_dump().items() if v is not None}
        out = {**base, **given}
        missing = [f for f in TIMING_FIELDS if f not in out]
        if missing:
            raise ValueError("dram.model 'banked' without a 'preset' needs dram.timing with: " + ", ".join(missing))
        if out["row_bytes"] % out["burst_bytes"]:
            raise ValueError(f"timing.row_bytes ({out['row_bytes']}) must be a multiple of "
                             f"timing.burst_bytes ({out['burst_bytes']})")
        if out["t_refi"] and out["t_rfc"] >= out["t_refi"]:
            raise ValueError(f"timing.t_rfc ({out['t_rfc']}) must be below timing.t_refi ({out['t_refi']})")
        return out
