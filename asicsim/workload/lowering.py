"""Workload lowering: one training step of a network at batch B → GEMMs and vector work.

Each layer lowers, per phase, into `GemmOp`s for the MAC array and `VectorOp`s for the vector
unit, with exact MAC and element-op counts. Tensors are named so the mapping stage can decide
where each lives (SRAM or DRAM).

GEMM convention (the same as SCALE-Sim's): C[M×N] = A[M×K] · B[K×N]; A is the "ifmap" operand,
B the "filter" operand, C the "ofmap". For a conv layer with im2col weight matrix W (m × n,
m = C_out/g per group, n = C_in·kh·kw/g) and P output positions per sample:

=================  ==========  ============  ===========  =======================================
phase              M           K             N            operands (A, B → C)
=================  ==========  ============  ===========  =======================================
forward            B·P         n             m            im2col(x), Wᵀ → y
backward_data      B·H·W       m·kh·kw/s²    C_in/g       im2col(δy), W → δx (see backward_data_gemm)
weight_gradient    m           B·P           n            δyᵀ, im2col(x) → G
=================  ==========  ============  ===========  =======================================

Grouped/depthwise convs run their g groups one after another on the array. Under SBPCA a grouped
layer is SBPCA per group (rank k on each C_out/g × C_in/g·kh·kw block) only where the rank can pay,
k < min(m, n) of that block; otherwise (every depthwise layer: m = 1) it takes the full-gradient
weight gradient and update (see `sbpca_pays`). im2col is done by the
buffer's address generator: the im2col operand occupies the bytes of the real tensor x in SRAM
and DRAM (``stored_elems``), and is read ``M·K`` times' worth from SRAM by the array. The halo
overlap between neighbouring M-tiles is ignored (it is < kh/tile-rows of the input).
backward_data for the first weighted layer is skipped (no one needs δx of the network input).
"""
from __future__ import annotations

from dataclasses import dataclass

from asicsim.config.update import UpdateConfig
from asicsim.errors import InputError
from asicsim.workload.network import (
    AddLayer,
    BatchNormLayer,
    ConvLayer,
    GlobalPoolLayer,
    Layer,
    Network,
    PoolLayer,
    _pair,
)
from asicsim.workload.layer_costs import conv_transpose_gemms, new_kind_ops
from asicsim.workload.powersgd import compresses, orth_ops, powersgd_rank

MAX_BATCH = 1 << 20   # samples: larger batches overflow the tile-step bounds long before they mean anything

PHASES = ("forward", "backward_data", "weight_gradient", "update")


@dataclass(frozen=True)
class Tensor:
    """A tensor an op reads or writes: name, number of stored elements, bytes per element.

    ``persistent``: state that outlives the step (weights, momentum, SBPCA factors).
    ``on_chip_candidate``: the mapping may keep it in SRAM between its producer and consumer.
    ``zero_fraction``: share of zero elements, from the network's ``activation_zeros`` (a DRAM
    link that run-length codes activations moves fewer bytes: `asicsim.engine.compression`)."""
    name: str
    elems: int
    elem_bytes: int
    persistent: bool = False
    on_chip_candidate: bool = False
    zero_fraction: float | None = None   # measured share of zeros (activations); None: unknown

    @property
    def bytes(self) -> int:
        return self.elems * self.elem_bytes


@dataclass(frozen=True)
class ConvShape:
    """The window of a convolution GEMM, per group: filter R×S, output E×F, stride U.
    The GEMM's rows are images × E·F output positions, its K is channels × R·S."""
    r: int
    s: int
    e: int
    f: int
    stride: int = 1


@dataclass(frozen=True)
class GemmOp:
    """C[M×N] (+)= A[M×K]·B[K×N] on the array, repeated ``groups`` times (per-group dims)."""
    layer: str
    phase: str
    m: int
    k: int
    n: int
    a: Tensor
    b: Tensor
    c: Tensor
    groups: int = 1
    exact_macs: int | None = None   # when K was rounded up (strided backward_data), the true count
    fused_output: bool = False      # C tiles are consumed on chip by the next op (never hit DRAM)
    conv: ConvShape | None = None   # the window of a forward convolution (the row-stationary mapping needs it)

    @property
    def macs(self) -> int:
        return self.exact_macs if self.exact_macs is not None else self.groups * self.m * self.k * self.n


