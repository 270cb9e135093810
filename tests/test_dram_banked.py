"""Banked DRAM model (`asicsim.engine.dram`): hand-worked cases to the cycle, the streaming and
random-access bounds on every preset, its wiring into a run (activate energy, bounds), and the
config surface (`dram.model`, `dram.timing`; the default dump unchanged)."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import yaml

from asicsim.cli.main import main
from asicsim.config.dram_timing import DRAM_TIMINGS
from asicsim.config.hardware import DramConfig, hardware_from_dict, load_hardware
from asicsim.engine.dram import BankedDram, BankedTiming, banked_timing
from asicsim.errors import InputError
from asicsim.presets import ACCELERATORS_DIR
from asicsim.studies.step import simulate
from asicsim.workload.network import load_network

# a toy channel, 1 GHz (cycles = ns): 2 banks, rows of 4 bursts of 64 B, one burst per 4 cycles
TOY = BankedTiming(channels=1, banks=2, burst_bytes=64, row_bytes=256, t_burst=4, t_cl=10, t_cwl=5,
                   t_rcd=10, t_rp=10, t_ras=20, t_wr=5, t_rrd=2, t_faw=0, t_rfc=50, t_refi=1000,
                   t_wtr=3, t_rtw=2, controller=0)


def ddr4_one_channel() -> BankedTiming:
    return banked_timing(DramConfig(preset="ddr4", model="banked", channels=1), 1.0)


def test_row_hit_stream_ddr4_by_hand():
    """One 8 KB row of DDR4-3200: activate at 0, first beat at tRCD + CL = 27.5 ns, 128 bursts of
    2.5 ns → 347.5 ns. Reading the same row again is 128 row hits straight after: 667.5 ns."""
    t = ddr4_one_channel()
    assert t.t_burst == pytest.approx(2.5)
    d = BankedDram(t)
    assert d.access(0.0, 0, 8192) == pytest.approx((27.5, 347.5))
    assert d.access(0.0, 0, 8192) == pytest.approx((347.5, 667.5))
    assert d.activates == 1 and d.bursts == 256


def test_row_miss_pattern_ddr4_by_hand():
    """64 B reads alternating between two rows of one bank: each needs precharge + activate. The
    bank may precharge tRAS = 32 ns after its activate (data ends at 30 ns), so accesses follow
    each other every tRAS + tRP = tRC = 45.75 ns: the k-th ends at 30 + k·45.75 ns."""
    d = BankedDram(ddr4_one_channel())
    row1_bank0 = 16 * 8192          # address bits: column | bank (16) | row
    ends = [d.access(0.0, (i % 2) * row1_bank0, 64)[1] for i in range(5)]
    assert ends == pytest.approx([30.0 + k * 45.75 for k in range(5)])
    assert d.activates == 5


def test_row_miss_bound_toy_by_hand():
    """Toy channel, same bank, alternating rows: first access ends at tRCD + CL + tB = 24; each
    further one at precharge (bank free at 24) + tRP + tRCD + CL + tB = 34 later."""
    d = BankedDram(TOY)
    ends = [d.access(0.0, (i % 2) * 512, 64)[1] for i in range(4)]
    assert ends == [24.0, 58.0, 92.0, 126.0]


def test_bank_interleaved_stream_toy_by_hand():
    """Two rows in two banks: the second bank's activate (tRRD after the first) is hidden behind
    the first row's data; the third row (bank 0 again) waits for bank 0's precharge."""
    d = BankedDram(TOY)
    assert d.access(0.0, 0, 256) == (20.0, 36.0)
    assert d.access(0.0, 256, 256) == (36.0, 52.0)      # bank 1: act at 2, ready at 22 < 36
    assert d.access(0.0, 512, 256) == (66.0, 82.0)      # bank 0: pre at 36, act 46, data 66
    assert d.activates == 3


def test_refresh_window_toy_by_hand():
    """A 512 B read at 950 runs into the refresh window [1000, 1050): bank 0's four bursts end at
    986; bank 1 (act 952) gets three bursts in before 1000; its last burst waits for the refresh,
    then re-activates at 1050 and ends at 1050 + tRCD + CL + tB = 1074."""
    d = BankedDram(TOY)
    assert d.access(950.0, 0, 512) == (970.0, 1074.0)
    assert d.refreshes == 1 and d.activates == 3
    # an idle gap over many windows: each one closes the rows, counted once
    d.access(10_500.0, 0, 64)
    assert d.refreshes == 10


def test_turnaround_toy_by_hand():
    """read (ends 24) → write to the open row: data tRTW after the read, 26..30 → read: tWTR + CL
    after the write data, 43..47."""
    d = BankedDram(TOY)
    assert d.access(0.0, 0, 64) == (20.0, 24.0)
    assert d.access(0.0, 64, 64, write=True) == (26.0, 30.0)
    assert d.access(0.0, 128, 64) == (43.0, 47.0)
    assert d.activates == 1


@pytest.mark.parametrize("preset", sorted(DRAM_TIMINGS))
def test_streaming_reads_reach_90_percent_of_peak(preset):
    """A read stream of 40 refresh intervals in 64 KB transfers, all queued at once: the banks hide
    each other's activates, so only refresh costs bandwidth (≈ (tRFC + tRCD + CL) / tREFI)."""
    t = banked_timing(DramConfig(preset=preset, model="banked"), 1.0)
    d = BankedDram(t)
    chunk = 1 << 16
    n = int(40 * t.t_refi * t.peak_bytes_per_time) // chunk * chunk
    end = max(d.access(0.0, a, chunk)[1] for a in range(0, n, chunk))
    eff = n / (end * t.peak_bytes_per_time)
    lost = (t.t_rfc + t.t_rcd + t.t_cl) / t.t_refi
    assert 0.90 <= eff <= 1.0
    assert eff == pytest.approx(1 - lost, abs=0.01)
    assert d.refreshes > 20


