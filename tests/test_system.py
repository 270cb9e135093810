"""Multi-chip data-parallel model: collectives against closed forms, invariants, bad input."""
from __future__ import annotations

import math

import pytest
import yaml

from asicsim.cli.main import main
from asicsim.config.hardware import load_hardware
from asicsim.config.update import UpdateConfig
from asicsim.presets import SYSTEMS_DIR
from asicsim.studies.multichip import simulate_system
from asicsim.studies.step import simulate
from asicsim.system import closed_forms as cf
from asicsim.system.config import Level, levels, load_system, system_from_dict
from asicsim.system.fabric import run_collective
from asicsim.system.overlap import BucketLayer, Task, make_buckets, simulate_step
from asicsim.system.payload import network_payload
from asicsim.workload.network import load_network

# (N, S bytes, B GB/s, α ns): 24 ring cases
RING_CASES = [(n, s, b, a) for n in (2, 3, 8, 64, 1024, 5) for (s, b, a) in
              ((1e3, 10.0, 0.0), (25 * 2**20, 150.0, 700.0), (1e8, 25.0, 2000.0), (3.3e6, 80.0, 1000.0))]


def _ring(n, b, a, links=1):
    return Level(n, "ring", "ring", b, a, 1.0, links)


@pytest.mark.parametrize("n,s,b,a", RING_CASES)
def test_ring_all_reduce_matches_closed_form(n, s, b, a):
    sim_s = run_collective((_ring(n, b, a),), 1.0, "all_reduce", s) * 1e-9
    truth = 2 * (n - 1) / n * s / (b * 1e9) + 2 * (n - 1) * a * 1e-9   # the ring all-reduce closed form, written out
    assert sim_s == pytest.approx(truth, rel=0.01)
    assert truth == pytest.approx(cf.ring_all_reduce_s(n, s, b * 1e9, a * 1e-9), rel=1e-12)


@pytest.mark.parametrize("n,links,clock", [(4, 2, 1.0), (16, 4, 0.7), (9, 1, 2.0)])
def test_ring_reduce_scatter_all_gather_and_links(n, links, clock):
    lv = _ring(n, 50.0, 300.0, links)
    s = 7e6
    for op in ("reduce_scatter", "all_gather"):
        nbytes = s if op == "reduce_scatter" else s / n      # all_gather takes each chip's contribution
        got = run_collective((lv,), clock, op, nbytes) / (clock * 1e9)
        assert got == pytest.approx(cf.ring_reduce_scatter_s(n, s, 50e9, 300e-9, links), rel=0.01)
    got = run_collective((lv,), clock, "all_reduce", s) / (clock * 1e9)
    assert got == pytest.approx(cf.ring_all_reduce_s(n, s, 50e9, 300e-9, links), rel=0.01)


@pytest.mark.parametrize("n", [2, 3, 7, 8, 33, 100])
@pytest.mark.parametrize("chunks", [1, 4])
def test_tree_all_reduce_matches_closed_form(n, chunks):
    lv = Level(n, "fully_connected", "tree", 100.0, 500.0, 1.0, n - 1)
    got = run_collective((lv,), 1.0, "all_reduce", 4e6, chunks) * 1e-9
    assert got == pytest.approx(cf.tree_all_reduce_s(n, 4e6, 100e9, 500e-9, chunks), rel=0.01)
    # a switch with one port per chip shares the parent's ports between its two children: slower
    sw = Level(n, "switch", "tree", 100.0, 500.0, 1.0, 1)
    assert run_collective((sw,), 1.0, "all_reduce", 4e6, chunks) * 1e-9 >= got * (1 - 1e-9)


@pytest.mark.parametrize("n,topology,links", [(2, "switch", 1), (8, "switch", 2), (8, "fully_connected", 7),
                                              (31, "switch", 4), (5, "fully_connected", 4)])
def test_direct_all_reduce_matches_closed_form(n, topology, links):
    lv = Level(n, topology, "direct", 40.0, 800.0, 1.0, links)
    got = run_collective((lv,), 1.0, "all_reduce", 9e6) * 1e-9
    assert got == pytest.approx(cf.direct_all_reduce_s(n, 9e6, 40e9, 800e-9, links), rel=0.01)