@dataclass(frozen=True)
class VectorOp:
    """Element-wise work on the vector unit: ``ops`` element operations reading ``reads`` and
    writing ``writes`` (each tensor streamed once)."""
    layer: str
    phase: str
    ops: int
    reads: tuple[Tensor, ...]
    writes: tuple[Tensor, ...]
    kind: str = "elementwise"
    fused: bool = False             # an epilogue on the preceding GEMM's output tiles (workload/fusion.py)


@dataclass(frozen=True)
class SbpcaOp:
    """SBPCA weight-gradient work of one layer (streaming batch PCA, `asicsim/kernels/sbpca.py`): the batch's ``pairs`` (δ, x) pairs
    stream through the rank-k factors in sub-batches of ``s``; ``counts`` are the kernel's own
    (`asicsim.kernels.sbpca_counts`) for one group. x and δ are the tensors the full-gradient dW
    GEMM would stream; ``delta``, ``xf``, ``sigma`` are the persistent factors (fp32)."""
    layer: str
    phase: str
    m: int
    n: int
    k: int
    s: int
    pairs: int
    groups: int
    x: Tensor
    dy: Tensor
    delta: Tensor
    xf: Tensor
    sigma: Tensor
    counts: dict
    projections: str = "array"


@dataclass(frozen=True)
class CrossbarOp:
    """Apply Ĝ = Δ·diag(σ)·Xᵀ to an in-memory crossbar weight store as k outer-product pulses
    (each pulse programs all m·n cells at once), per group."""
    layer: str
    phase: str
    m: int
    n: int
    k: int
    groups: int
    factors: tuple[Tensor, ...]


Op = GemmOp | VectorOp | SbpcaOp | CrossbarOp


def op_tensors(op: Op) -> tuple[Tensor, ...]:
    """Every tensor an op touches (for residency planning)."""
    if isinstance(op, GemmOp):
        return (op.a, op.b, op.c)
    if isinstance(op, VectorOp):
        return op.reads + op.writes
    if isinstance(op, SbpcaOp):
        return (op.x, op.dy, op.delta, op.xf, op.sigma)
    if hasattr(op, "tensors"):     # ops of the later rule modules (backward.py, sketch_rule.py)
        return op.tensors()
    return op.factors


@dataclass(frozen=True)
class Lowered:
    network: str
    batch: int
    ops: tuple[Op, ...]


def conv_shape(l: Layer) -> ConvShape | None:
    """The R×S window, E×F output and stride of a conv layer (None for linear layers)."""
    if l.kind != "conv":
        return None
    r, s = _pair(l.spec.kernel)
    return ConvShape(r, s, l.out_shape.h, l.out_shape.w, _pair(l.spec.stride)[0])


