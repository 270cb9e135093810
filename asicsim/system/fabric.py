"""The chip-to-chip fabric in the event model (simpy): ports, and collectives as chunked processes.

Time is in cycles of the accelerator clock, so the compute timeline and the fabric share one
simpy environment. A link direction is a `Port`: a transfer issued at ``now`` starts when every
port it needs is free, holds them for bytes / (bytes per cycle) and arrives one latency later
(the latency does not hold the port: messages are pipelined, the α-β model). A switch transfer
holds the sender's egress port and the receiver's ingress port; a ring or fully connected
transfer its own directed link. Concurrent collectives (several buckets in flight) queue on the
same ports in issue order, which is how they contend.

Symmetry (stated wherever it is used): ring, direct and hierarchical collectives are the same on
every chip — each chip sends the same bytes on its own links at the same times, and what it
waits for is its neighbour's send, which by symmetry arrives when its own send does. So one
representative chip is simulated per level (one equivalence class); its ports carry exactly what
every chip's ports carry. A tree is not symmetric: every node of the tree is simulated (on a
hierarchical system, one tree stands for the identical trees of all inner positions).

Algorithms per level (N chips, S bytes, C chunks per message, L links):
* ring: reduce-scatter = N−1 steps, each chip sending S/(L·N) on each of its L rings; all-gather
  the same; all-reduce = both (2(N−1) steps). Chunk c of step j waits for chunk c of step j−1.
* direct: reduce-scatter = every chip sends S/N to each of its N−1 peers at once (fully
  connected: one link each; switch: round-robin over its L ports); all-gather likewise.
* tree (all-reduce only, outermost level): a pipelined binary tree in heap order (node v's
  children 2v+1, 2v+2): chunks are reduced towards the root and broadcast back, a node forwarding
  chunk i once all its children's chunk i arrived (cf. NCCL's trees; a single tree, not NCCL's
  double binary tree, which would halve each tree's share).
* hierarchical all-reduce: reduce-scatter on each inner level (innermost first, the data
  shrinking by each level's size), all-reduce on the outermost, all-gather back out; an
  all-gather runs outermost level first (least data on the slowest links).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import simpy

from asicsim.system.config import Level


@dataclass
class Port:
    """One direction of one link: when it is next free (cycles), cycles busy, bytes it carried."""
    free_at: float = 0.0
    busy: float = 0.0
    bytes: float = 0.0


def send(env, nbytes: float, ports: tuple[Port, ...], bytes_per_cycle: float, latency_cycles: float):
    """Issue one transfer over ``ports`` (all held at once); the event fires on arrival."""
    start = max([env.now] + [p.free_at for p in ports])
    dur = nbytes / bytes_per_cycle
    for p in ports:
        p.free_at = start + dur
        p.busy += dur
    ports[0].bytes += nbytes
    return env.timeout(start + dur + latency_cycles - env.now)


@dataclass
class LevelNet:
    """A level's ports as the model needs them: the representative chip's egress ports (ring,
    direct), or every node's (tree)."""
    level: Level
    bytes_per_cycle: float
    latency_cycles: float
    chunks: int
    ports: list[Port] = field(default_factory=list)
    tree_links: dict = field(default_factory=dict)     # (src, dst) -> Port (fully connected)
    tree_ports: dict = field(default_factory=dict)     # (node, "out"/"in") -> [Port] (switch)

    @property
    def n(self) -> int:
        return self.level.size

    def xfer(self, env, nbytes: float, port: Port):
        return send(env, nbytes, (port,), self.bytes_per_cycle, self.latency_cycles)


def level_net(level: Level, clock_ghz: float, chunks: int) -> LevelNet:
    net = LevelNet(level, level.bandwidth_gbps / clock_ghz, level.latency_ns * clock_ghz, chunks)
    net.ports = [Port() for _ in range(level.links)]
    return net


# --------------------------------------------------------------------------- one level


def _chain(env, net: LevelNet, port: Port, nbytes: float, steps: int):
    for _ in range(steps):
        yield net.xfer(env, nbytes, port)


def ring(env, net: LevelNet, total_bytes: float, steps: int):
    """``steps`` ring steps of total_bytes/(L·N) per ring and chip, each cut into C chunks."""
    L, C = len(net.ports), net.chunks
    sub = total_bytes / (L * net.n * C)
    if sub <= 0:
        return
    procs = [env.process(_chain(env, net, p, sub, steps)) for p in net.ports for _ in range(C)]
    yield simpy.AllOf(env, procs)


def direct(env, net: LevelNet, total_bytes: float):
    """One direct exchange: total_bytes/N to each of the N−1 peers, all issued at once."""
    per = total_bytes / (net.n * net.chunks)
    if per <= 0:
        return
    evs = [net.xfer(env, per, net.ports[p % len(net.ports)]) for p in range(net.n - 1) for _ in range(net.chunks)]
    yield simpy.AllOf(env, evs)


def _tree_send(env, net: LevelNet, src: int, dst: int, nbytes: float):
    lv = net.level
    if lv.topology == "fully_connected":
        port = net.tree_links.setdefault((src, dst), Port())
        return send(env, nbytes, (port,), net.bytes_per_cycle, net.latency_cycles)
    outs = net.tree_ports.setdefault((src, "out"), [Port() for _ in range(lv.links)])
    ins = net.tree_ports.setdefault((dst, "in"), [Port() for _ in range(lv.links)])
    o = min(outs, key=lambda p: p.free_at)
    i = min(ins, key=lambda p: p.free_at)
    return send(env, nbytes, (o, i), net.bytes_per_cycle, net.latency_cycles)


