"""Operator fusion: a pass over the lowered op list (execution ``fusion``, `asicsim.config.execution`).

Forward (``forward_epilogues``): a chain head — a forward GEMM, or a batch-norm op — is followed by
element-wise epilogue ops (`EPILOGUE_KINDS`: bias, ReLU/ReLU6/HardSwish, residual add) that each
read the previous value of the chain and are its only reader. The chain's intermediate values
stay on chip: the head writes the chain's final value (its output tiles pass through the
epilogue on their way out) and each epilogue op keeps its work (vector element ops) and its side
inputs (the bias vector, the residual branch) but reads no intermediate from DRAM. An
intermediate that a backward op reads (a stash: e.g. a ReLU output feeding the next conv's weight
gradient) is still written once, by the epilogue op that makes it — never read back in forward.

Batch norm in training cannot be an epilogue of the conv that feeds it: its mean and variance are
over the whole batch, so no output tile can be normalised until the last one is made. BN is a
chain head instead (its input, the conv output, is stashed for BN backward anyway) and
``bn_statistics`` says how the statistics are costed: ``extra_pass`` — BN reads its input twice
(a reduction pass, then the apply pass; the unfused convention); ``fused`` — the per-channel sum
and sum of squares are reduced on the conv's output tiles as they leave the array (the GEMM
epilogue), so BN reads its input once. The element ops are the same either way (4 per element).
``frozen`` — inference, or fine-tuning with frozen BN: the running mean and variance are used,
so BN is a per-channel affine that reads its input once and, with ``forward_epilogues``, runs on
the producing conv's output tiles like a bias (deployed models fold it into the conv weights).

Backward (``backward``): a ReLU's mask is applied on the output tiles of the backward-data GEMM
that produces its δ (when that GEMM is δ's only producer and the ReLU its only reader): the GEMM
writes the masked δ and the ReLU op reads only its stashed output (the mask). Batch-norm backward
needs the reductions dγ, dβ over the whole batch before dx: the reductions run on the producing
op's output tiles (reading x alongside), so BN backward reads δ once instead of twice.

Timing: the epilogue ops of a GEMM are marked ``fused``; `asicsim.engine.epilogue` hides their
vector-unit cycles behind the GEMM's compute cycles (the vector unit works on each output tile
while the array makes the next), so only the part beyond the GEMM's time shows. Epilogues of a
BN head and the backward ReLU mask keep their own time (their producer is not right before them
in program order, or is itself a vector pass); the DRAM bytes are exact in every case.
"""
from __future__ import annotations

import dataclasses

from asicsim.workload.lowering import GemmOp, Lowered, VectorOp, op_tensors

EPILOGUE_KINDS = ("bias", "relu", "relu6", "hardswish", "add")


def _readers(ops, phase_ok) -> dict[int, list[int]]:
    """For each op position, the positions that read the value it writes (values tracked by name:
    a read sees the last write before it)."""
    last: dict[str, int] = {}
    readers: dict[int, list[int]] = {}
    for i, op in enumerate(ops):
        if not phase_ok(op):
            continue
        for t in _reads(op):
            if t.name in last:
                readers.setdefault(last[t.name], [])
                if i not in readers[last[t.name]]:
                    readers[last[t.name]].append(i)
        for t in _writes(op):
            last[t.name] = i
    return readers


def _reads(op):
    if isinstance(op, GemmOp):
        return (op.a, op.b)
    if isinstance(op, VectorOp):
        return op.reads
    return tuple(t for t in op_tensors(op))


def _writes(op):
    if isinstance(op, GemmOp):
        return (op.c,)
    if isinstance(op, VectorOp):
        return op.writes
    return ()


def _out(op) -> str | None:
    w = _writes(op)
    return w[0].name if len(w) == 1 else None


def backward_read_names(ops) -> set[str]:
    return {t.name for op in ops if op.phase != "forward" for t in _reads(op)}


