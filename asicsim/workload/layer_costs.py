"""Forward and backward cost of the layer kinds of `asicsim.workload.layer_kinds` (and n-ary add).

Vector work is counted in element operations (one add, multiply, compare, exp or copy on one
element each), per *output* element unless said otherwise, forward / backward:

================  =======  =========  ==========================================================
kind              fwd/el   bwd/el     why
================  =======  =========  ==========================================================
concat            1        1          copy each input into the joined tensor; backward splits δy
                                      into one δx per branch (the same copies, in reverse)
add (n inputs)    n − 1    n − 1      n − 1 adds; backward: the fork that fed the branches adds
                                      their gradients (δ passes to each branch unchanged)
scale (constant)  1        1 (0 add)  one op; δx = δy·c (mul/div), −δy (sub), δy (add: no work)
scale (tensor)    1        3 (1 ±)    δx = δy·s and δs = Σ_hw δy·x (multiply + reduce)
sigmoid           4        3          neg, exp, add, reciprocal; δ·y·(1 − y)
tanh              5        3          two exps, add, sub, divide; δ·(1 − y²)
hardsigmoid       3        2          scale, shift, clamp; mask and scale δ
hardswish         4        4          hardsigmoid + multiply; piecewise derivative
silu              5        5          sigmoid + multiply; δ·(σ + x·σ·(1 − σ))
leakyrelu, prelu  2        2          compare, select-multiply (PReLU's slope gradient: +1)
elu               3        2          compare, exp, sub-multiply; δ·(y + α) below 0
gelu              8        10         tanh approximation (cubic, tanh, products)
softmax           5        4          max, sub, exp, sum, divide; δ·y − y·Σ(δ·y)
softplus          3        3          exp, add, log; δ·σ(x)
softsign          3        3          abs, add, divide; δ/(1 + |x|)²
clamp             1        1          compare-select against a constant (ONNX Max/Min/Clip by a constant)
exp, log, abs,    1        1          one function-unit op; backward one multiply (exp: δ·y,
neg                                   log: δ/x, abs: sign, neg: −δ)
sqrt, reciprocal  1        2          one op; backward a divide and a multiply
erf               8        3          polynomial approximation; backward δ·exp(−x²)·2/√π
pow (constant p)  2        3          log-exp (or repeated multiply); δ·p·x^(p−1)
lrn (size n)      n + 4    2n + 6     sum of n squares, scale, add, power, divide; backward the
                                      window sum again for the cross terms
reduce_mean/_sum/ 1 per    1 per      one add (max: compare) per input element; backward broadcasts
_max              input    input      (max: routes) δ back to
                                      every input element
transpose         1        1          a copy (data movement) each way
upsample nearest  1        1          copy; backward accumulates each output's δ into its source
upsample bilinear 7        8          4 weights × (multiply) + 3 adds; backward 4 scaled scatters
upsample bicubic  31       32         16 taps × (multiply) + 15 adds; backward 16 scaled scatters
pad               1        1 per in   copy into the padded tensor; backward crops (copies δ)
slice             1        1 per in   copy out; backward writes δ (zero elsewhere) into δx
================  =======  =========  ==========================================================

``conv_transpose`` is a GEMM layer: its forward runs exactly like a conv's backward-data (the
conv that maps C_out × H_out × W_out back to its C_in × H_in × W_in input), its backward-data like
that conv's forward, and its weight gradient is the same m × (B·P) × n GEMM with x and δy in
swapped roles (m = C_in/g, n = C_out/g·kh·kw, P = H_in·W_in).
"""
from __future__ import annotations

ACT_COST = {"sigmoid": (4, 3), "tanh": (5, 3), "hardsigmoid": (3, 2), "hardswish": (4, 4), "silu": (5, 5),
            "leakyrelu": (2, 2), "prelu": (2, 3), "elu": (3, 2), "gelu": (8, 10), "softmax": (5, 4),
            "softplus": (3, 3), "softsign": (3, 3), "clamp": (1, 1), "exp": (1, 1), "log": (1, 1), "abs": (1, 1),
            "neg": (1, 1), "sqrt": (1, 2), "reciprocal": (1, 2), "erf": (8, 3), "pow": (2, 3)}