def tree_all_reduce(env, net: LevelNet, total_bytes: float):
    """Pipelined binary-tree reduce then broadcast of total_bytes in C chunks (every node simulated)."""
    N, C = net.n, net.chunks
    c = total_bytes / C
    if c <= 0:
        return
    up = {(v, i): env.event() for v in range(N) for i in range(C)}     # chunk i of v's subtree reduced at v's parent / root
    down = {(v, i): env.event() for v in range(N) for i in range(C)}   # chunk i of the result at v

    def kids(v):
        return [u for u in (2 * v + 1, 2 * v + 2) if u < N]

    def fire(ev):
        return lambda _e: ev.succeed()

    def reduce_node(v):
        for i in range(C):
            ks = kids(v)
            if ks:
                yield simpy.AllOf(env, [up[(u, i)] for u in ks])
            if v == 0:
                down[(0, i)].succeed()
            else:
                _tree_send(env, net, v, (v - 1) // 2, c).callbacks.append(fire(up[(v, i)]))

    def bcast_node(v):
        for i in range(C):
            yield down[(v, i)]
            for u in kids(v):
                _tree_send(env, net, v, u, c).callbacks.append(fire(down[(u, i)]))

    procs = [env.process(reduce_node(v)) for v in range(N)] + [env.process(bcast_node(v)) for v in range(N)]
    yield simpy.AllOf(env, procs)


def level_reduce_scatter(env, net: LevelNet, total_bytes: float):
    if net.level.algorithm == "direct":
        yield from direct(env, net, total_bytes)
    else:
        yield from ring(env, net, total_bytes, net.n - 1)


level_all_gather = level_reduce_scatter     # the same traffic pattern, data flowing out


def level_all_reduce(env, net: LevelNet, total_bytes: float):
    alg = net.level.algorithm
    if alg == "tree":
        yield from tree_all_reduce(env, net, total_bytes)
    elif alg == "direct":
        yield from direct(env, net, total_bytes)
        yield from direct(env, net, total_bytes)
    else:
        yield from ring(env, net, total_bytes, 2 * (net.n - 1))


# --------------------------------------------------------------------------- the fabric


class Fabric:
    """All levels of one system in one simpy environment; collectives are generator processes."""

    def __init__(self, env, lvls: tuple[Level, ...], clock_ghz: float, chunks: int = 1):
        self.env = env
        self.nets = [level_net(lv, clock_ghz, chunks) for lv in lvls]

    @property
    def chips(self) -> int:
        return math.prod(n.n for n in self.nets)

    def all_reduce(self, nbytes: float):
        """Every chip ends with the sum of everyone's nbytes-long buffer."""
        if not self.nets or nbytes <= 0:
            return
        s = nbytes
        for net in self.nets[:-1]:
            yield from level_reduce_scatter(self.env, net, s)
            s /= net.n
        yield from level_all_reduce(self.env, self.nets[-1], s)
        for net in reversed(self.nets[:-1]):
            s *= net.n
            yield from level_all_gather(self.env, net, s)

    def reduce_scatter(self, nbytes: float):
        """Every chip ends with its 1/chips share of the sum (innermost level first)."""
        s = nbytes
        for net in self.nets:
            yield from level_reduce_scatter(self.env, net, s)
            s /= net.n

    def all_gather(self, contribution_bytes: float):
        """Every chip ends with all chips' contributions (outermost level first)."""
        s = contribution_bytes
        for net in reversed(self.nets):
            s *= net.n
            yield from level_all_gather(self.env, net, s)

    def per_level(self) -> list[dict]:
        """Bytes and busy cycles per chip per level (tree: the mean over its nodes)."""
        out = []
        for net in self.nets:
            if net.level.algorithm == "tree":
                ports = list(net.tree_links.values()) + [p for k, ps in net.tree_ports.items() if k[1] == "out" for p in ps]
                sent = sum(p.bytes for p in ports) / net.n
                peak = max((p.bytes for p in ports), default=0.0)
            else:
                ports = net.ports
                sent = sum(p.bytes for p in ports)
                peak = max((p.bytes for p in ports), default=0.0)
            lv = net.level
            out.append({"size": lv.size, "topology": lv.topology, "algorithm": lv.algorithm,
                        "links_per_chip": lv.links, "bandwidth_gbps": lv.bandwidth_gbps,
                        "bytes_sent_per_chip": sent, "max_bytes_per_link": peak,
                        "link_energy_pj_per_chip": sent * 8 * lv.pj_per_bit})
        return out


def run_collective(lvls: tuple[Level, ...], clock_ghz: float, op: str, nbytes: float, chunks: int = 1) -> float:
    """Cycles of one collective alone on an idle fabric (op: all_reduce | reduce_scatter | all_gather;
    all_gather's nbytes is each chip's contribution)."""
    env = simpy.Environment()
    fab = Fabric(env, lvls, clock_ghz, chunks)
    env.process(getattr(fab, op)(nbytes))
    env.run()
    return env.now