def lower_weighted(l: Layer, batch: int, ob: int, ab: int, first: bool, upd: UpdateConfig,
                   ex=None) -> dict[str, list[Op]]:
    """GEMM and vector ops of one conv/linear layer, by phase (full-gradient rule)."""
    spec = l.spec
    m_total, n = l.weight_shape
    g = spec.groups if isinstance(spec, ConvLayer) else 1
    m = m_total // g
    P = l.positions
    BP = batch * P
    x_elems = batch * l.in_shape.numel
    y_elems = batch * l.out_shape.numel
    w = Tensor(f"{l.name}.W", m_total * n, ob, persistent=True)
    x = Tensor(f"{l.inputs[0]}.out", x_elems, ob)
    y = Tensor(f"{l.name}.out", y_elems, ob)
    dy = Tensor(f"{l.name}.grad", y_elems, ob)
    dx = Tensor(f"{l.inputs[0]}.grad", x_elems, ob)
    G = Tensor(f"{l.name}.G", m_total * n, ab, on_chip_candidate=True)
    has_bias = bool(getattr(spec, "bias", False))
    nb = l.out_shape.c if l.kind == "conv_transpose" else m_total   # bias entries: one per output channel
    ops: dict[str, list[Op]] = {p: [] for p in PHASES}
    per_group = lambda t: Tensor(t.name, t.elems // g, t.elem_bytes, t.persistent, t.on_chip_candidate)
    transposed = l.kind == "conv_transpose"
    if transposed:   # runs like the backward-data of the conv it transposes (asicsim.workload.layer_costs)
        g = spec.groups
        m = m_total // g
        fwd_t, bwd_t = conv_transpose_gemms(l, batch, per_group(x), per_group(w), per_group(y), per_group(dy),
                                            per_group(dx), GemmOp)
        ops["forward"].append(fwd_t)
    else:
        ops["forward"].append(GemmOp(l.name, "forward", BP, n, m, per_group(x), per_group(w), per_group(y), g,
                                     conv=conv_shape(l)))
    if has_bias:
        ops["forward"].append(VectorOp(l.name, "forward", y_elems, (y, Tensor(f"{l.name}.b", nb, ob)), (y,), "bias"))
    if not first:
        ops["backward_data"].append(bwd_t if transposed else
                                    backward_data_gemm(l, batch, per_group(dy), per_group(w), per_group(dx)))
    psgd = upd.rule == "powersgd" and compresses(m, n, upd.rank)
    sbpca = upd.rule == "sbpca" and sbpca_pays(upd.rank, m, n, g)
    if sbpca:
        ops["weight_gradient"].append(sbpca_op(l.name, m, n, g, BP, x, dy, upd, ab))
    else:
        a_op, b_op = (per_group(x), per_group(dy)) if transposed else (per_group(dy), per_group(x))
        ops["weight_gradient"].append(GemmOp(l.name, "weight_gradient", m, BP, n, a_op, b_op, per_group(G), g))
    if psgd:
        ops["weight_gradient"].extend(powersgd_ops(l.name, m, n, g, upd.rank, G, ab))
    if has_bias:   # biases always get the plain update (their gradient is a length-m vector)
        ops["weight_gradient"].append(VectorOp(l.name, "weight_gradient", y_elems, (dy,), (Tensor(f"{l.name}.db", nb, ab),), "bias_grad"))
    if psgd:
        ops["update"].extend(powersgd_ops(l.name, m, n, g, upd.rank, G, ab, decompress=True))
    if sbpca:
        ops["update"].extend(sbpca_update_ops(l.name, m, n, g, w, G, upd, nb if has_bias else 0, ob, ab, ex))
    else:
        ops["update"].extend(update_ops(l.name, w, G, upd, nb if has_bias else 0, ob, ab, ex))
    return ops


def powersgd_ops(layer: str, m: int, n: int, g: int, r: int, G: Tensor, ab: int, decompress: bool = False) -> list[Op]:
    """PowerSGD (`asicsim.workload.powersgd`), per group: weight_gradient — M = G + e, P = M·Q,
    orthonormalise P, Q = Mᵀ·P; update (``decompress``) — Ĝ = P·Qᵀ fused into the SGD update,
    e = M − Ĝ. e (m·n) and Q (n·r) are persistent."""
    r = powersgd_rank(r, m, n)
    t = lambda s, el, persistent=False, cand=False: Tensor(f"{layer}.{s}", el, ab, persistent, cand)
    e, q, p, Mg = t("psgd_e", g * m * n, True), t("psgd_Q", n * r, True), t("psgd_P", m * r), t("G", m * n)
    if decompress:
        return [GemmOp(layer, "update", m, r, n, p, q, t("G", m * n, cand=True), g, fused_output=True),
                VectorOp(layer, "update", g * m * n, (G,), (e,), "psgd_residual")]
    return [VectorOp(layer, "weight_gradient", g * m * n, (G, e), (G,), "psgd_error"),
            GemmOp(layer, "weight_gradient", m, n, r, Mg, q, p, g),
            VectorOp(layer, "weight_gradient", g * orth_ops(m, r), (t("psgd_P", g * m * r),), (t("psgd_P", g * m * r),), "psgd_orth"),
            GemmOp(layer, "weight_gradient", n, m, r, Mg, p, t("psgd_Q", n * r, True), g)]


def sbpca_rank(k: int, m: int, n: int) -> int:
    """Rank actually used for an m×n matrix: min(k, m, n) (a rank above min(m, n) adds nothing)."""
    return max(1, min(k, m, n))


def sbpca_pays(k: int, m: int, n: int, groups: int) -> bool:
    """Whether a layer's weight gradient takes the SBPCA rule at rank ``k`` (m × n: one group's
    matrix), or the full gradient.

    Decision for grouped and depthwise convs (groups > 1): SBPCA runs per group, on each group's
    own m × n block, and only where k < min(m, n). At k ≥ min(m, n) the rank cannot pay: the
    block's rank is at most min(m, n), so the rank-k factors hold the whole gradient at best, while
    they cost more than the exact gradient in every measure — state k(m+n+1) > m·n numbers and
    projection MACs pairs·k(3m+2n) > pairs·m·n — and stream S = ⌈pairs/s⌉ sub-batches of tiny
    QRs per group. A depthwise layer's block is 1 × kh·kw (m = 1), so it always takes the full
    gradient: SBPCA on MobileNetV2's 1 × 9 blocks used to charge a 10 s step at 0 % utilization.
    Treating the layer's whole block-diagonal C_out × n gradient as one matrix was rejected: its
    pairs are g·B·P with δ zero outside its group, so a dense rank-k stream does g times the
    projection work of the blocks for no saving the hardware could use.

    Ungrouped layers (groups = 1) keep SBPCA with the rank capped at min(k, m, n)
    (`sbpca_rank`), as before, so recorded outputs of ungrouped networks are unchanged."""
    return groups == 1 or k < min(m, n)


def sbpca_op(layer: str, m: int, n: int, g: int, pairs: int, x: Tensor, dy: Tensor,
             upd: UpdateConfig, ab: int) -> SbpcaOp:
    from asicsim.kernels.counts import (
        sbpca_counts,  # the kernel's own count: one definition of the work
    )

    k = sbpca_rank(upd.rank, m, n)
    delta = Tensor(f"{layer}.sbpca_delta", g * m * k, ab, persistent=True)
    xf = Tensor(f"{layer}.sbpca_x", g * n * k, ab, persistent=True)
    sigma = Tensor(f"{layer}.sbpca_sigma", g * k, ab, persistent=True)
    return SbpcaOp(layer, "weight_gradient", m, n, k, upd.sub_batch, pairs, g, x, dy, delta, xf, sigma,
                   sbpca_counts(m, n, k, upd.sub_batch, pairs), upd.projections)


def sbpca_update_ops(layer: str, m: int, n: int, g: int, w: Tensor, G: Tensor, upd: UpdateConfig,
                     bias: int, ob: int, ab: int, ex=None) -> list[Op]:
    """Digital: expand Ĝ = (Δ·diag(σ·N))·Xᵀ on the array (M = m, K = k, N = n: m·n·k MACs), then the
    same SGD read-modify-write of W as `full`. Ĝ is produced tile by tile from the on-chip factors
    and applied at once (m·n·k MACs to expand, then W read and written once), so it never goes to
    DRAM — unlike full's G, which is a reduction over the whole batch and stays on chip only when
    all of it fits. Momentum, if asked for, is kept on the dense Ĝ
    (m·n more persistent numbers): that gives back SBPCA's memory saving and the results show it.
    Crossbar: k outer-product pulses; W never leaves the crossbar."""
    k = sbpca_rank(upd.rank, m, n)
    delta = Tensor(f"{layer}.sbpca_delta", m * k, ab, persistent=True)
    xf = Tensor(f"{layer}.sbpca_x", n * k, ab, persistent=True)
    if upd.apply == "crossbar":
        sigma = Tensor(f"{layer}.sbpca_sigma", g * k, ab, persistent=True)
        full = (Tensor(delta.name, g * m * k, ab, True), Tensor(xf.name, g * n * k, ab, True), sigma)
        ops: list[Op] = [CrossbarOp(layer, "update", m, n, k, g, full)]
        if bias:
            b = Tensor(f"{layer}.b", bias, ob, persistent=True)
            ops.append(VectorOp(layer, "update", bias, (b, Tensor(f"{layer}.db", bias, ab)), (b,), "sgd"))
        return ops
    Gg = Tensor(G.name, m * n, ab, on_chip_candidate=True)
    expand = GemmOp(layer, "update", m, k, n, delta, xf, Gg, g, fused_output=True)
    return [expand] + update_ops(layer, w, G, upd, bias, ob, ab, ex)


def backward_data_gemm(l: Layer, batch: int, dy: Tensor, w: Tensor, dx: Tensor) -> GemmOp:
    """δx as a transposed convolution run as an implicit GEMM over input positions:
    M = B·H_in·W_in, N = C_in/g, K = C_out/g·kh·kw / (sh·sw) — a stride-s layer is split into its
    s² sub-convolutions (one per output phase), which together do exactly the forward MACs with no
    multiply by inserted zeros. K is their average reduction length (rounded up when it is not an
    integer; ``exact_macs`` keeps the true count). δy is read through im2col like x in forward; δx
    is produced whole, so no col2im pass is needed."""
    m_total, n = l.weight_shape
    spec = l.spec
    g = spec.groups if isinstance(spec, ConvLayer) else 1
    m = m_total // g
    fwd_macs_group = batch * l.positions * m * n
    if isinstance(spec, ConvLayer):
        M = batch * l.in_shape.h * l.in_shape.w
        N = l.in_shape.c // g
    else:
        M, N = batch, n
    K = -(-fwd_macs_group // (M * N))
    exact = fwd_macs_group * g if K * M * N != fwd_macs_group else None
    return GemmOp(l.name, "backward_data", M, K, N, dy, w, dx, g, exact)


def update_ops(layer: str, w: Tensor, G: Tensor, upd: UpdateConfig, bias: int, ob: int, ab: int,
               ex=None) -> list[Op]:
    """SGD (optionally momentum) read-modify-write of W: 1 FMA per weight, +1 with momentum.
    With an execution spec (``ex``) that is not the default, the execution's optimizer and widths
    (`asicsim.workload.optimizer.optimizer_update_ops`)."""
    if ex is not None and not ex.is_default:
        from asicsim.workload.optimizer import optimizer_update_ops
        return optimizer_update_ops(layer, w, G, upd, bias, ob, ab, ex, Tensor, VectorOp)
    params = w.elems + bias
    reads = [w, G]
    writes = [w]
    per = 1
    if upd.momentum > 0:
        v = Tensor(f"{layer}.v", w.elems, ab, persistent=True)
        reads.append(v)
        writes.append(v)
        per = 2
    if bias:
        b = Tensor(f"{layer}.b", bias, ob, persistent=True)
        reads += [b, Tensor(f"{layer}.db", bias, ab)]
        writes.append(b)
    return [VectorOp(layer, "update", per * params, tuple(reads), tuple(writes), "sgd")]


def lower_vector_layer(l: Layer, batch: int, ob: int) -> dict[str, list[Op]]:
    """Forward and backward element-wise work of a non-GEMM layer (counts per element below)."""
    spec = l.spec
    i_el = batch * l.in_shape.numel
    o_el = batch * l.out_shape.numel
    src = f"{l.inputs[0]}.out"
    x = Tensor(src, i_el, ob)
    y = Tensor(f"{l.name}.out", o_el, ob)
    dy = Tensor(f"{l.name}.grad", o_el, ob)
    dx = Tensor(f"{l.inputs[0]}.grad", i_el, ob)
    fwd: list[Op] = []
    bwd: list[Op] = []
    k = l.kind
    if k in ("relu", "relu6", "dropout"):
        fwd.append(VectorOp(l.name, "forward", o_el, (x,), (y,), k))              # 1 compare/mult
        bwd.append(VectorOp(l.name, "backward_data", o_el, (dy, y), (dx,), k))     # mask dy
    elif isinstance(spec, PoolLayer):
        kh, kw = _pair(spec.kernel)
        fwd.append(VectorOp(l.name, "forward", o_el * kh * kw, (x,), (y,), k))  # window compare/add
        bwd.append(VectorOp(l.name, "backward_data", i_el, (dy, x), (dx,), k))  # route/scatter into dx
    elif isinstance(spec, GlobalPoolLayer):
        fwd.append(VectorOp(l.name, "forward", i_el, (x,), (y,), k))
        bwd.append(VectorOp(l.name, "backward_data", i_el, (dy,), (dx,), k))
    elif isinstance(spec, BatchNormLayer):
        # forward: mean and variance (2 ops/elem, one read) then normalise, scale, shift (2 ops/elem,
        # second read); backward: dγ, dβ reductions (2) and dx (4) over two reads of x and dy.
        fwd.append(VectorOp(l.name, "forward", 4 * o_el, (x, x), (y,), k))
        bwd.append(VectorOp(l.name, "backward_data", 6 * o_el, (dy, x, dy, x), (dx,), k))
    elif (new := new_kind_ops(l, batch, ob, Tensor, VectorOp)) is not None and not (
            isinstance(spec, AddLayer) and len(spec.inputs) == 2):
        fwd, bwd = new    # concat, n-ary add, scale, activations, lrn, reduce, transpose, ...
    elif isinstance(spec, AddLayer):
        a, b = (f"{s}.out" for s in spec.inputs)
        fwd.append(VectorOp(l.name, "forward", o_el, (Tensor(a, o_el, ob), Tensor(b, o_el, ob)), (y,), k))
        # backward: δ passes to both branches unchanged; the fork where the branches met adds
        # the two gradients (1 add/elem, read both, write one).
        bwd.append(VectorOp(l.name, "backward_data", o_el, (dy, dy), (dx,), k))
    elif k == "softmax_ce":
        # softmax + cross-entropy forward (max, exp, sum, divide, log: 5 ops/elem), backward
        # (p − onehot, scale by 1/B: 2 ops/elem)
        fwd.append(VectorOp(l.name, "forward", 5 * i_el, (x,), (Tensor(f"{l.name}.p", i_el, ob),), k))
        bwd.append(VectorOp(l.name, "backward_data", 2 * i_el, (Tensor(f"{l.name}.p", i_el, ob),), (dx,), k))
    # flatten: a view, no work
    return {"forward": fwd, "backward_data": bwd}


def lower_step(net: Network, batch: int, operand_bytes: int, accumulator_bytes: int,
               update: UpdateConfig | None = None, phases: tuple[str, ...] = PHASES, execution=None) -> Lowered:
    """All ops of one training step in execution order: the forward pass layer by layer, then the
    backward pass in reverse layer order (backward_data, weight_gradient, update per layer)."""
    if batch <= 0:
        raise ValueError("batch must be > 0")
    if batch > MAX_BATCH:
        raise InputError(f"batch {batch:,} is beyond what asicsim simulates", field="batch", value=batch,
                         allowed=f"1 … {MAX_BATCH:,}")
    upd = update or UpdateConfig()
    per_layer: list[tuple[Layer, dict[str, list[Op]]]] = []
    first_weighted = next((l.name for l in net.layers if l.is_weighted), None)
    for l in net.layers:
        if l.is_weighted:
            per_layer.append((l, lower_weighted(l, batch, operand_bytes, accumulator_bytes,
                                                first=(l.name == first_weighted), upd=upd, ex=execution)))
        else:
            per_layer.append((l, lower_vector_layer(l, batch, operand_bytes)))
    ops: list[Op] = []
    if "forward" in phases:
        for _, d in per_layer:
            ops.extend(d.get("forward", []))
    for _, d in reversed(per_layer):
        for p in ("backward_data", "weight_gradient", "update"):
            if p in phases:
                ops.extend(d.get(p, []))
    return Lowered(net.name, batch, tuple(ops))