def new_kind_ops(l, batch: int, ob: int, Tensor, VectorOp) -> tuple[list, list] | None:
    """(forward, backward_data) vector ops of a layer of a new kind, or None if not one.
    ``Tensor``/``VectorOp`` are the lowering's own classes (passed in: this module sits beside it)."""
    spec, k = l.spec, l.kind
    i_el = batch * l.in_shape.numel
    o_el = batch * l.out_shape.numel
    x = Tensor(f"{l.inputs[0]}.out", i_el, ob)
    y = Tensor(f"{l.name}.out", o_el, ob)
    dy = Tensor(f"{l.name}.grad", o_el, ob)
    dx = Tensor(f"{l.inputs[0]}.grad", i_el, ob)
    F = lambda ops, reads, writes: VectorOp(l.name, "forward", ops, reads, writes, k)
    B = lambda ops, reads, writes: VectorOp(l.name, "backward_data", ops, reads, writes, k)
    if k == "concat":
        # each branch's tensor is its producer's own (the residency plan sees each one)
        xs = tuple(Tensor(f"{s}.out", batch * _numel(l, s), ob) for s in l.inputs)
        dxs = tuple(Tensor(f"{s}.grad", batch * _numel(l, s), ob) for s in l.inputs)
        return [F(o_el, xs, (y,))], [B(o_el, (dy,), dxs)]
    if k == "add":   # n-ary (two-input adds stay with the lowering's own rule)
        n = len(l.inputs)
        xs = tuple(Tensor(f"{s}.out", o_el, ob) for s in l.inputs)
        return [F((n - 1) * o_el, xs, (y,))], [B((n - 1) * o_el, (dy,) * n, (dx,))]
    if k == "scale":
        if spec.inputs:
            s_el = batch * _numel(l, spec.inputs[1])
            s = Tensor(f"{spec.inputs[1]}.out", s_el, ob)
            ds = Tensor(f"{spec.inputs[1]}.grad", s_el, ob)
            per = 3 if spec.op in ("mul", "div") else 1
            return [F(o_el, (x, s), (y,))], [B(per * o_el, (dy, x, s) if per == 3 else (dy,), (dx, ds))]
        bwd = [] if spec.op == "add" else [B(o_el, (dy,), (dx,))]
        return [F(o_el, (x,), (y,))], bwd
    if k in ACT_COST:
        f, b = ACT_COST[k]
        return [F(f * o_el, (x,), (y,))], [B(b * o_el, (dy, y), (dx,))]
    if k == "lrn":
        n = spec.size
        return [F((n + 4) * o_el, (x,), (y,))], [B((2 * n + 6) * o_el, (dy, x, y), (dx,))]
    if k in ("reduce_mean", "reduce_sum", "reduce_max"):
        return [F(i_el, (x,), (y,))], [B(i_el, (dy,), (dx,))]
    if k == "transpose":
        return [F(o_el, (x,), (y,))], [B(o_el, (dy,), (dx,))]
    if k == "upsample":
        f, b = {"nearest": (1, 1), "bilinear": (7, 8), "bicubic": (31, 32)}[spec.mode]
        return [F(f * o_el, (x,), (y,))], [B(b * o_el, (dy,), (dx,))]
    if k in ("pad", "slice"):
        return [F(o_el, (x,), (y,))], [B(i_el, (dy,), (dx,))]
    return None


def _numel(l, src: str) -> int:
    """Per-sample elements of input ``src`` of layer l (recorded when the network was built)."""
    return l.input_numels[l.inputs.index(src)]


def conv_transpose_gemms(l, batch: int, x, w, y, dy, dx, GemmOp):
    """(forward, backward_data, weight_gradient operands) GEMMs of a conv_transpose layer, per
    group (module docstring). Tensors are the per-group views the lowering made."""
    spec = l.spec
    g = spec.groups
    m_total, n = l.weight_shape
    m = m_total // g
    P = l.positions
    macs_group = batch * P * m * n
    M = batch * l.out_shape.h * l.out_shape.w
    N = spec.out_channels // g
    K = -(-macs_group // (M * N))
    exact = macs_group * g if K * M * N != macs_group else None
    fwd = GemmOp(l.name, "forward", M, K, N, x, w, y, g, exact)
    bwd = GemmOp(l.name, "backward_data", batch * P, n, m, dy, w, dx, g)
    return fwd, bwd
