"""Malformed inputs: each gives one clear message (file, field, value, what is allowed), exit 2,
and never a traceback."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from asicsim.cli.main import main

GOOD_HW = {"name": "x", "array": {"rows": 8, "cols": 8}, "sram": {"global": {"capacity_kib": 64}},
           "dram": {"preset": "lpddr4"}}
GOOD_NET = {"name": "n", "input": {"channels": 1, "height": 8, "width": 8},
            "layers": [{"name": "c", "type": "conv", "out_channels": 4, "kernel": 3},
                       {"name": "f", "type": "flatten"}, {"name": "fc", "type": "linear", "out_features": 2},
                       {"name": "loss", "type": "softmax_ce"}]}


def _merge(base, path, value):
    import copy
    d = copy.deepcopy(base)
    cur = d
    keys = path.split(".")
    for k in keys[:-1]:
        cur = cur[int(k)] if isinstance(cur, list) else cur.setdefault(k, {})
    last = keys[-1]
    if value is DELETE:
        del cur[last]
    elif isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value
    return d


DELETE = object()

HW_CASES = [  # (dotted path, bad value, words the message must contain)
    ("array.rows", 0, ["array.rows", "greater than 0"]),
    ("array.rows", "many", ["array.rows"]),
    ("array.dataflow", "xs", ["array.dataflow", "xs"]),
    ("array.clock_ghz", -1, ["array.clock_ghz"]),
    ("array.bogus", 3, ["array.bogus", "Extra inputs"]),
    ("sram.global.capacity_kib", -5, ["sram.global.capacity_kib"]),
    ("sram.global.holds", ["ifmap", "weights"], ["holds"]),
    ("sram.global.holds", ["ifmap", "filter"], ["ofmap"]),
    ("dram.preset", "ddr9", ["dram.preset", "ddr9"]),
    ("dram.preset", DELETE, ["bandwidth_gb_s"]),
    ("dram.channels", 0, ["dram.channels"]),
    ("vector.lanes", 0, ["vector.lanes"]),
    ("array", DELETE, ["array", "Field required"]),
]


@pytest.mark.parametrize("path,value,words", HW_CASES)
def test_bad_hardware_yaml(tmp_path, capsys, path, value, words):
    f = tmp_path / "hw.yaml"
    f.write_text(yaml.safe_dump(_merge(GOOD_HW, path, value)))
    rc = main(["run", "--accelerator", str(f), "--network", "lenet5", "--batch", "1", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2
    assert str(f) in err
    for w in words:
        assert w in err, err
    assert "Traceback" not in err


NET_CASES = [
    ("layers.0.type", "convolution", ["layers.0", "convolution"]),
    ("layers.0.out_channels", -1, ["out_channels"]),
    ("layers.0.kernel", 9, ["kernel", "larger than its (padded) input"]),
    ("layers.0.stride", 0, ["stride"]),
    ("layers.0.groups", 3, ["groups", "divisor"]),
    ("layers.1.input", "nowhere", ["layers[1].input", "nowhere"]),
    ("layers.2.name", "c", ["duplicate layer name"]),
    ("layers.3.type", "relu", ["layers"]),   # no loss at the end is allowed; check loss-in-middle below
    ("input.height", 0, ["input.height"]),
    ("layers", [], ["layers"]),
]


@pytest.mark.parametrize("path,value,words", NET_CASES)
def test_bad_network_yaml(tmp_path, capsys, path, value, words):
    f = tmp_path / "net.yaml"
    data = _merge(GOOD_NET, path, value)
    if path == "layers.3.type":   # softmax_ce that is not last
        data["layers"].insert(1, {"name": "l0", "type": "softmax_ce"})
        words = ["softmax_ce must be the last layer"]
    f.write_text(yaml.safe_dump(data))
    rc = main(["run", "--accelerator", "edge", "--network", str(f), "--batch", "1", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert str(f) in err
    for w in words:
        assert w in err, err


def test_malformed_yaml_syntax(tmp_path, capsys):
    f = tmp_path / "broken.yaml"
    f.write_text("name: x\narray: {rows: 8, cols: [\n")
    assert main(["run", "--accelerator", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "malformed YAML" in err and "line" in err and str(f) in err


def test_yaml_not_a_mapping(tmp_path, capsys):
    f = tmp_path / "list.yaml"
    f.write_text("- 1\n- 2\n")
    assert main(["run", "--network", str(f), "--out", str(tmp_path / "o")]) == 2
    assert "must be a YAML mapping" in capsys.readouterr().err


@pytest.mark.parametrize("argv,words", [
    (["run", "--accelerator", "tpu9"], ["unknown accelerator", "tpu9", "edge"]),
    (["run", "--network", "resnet19"], ["unknown network", "resnet19", "resnet18"]),
    (["run", "--network", "lenet5", "--batch", "0"], ["--batch"]),
    (["run", "--network", "lenet5", "--phases", "forward,sideways"], ["--phases", "sideways"]),
    (["run", "--network", "lenet5", "--momentum", "1.5"], ["momentum"]),
    (["run", "--network", "lenet5", "--rank", "0", "--update", "sbpca"], ["rank"]),
    (["run", "--network", "lenet5", "--accelerator", "/nonexistent/hw.yaml"], ["file not found", "/nonexistent/hw.yaml"]),
    (["run", "--network", "lenet5", "--gemm"], ["--gemm"]),
])
def test_bad_command_lines(tmp_path, capsys, argv, words):
    rc = main(argv + ["--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2
    for w in words:
        assert w in err, err


def test_tile_cannot_fit(tmp_path, capsys):
    """An SRAM too small for even the smallest double-buffered tile is an input error."""
    f = tmp_path / "tiny.yaml"
    f.write_text(yaml.safe_dump(_merge(GOOD_HW, "sram.global.capacity_kib", 0.01)))
    rc = main(["run", "--accelerator", str(f), "--network", "lenet5", "--batch", "1", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "no tiling fits the SRAM" in err and "sram" in err


def test_no_traceback_in_subprocess(tmp_path):
    r = subprocess.run([sys.executable, "-m", "asicsim", "run", "--accelerator", "nope", "--out", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "unknown accelerator" in r.stderr
