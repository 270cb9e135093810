"""ResIST sub-networks (Dun, Wolfe, Jermaine & Kyrillidis, "ResIST: Layer-wise decomposition of
ResNets for distributed training", UAI 2022, PMLR 180): a ResNet is split into S shallower
sub-ResNets by dealing its residual blocks out among them.

A block is *removable* when its shortcut is an identity: an ``add`` whose one input is the layer
just before the block's first layer and whose other input is the block's last layer (the
branch in between reads nothing from outside it); the ``relu`` right after the add goes with it.
Blocks with a projection shortcut (downsampling), the stem and the classifier are kept in every
sub-network, as in ResIST. Removing a block leaves the identity: whatever read the block's
output reads its input. The removable blocks are shuffled with ``seed`` and dealt round-robin,
so each sub-network gets ⌊b/S⌋ or ⌈b/S⌉ of them (ResIST samples a random partition per round;
one seeded partition stands for a round here).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asicsim.workload.network import AddLayer, Layer, Network, build_network


@dataclass(frozen=True)
class Block:
    entry: str                 # the layer the block reads (its identity shortcut)
    layers: tuple[str, ...]    # branch + add (+ post-add relu)

    @property
    def output(self) -> str:
        return self.layers[-1]


def removable_blocks(net: Network) -> list[Block]:
    idx = {l.name: i for i, l in enumerate(net.layers)}
    out = []
    for j, l in enumerate(net.layers):
        if not isinstance(l.spec, AddLayer):
            continue
        for s, other in (l.inputs, l.inputs[::-1]):
            if s not in idx:
                continue
            branch = net.layers[idx[s] + 1:j]
            names = {b.name for b in branch}
            if (branch and branch[0].inputs == (s,) and branch[-1].name == other
                    and all(not isinstance(b.spec, AddLayer) and set(b.inputs) <= names | {s} for b in branch)):
                layers = [b.name for b in branch] + [l.name]
                nxt = net.layers[j + 1] if j + 1 < len(net.layers) else None
                if nxt is not None and nxt.kind == "relu" and nxt.inputs == (l.name,):
                    layers.append(nxt.name)
                out.append(Block(s, tuple(layers)))
                break
    return out


def _spec_dict(l: Layer, rename: dict[str, str]) -> dict:
    d = l.spec.model_dump(exclude_none=True)
    srcs = [rename.get(s, s) for s in l.inputs]
    if isinstance(l.spec, AddLayer):
        d["inputs"] = srcs
    else:
        d["input"] = srcs[0]
    return d


def without_blocks(net: Network, blocks: list[Block], name: str) -> Network:
    """The network with these blocks replaced by identities."""
    drop = {n for b in blocks for n in b.layers}
    rename: dict[str, str] = {}
    for b in blocks:                                   # in network order: chains resolve forwards
        rename[b.output] = rename.get(b.entry, b.entry)
    shape = net.input_shape
    raw = {"name": name, "input": {"channels": shape.c, "height": shape.h, "width": shape.w},
           "layers": [_spec_dict(l, rename) for l in net.layers if l.name not in drop]}
    return build_network(raw, file=f"<{name}>")


def subnetworks(net: Network, subnets: int, seed: int) -> list[tuple[Network, tuple[str, ...]]]:
    """S sub-networks and the layer names each keeps (shared layers + its own blocks)."""
    blocks = removable_blocks(net)
    order = np.random.default_rng(seed).permutation(len(blocks))
    own: list[list[Block]] = [[] for _ in range(subnets)]
    for i, b in enumerate(order):
        own[i % subnets].append(blocks[int(b)])
    out = []
    for s in range(subnets):
        keep = {n for b in own[s] for n in b.layers}
        dropped = [b for b in blocks if b.layers[0] not in keep]
        sub = without_blocks(net, dropped, f"{net.name}_resist{s}of{subnets}")
        out.append((sub, tuple(l.name for l in sub.layers)))
    return out


def activation_bytes(net: Network, batch: int, elem_bytes: int) -> int:
    """Forward outputs kept for the backward pass (every layer's output at batch B)."""
    return sum(l.out_shape.numel for l in net.layers) * batch * elem_bytes