@pytest.mark.parametrize("preset,chips", [("node8x8", 64), ("node8x8", 256), ("torus1024", 1024), ("torus1024", 48)])
def test_hierarchical_all_reduce_matches_closed_form(preset, chips):
    lv = levels(load_system(preset, chips=chips))
    s = 25 * 2**20
    assert run_collective(lv, 1.0, "all_reduce", s) * 1e-9 == pytest.approx(cf.all_reduce_s(lv, s), rel=0.01)
    assert run_collective(lv, 1.0, "all_gather", 1e5) * 1e-9 == pytest.approx(cf.all_gather_s(lv, 1e5), rel=0.01)


def test_buckets_follow_the_cap():
    grads = [BucketLayer(f"l{i}", 10, 0, 0, 10) for i in range(7)]
    assert [len(b) for b in make_buckets(grads, 25)] == [3, 3, 1]
    assert [len(b) for b in make_buckets(grads, 1e9)] == [7]


def test_overlap_bounds():
    lv = (_ring(16, 20.0, 1000.0, 2),)
    tasks = [Task(f"l{i}", 2e5) for i in range(10)]
    grads = {t.layer: BucketLayer(t.layer, 4e6, 0, 0, 4e6) for t in tasks}
    fwd, upd = 1e6, 5e4
    compute = fwd + sum(t.cycles for t in tasks) + upd
    for cap in (1, 8e6, 1e12):
        for overlap in (True, False):
            tl = simulate_step(lv, 1.0, fwd, tasks, grads, upd, cap, overlap=overlap)
            alone = sum(run_collective(lv, 1.0, "all_reduce", sum(l.allreduce_bytes for l in b.layers))
                        for b in tl.buckets)
            bw_only = 2 * 15 / 16 * 40e6 / (2 * 20.0)
            assert tl.step_cycles >= max(compute, fwd + bw_only) * (1 - 1e-9)
            assert tl.step_cycles <= (compute + alone) * (1 + 1e-9)
            assert tl.exposed_cycles == pytest.approx(sum(b.exposed for b in tl.buckets), rel=1e-9, abs=1e-6)
            assert tl.step_cycles == pytest.approx(tl.compute_cycles + tl.exposed_cycles, rel=1e-12)
    serial = simulate_step(lv, 1.0, fwd, tasks, grads, upd, 8e6, overlap=False)
    over = simulate_step(lv, 1.0, fwd, tasks, grads, upd, 8e6, overlap=True)
    assert over.step_cycles < serial.step_cycles


@pytest.fixture(scope="module")
def cloud():
    return load_hardware("cloud")


@pytest.fixture(scope="module")
def r18():
    return load_network("resnet18")


@pytest.mark.parametrize("rule", ["full", "sbpca"])
def test_one_chip_equals_single_chip(cloud, r18, rule):
    upd = UpdateConfig(rule=rule, rank=4)
    one = simulate_system(cloud, r18, 32, upd, load_system("ring8", chips=1))
    ref = simulate(cloud, r18, 32, upd)
    assert one.step.layers.equals(ref.layers)
    assert {k: v for k, v in one.summary.items() if k != "system"} == ref.summary
    s = one.summary["system"]
    assert s["step_cycles"] == ref.summary["total_cycles"]
    assert s["exposed_comm_cycles"] == 0 and s["comm_bytes_sent_per_chip"] == 0


def test_more_bandwidth_never_slower(cloud, r18):
    prev = math.inf
    base = yaml.safe_load((SYSTEMS_DIR / "node8x8.yaml").read_text())
    for bw in (1, 5, 25, 100, 400):
        d = {**base, "link": {**base["link"], "bandwidth_gbps": bw}}
        r = simulate_system(cloud, r18, 32, UpdateConfig(), system_from_dict(d))
        step = r.summary["system"]["step_cycles"]
        assert step <= prev * (1 + 1e-12)
        prev = step