def fuse_forward(ops: list, bn_statistics: str, epilogues: bool) -> list:
    fwd = lambda o: o.phase == "forward"
    frozen = bn_statistics == "frozen"
    if frozen:     # running statistics: BN is a per-channel affine, one read of its input
        ops = [dataclasses.replace(o, reads=o.reads[:1])
               if fwd(o) and isinstance(o, VectorOp) and o.kind == "batchnorm" else o for o in ops]
    kinds = EPILOGUE_KINDS + (("batchnorm",) if frozen else ())
    readers = _readers(ops, fwd)
    stashed = backward_read_names(ops)
    out = list(ops)
    gemm_made: set[int] = set()     # positions whose value leaves a GEMM's output tiles
    i = 0
    while i < len(ops):
        op = ops[i]
        if fwd(op) and isinstance(op, VectorOp) and op.kind == "bias" and i - 1 in gemm_made:
            gemm_made.add(i)          # the bias pass of an unfused GEMM: the same output tiles
        head = fwd(op) and (isinstance(op, GemmOp) or (isinstance(op, VectorOp) and op.kind == "batchnorm"
                                                        and not frozen))
        if not head:
            i += 1
            continue
        if isinstance(op, GemmOp):
            gemm_made.add(i)
        elif bn_statistics == "fused" and len(op.reads) == 2 and op.reads[0].name == op.reads[1].name:
            src = _producer(ops, i, op.reads[0].name)
            if src in gemm_made:      # statistics reduced on the producing GEMM's output tiles
                out[i] = dataclasses.replace(op, reads=op.reads[:1])
        if not epilogues:
            i += 1
            continue
        chain, p = [], i
        while (j := p + 1) < len(ops) and fwd(ops[j]) and isinstance(ops[j], VectorOp) \
                and ops[j].kind in kinds and _out(ops[p]) is not None \
                and _out(ops[p]) in {t.name for t in ops[j].reads} and readers.get(p) == [j] \
                and len(ops[j].writes) == 1:
            chain.append(j)
            p = j
        if not chain:
            i += 1
            continue
        final = _writes(ops[chain[-1]])[0]
        prev = _out(op)
        h = out[i]
        if isinstance(h, GemmOp):
            out[i] = dataclasses.replace(h, c=dataclasses.replace(h.c, name=final.name, zero_fraction=final.zero_fraction))
            gemm_made.add(chain[-1])
        else:
            out[i] = dataclasses.replace(h, writes=(dataclasses.replace(h.writes[0], name=final.name, elems=final.elems, zero_fraction=final.zero_fraction),))
        extra_stash = [_writes(ops[i])[0]] if prev in stashed and prev != final.name else []
        for j in chain:
            e = ops[j]
            w = e.writes[0]
            keep_w = (w,) if (w.name in stashed and w.name != final.name) else ()
            reads = tuple(t for t in e.reads if t.name != prev)
            out[j] = dataclasses.replace(e, reads=reads, writes=tuple(extra_stash) + keep_w,
                                         fused=isinstance(h, GemmOp))
            extra_stash = []
            prev = w.name
        i = chain[-1] + 1
    return out


def _producer(ops, i: int, name: str) -> int | None:
    for j in range(i - 1, -1, -1):
        if name in {t.name for t in _writes(ops[j])}:
            return j
    return None


def fuse_backward(ops: list) -> list:
    bwd = lambda o: o.phase == "backward_data"
    readers = _readers(ops, bwd)
    out = list(ops)
    for i, op in enumerate(ops):
        if not (bwd(op) and isinstance(op, VectorOp)):
            continue
        if op.kind in ("relu", "relu6") and len(op.reads) == 2:
            dy, y = op.reads
            p = _producer(ops, i, dy.name)
            if p is not None and isinstance(ops[p], GemmOp) and bwd(ops[p]) and readers.get(p) == [i] \
                    and isinstance(out[p], GemmOp) and out[p].c.name == dy.name:
                dx = op.writes[0]
                out[p] = dataclasses.replace(out[p], c=dataclasses.replace(out[p].c, name=dx.name))
                out[i] = dataclasses.replace(op, reads=(y,), writes=())
        elif op.kind == "batchnorm" and len(op.reads) == 4:
            dy, x = op.reads[0], op.reads[1]
            p = _producer(ops, i, dy.name)
            if p is not None and bwd(ops[p]):    # reductions on the producer's output tiles
                out[i] = dataclasses.replace(op, reads=(dy, x, x))
    return out


def fuse(lowered: Lowered, fusion) -> Lowered:
    """The lowered step with the fusions of ``fusion`` (`asicsim.config.execution.FusionConfig`)."""
    ops = list(lowered.ops)
    if fusion.forward_epilogues or fusion.bn_statistics != "extra_pass":
        ops = fuse_forward(ops, fusion.bn_statistics, fusion.forward_epilogues)
    if fusion.backward:
        ops = fuse_backward(ops)
    return Lowered(lowered.network, lowered.batch, tuple(ops))


def stash_bytes(lowered: Lowered) -> dict[str, int]:
    """Bytes of forward values kept in DRAM for the backward pass, by the layer whose output they
    are (``<layer>.out``; else the layer of the op writing them) — each tensor once: a value read
    by a backward op and written by a forward op. Under fusion the GEMM of a chain writes the
    chain's final value; it is still the last epilogue layer's output and is reported there."""
    made: dict[str, str] = {}
    for op in lowered.ops:
        if op.phase == "forward":
            for t in _writes(op):
                made[t.name] = t.name[:-4] if t.name.endswith(".out") else op.layer
    out: dict[str, int] = {}
    seen: set[str] = set()
    for op in lowered.ops:
        if op.phase == "forward":
            continue
        for t in _reads(op):
            if t.name in made and t.name not in seen:
                seen.add(t.name)
                out[made[t.name]] = out.get(made[t.name], 0) + t.bytes
    return out
