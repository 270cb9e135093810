"""The ONNX importer never raises a Python traceback: truncated files, random bytes, flipped
bytes, unknown ops and dynamic dimensions each end in an InputError of one line (or, for a
mutation that still leaves a valid model, in a network). Seeded hypothesis, 240 cases."""
from __future__ import annotations

from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from asicsim.errors import InputError
from asicsim.workload.network import load_network

DATA = Path(__file__).parent / "data" / "onnx"
SEEDS = [DATA / "light_squeezenet.onnx", DATA / "cntk_mnist.onnx", DATA / "light_bvlc_alexnet.onnx"]
BLOBS = [p.read_bytes() for p in SEEDS]
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _check(tmp_path, data: bytes, name: str = "f.onnx") -> None:
    p = tmp_path / name
    p.write_bytes(data)
    try:
        load_network(p)
    except InputError as e:
        assert "\n" not in str(e) and str(e)


@seed(1)
@FUZZ
@given(which=st.integers(0, len(BLOBS) - 1), frac=st.floats(0.0, 1.0))
def test_truncated(tmp_path, which, frac):
    b = BLOBS[which]
    _check(tmp_path, b[: int(len(b) * frac)])


@seed(2)
@FUZZ
@given(data=st.binary(min_size=0, max_size=2000))
def test_random_bytes(tmp_path, data):
    _check(tmp_path, data)


@seed(3)
@FUZZ
@given(which=st.integers(0, len(BLOBS) - 1), flips=st.lists(st.tuples(st.floats(0.0, 0.999), st.integers(1, 255)),
                                                             min_size=1, max_size=8))
def test_flipped_bytes(tmp_path, which, flips):
    b = bytearray(BLOBS[which])
    for pos, x in flips:
        b[int(pos * len(b))] ^= x
    _check(tmp_path, bytes(b))


OPS = ["Conv", "Relu", "Asinh", "Foo", "Concat", "Mul", "Transpose", "Reshape", "MaxPool", "Gemm", "Resize",
       "Slice", "Split", "Pad", "ReduceMean", "Sum", "LRN", "ConvTranspose", "Softmax", "If"]


@seed(4)
@FUZZ
@given(ops=st.lists(st.sampled_from(OPS), min_size=1, max_size=4),
       dims=st.lists(st.one_of(st.integers(0, 9), st.just("N"), st.none()), min_size=0, max_size=5),
       domain=st.sampled_from(["", "", "com.example"]))
def test_unknown_ops_and_dynamic_dims(tmp_path, ops, dims, domain):
    nodes, prev = [], "x"
    for j, op in enumerate(ops):
        nodes.append(helper.make_node(op, [prev, "w"] if op in ("Conv", "Gemm", "Mul") else [prev], [f"t{j}"],
                                      name=f"n{j}", domain=domain if op == "Foo" else ""))
        prev = f"t{j}"
    init = [helper.make_tensor("w", TensorProto.FLOAT, [2, 2, 1, 1], [0.0] * 4)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims or None)],
                          [helper.make_tensor_value_info(prev, TensorProto.FLOAT, None)], initializer=init)
    _check(tmp_path, helper.make_model(g).SerializeToString())