@pytest.mark.parametrize("k", [1, 4, 16])
def test_sbpca_payload_is_factor_count(r18, k):
    pay = network_payload(r18, UpdateConfig(rule="sbpca", rank=k), 4)
    expect = 0
    for l in r18.weighted_layers:
        m, n = l.weight_shape
        kk = max(1, min(k, m, n))
        expect += kk * (m + n + 1) * 4
    assert sum(p.allgather_bytes for p in pay.values()) == expect
    full = network_payload(r18, UpdateConfig(), 4)
    assert sum(p.wire_bytes for p in full.values()) == r18.num_params * 4


def test_sbpca_gathers_and_pays_extra_expansion(cloud, r18):
    r = simulate_system(cloud, r18, 32, UpdateConfig(rule="sbpca", rank=4), load_system("ring8"))
    s = r.summary["system"]
    ag = float(r.buckets["allgather_bytes"].sum())
    ar = float(r.buckets["allreduce_bytes"].sum())
    # ring all-gather: each chip sends 7/8 of the 8·P gathered bytes; biases/BN all-reduced: 2·7/8
    assert s["comm_bytes_sent_per_chip"] == pytest.approx(7 * ag + 2 * 7 / 8 * ar, rel=1e-9)
    assert s["extra_compute_cycles"] > 0


SYSTEM_CASES = [  # (override, words the one-line message must contain)
    ({"chips": 0}, ["chips", "0"]),
    ({"link": {"bandwidth_gbps": -5}}, ["link.bandwidth_gbps", "-5"]),
    ({"topology": "mesh"}, ["topology", "mesh", "torus2d"]),
    ({"topology": "torus2d", "torus_dims": [3, 3]}, ["torus_dims", "[3, 3]", "product 8"]),
    ({"collective": {"algorithm": "tree"}}, ["collective.algorithm", "tree", "ring"]),
    ({"topology": "hierarchical", "dims": [{"size": 3}, {}]}, ["chips", "8", "multiple of 3"]),
]


@pytest.mark.parametrize("override,words", SYSTEM_CASES)
def test_bad_system_exits_2_with_one_line(tmp_path, capsys, override, words):
    d = {"name": "s", "chips": 8, "topology": "ring", "link": {"bandwidth_gbps": 10}}
    d.update(override)
    f = tmp_path / "sys.yaml"
    f.write_text(yaml.safe_dump(d))
    rc = main(["run", "--network", "lenet5", "--system", str(f), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and str(f) in err
    for w in words:
        assert w in err, err


def test_resist_subnetworks_and_protocol(cloud, r18):
    from asicsim.system.resist import removable_blocks, subnetworks
    blocks = removable_blocks(r18)
    assert [b.entry for b in blocks] == ["maxpool", "layer1.0.relu", "layer2.0.relu", "layer3.0.relu", "layer4.0.relu"]
    subs = subnetworks(r18, 4, seed=0)
    own = {}
    for i, (_, names) in enumerate(subs):
        for b in blocks:
            if b.layers[0] in names:
                own.setdefault(b.entry, []).append(i)
    assert sorted(len(v) for v in own.values()) == [1] * 5          # every block in exactly one sub-network
    assert all(sub.num_params < r18.num_params for sub, _ in subs)
    sysd = load_system("ring8")
    r = simulate_system(cloud, r18, 32, UpdateConfig(rule="resist"), sysd).summary["system"]
    rs = r["resist"]
    assert rs["subnets"] == 4 and r["compute_cycles"] == max(rs["subnet_step_cycles"])
    # one all-reduce of the largest sub-network per round of L steps, charged per step
    lv = levels(sysd)
    assert rs["sync_cycles"] == pytest.approx(run_collective(lv, 1.0, "all_reduce", rs["held_bytes_per_chip"]))
    assert r["step_cycles"] == pytest.approx(r["compute_cycles"] + rs["sync_cycles"] / rs["local_iterations"])
    assert r["comm_bytes_sent_per_chip"] == pytest.approx(2 * 7 / 8 * rs["held_bytes_per_chip"] / rs["local_iterations"])