@pytest.mark.parametrize("preset", sorted(DRAM_TIMINGS))
def test_random_64b_reads_fall_to_the_row_miss_bound(preset):
    """Every 64 B read opens a new row. Rotating over the banks, a channel gets one read per
    max(tB, tRRD, tFAW/4) — the activation-rate bound, reached to 1 % (refresh off); fully random
    addresses do no better (in-order issue stalls on bank conflicts) and no worse than one per tRC
    per channel."""
    t = replace(banked_timing(DramConfig(preset=preset, model="banked"), 1.0), t_refi=0.0)
    per_act = max(t.t_burst, t.t_rrd, t.t_faw / 4)
    bound = t.channels * 64 / per_act
    stripe = t.row_bytes * t.channels       # one row of each channel
    n = 800 * t.channels
    d = BankedDram(t)
    ends = [d.access(0.0, (i % (t.channels * t.banks)) // t.channels * stripe
                     + (i % t.channels) * 64 + (i // (t.channels * t.banks)) * stripe * t.banks, 64)[1]
            for i in range(n)]
    assert d.activates == n
    steady = (n - n // 2) * 64 / (max(ends) - max(ends[: n // 2]))     # start-up latency left out
    assert steady == pytest.approx(bound, rel=0.01)
    rng = np.random.default_rng(0)
    d = BankedDram(t)
    end = max(d.access(0.0, int(a) * 64, 64)[1] for a in rng.integers(0, 1 << 24, n))
    rate = n * 64 / end
    t_rc = t.t_ras + t.t_rp
    assert t.channels * 64 / t_rc < rate <= bound * 1.0001
    assert rate < 0.5 * t.peak_bytes_per_time


def test_default_dump_unchanged_and_banked_fields_shown():
    hw = load_hardware("edge")
    assert "model" not in hw.dram.model_dump() and "timing" not in hw.model_dump(mode="json")["dram"]
    banked = DramConfig(preset="lpddr4", model="banked", timing={"t_rcd": 20.0})
    d = banked.model_dump(mode="json")
    assert d["model"] == "banked" and d["timing"]["t_rcd"] == 20.0
    assert banked_timing(banked, 2.0).t_rcd == 40.0           # ns → cycles at 2 GHz
    explicit = DramConfig(model="banked", bandwidth_gb_s=10.0, latency_ns=50.0, read_pj_per_bit=5.0,
                          write_pj_per_bit=5.0, timing=DRAM_TIMINGS["ddr4"])
    t = banked_timing(explicit, 1.0)
    assert (t.channels, t.t_burst, t.controller) == (1, 6.4, 50.0 - 13.75 - 13.75)


@pytest.mark.parametrize("dram, msg", [
    ({"model": "banked", "bandwidth_gb_s": 10, "latency_ns": 50, "read_pj_per_bit": 5, "write_pj_per_bit": 5},
     "needs dram.timing with"),
    ({"preset": "ddr4", "model": "banked", "timing": {"row_bytes": 100}}, "multiple of"),
    ({"preset": "ddr4", "model": "fast"}, "model"),
    ({"preset": "ddr4", "model": "banked", "timing": {"t_rfc": -1}}, "t_rfc"),
    ({"preset": "ddr4", "model": "banked", "timing": {"tRCD": 3}}, "tRCD"),
])
def test_bad_banked_config_names_the_field(dram, msg):
    with pytest.raises(InputError, match=msg):
        hardware_from_dict({"array": {"rows": 8, "cols": 8}, "sram": {"g": {"capacity_kib": 64}}, "dram": dram})


def test_bad_banked_config_exits_2(tmp_path, capsys):
    hw = yaml.safe_load((ACCELERATORS_DIR / "edge.yaml").read_text())
    hw["dram"]["model"] = "banked"
    hw["dram"]["timing"] = {"banks": 0}
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(hw))
    argv = ["run", "--accelerator", str(p), "--network", "lenet5", "--batch", "2", "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "banks" in err[0] and "Traceback" not in err[0]


def _edge(model: str):
    hw = load_hardware("edge")
    return hw.model_copy(update={"dram": hw.dram.model_copy(update={"model": model})})


def test_banked_run_bounds_and_activate_energy():
    """AlexNet b4 on edge: the banked run keeps every cycle bound, moves the same bytes, and its DRAM
    energy differs from the bandwidth model's by exactly activates × activate energy plus background
    power over the cycle difference."""
    net = load_network("alexnet")
    bw, bk = simulate(_edge("bandwidth"), net, 4), simulate(_edge("banked"), net, 4)
    sb, sk = bw.summary, bk.summary
    assert sk["dram_read_bytes"] == sb["dram_read_bytes"] and sk["dram_write_bytes"] == sb["dram_write_bytes"]
    assert "dram_banked" not in sb
    info = sk["dram_banked"]
    assert 0 < info["activates"] < info["bursts"]
    hw = _edge("banked")
    assert sk["total_cycles"] >= (sk["dram_read_bytes"] + sk["dram_write_bytes"]) / hw.dram_bytes_per_cycle
    assert sk["total_cycles"] >= sk["macs"] / hw.peak_macs_per_cycle
    d = hw.dram
    background = d.background_mw * d.channels * (sk["total_cycles"] - sb["total_cycles"]) / hw.array.clock_ghz
    extra = info["activates"] * DRAM_TIMINGS["lpddr4"]["activate_pj"]
    assert sk["energy_breakdown_pj"]["dram"] - sb["energy_breakdown_pj"]["dram"] == pytest.approx(
        extra + background, rel=1e-9)
    json.dumps(sk)


def test_timeline_busy_matches_the_table():
    """timeline.csv's busy cycles add up to the table's compute cycles; DRAM intervals stay in the step."""
    r = simulate(_edge("banked"), load_network("lenet5"), 8, timeline=True)
    tl, layers = r.timeline, r.layers
    units = tl[tl.resource != "dram"]
    assert units.busy_cycles.sum() == pytest.approx(layers.compute_cycles.sum(), rel=1e-12)
    assert (tl.end_cycle <= r.summary["total_cycles"] + 1e-6).all() and (tl.start_cycle >= 0).all()
    assert (tl.busy_cycles <= tl.end_cycle - tl.start_cycle + 1e-6).all()
    assert set(tl.resource) == {"array", "vector", "dram"}
