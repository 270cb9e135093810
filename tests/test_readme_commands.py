"""Every `asicsim …` shell command in the README parses: argparse accepts it as written, the
options it combines are allowed together (``--rank`` only with a ranked rule), and every file it
names exists in the repository. No simulation runs, so this is cheap; it keeps the README from
drifting away from the command line. Also: the CLI shows defaults and its version."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from asicsim.cli.main import build_parser, main
from asicsim.cli.run import resolve_rank

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def shell_lines(text: str) -> list[str]:
    """Commands from ```bash blocks and 4-space indented blocks, continuation lines joined."""
    out, in_fence, buf = [], False, ""
    for raw in text.splitlines():
        if raw.strip().startswith("```"):
            in_fence = raw.strip() in ("```bash", "```sh") if not in_fence else False
            continue
        code = in_fence or raw.startswith("    ")
        if not code and not buf:
            continue
        line = raw.strip()
        if buf:
            line = buf + " " + line
            buf = ""
        if line.endswith("\\"):
            buf = line[:-1].rstrip()
            continue
        out.append(line)
    return out


def expand(cmd: str) -> list[str]:
    """argv of a README command: drop a trailing comment, keep the contents of optional ``[…]``
    groups (the first of ``a | b`` alternatives), and the first of ``x|y|z`` choices."""
    cmd = re.sub(r"\s+#.*$", "", cmd)
    cmd = re.sub(r"\[([^\]]*)\]", lambda m: m.group(1).split(" | ")[0], cmd)
    argv = shlex.split(cmd)[1:]
    return [a.split("|")[0] if "|" in a and not a.startswith("tcp:") else a for a in argv]


COMMANDS = [c for c in shell_lines(README) if c.startswith("asicsim ")]


def test_readme_has_the_documented_commands():
    words = " ".join(COMMANDS)
    for sub in ("run", "compare", "train", "sweep", "report", "--version"):
        assert f"asicsim {sub}" in words
    assert len(COMMANDS) >= 15


@pytest.mark.parametrize("cmd", COMMANDS)
def test_readme_command_parses(cmd):
    argv = expand(cmd)
    if argv == ["--version"]:
        return   # exercised below (argparse's version action exits)
    args = build_parser().parse_args(argv)
    assert getattr(args, "_execute", None), cmd
    if args.command == "run":
        resolve_rank(args.update, args.rank)          # raises for --rank with full/resist
        assert not (args.gemm and "conv_nets" in (args.topology or "")), "--gemm needs a GEMM topology"
    for opt in ("topology", "scalesim_config"):
        if getattr(args, opt, None):
            assert (ROOT / getattr(args, opt)).is_file(), cmd
    for opt in ("network", "accelerator"):
        v = getattr(args, opt, None)
        if v and "/" not in v and not v.endswith((".yaml", ".onnx")):
            kind = "networks" if opt == "network" else "accelerators"
            assert (ROOT / "models" / kind / f"{v}.yaml").is_file(), cmd
    study = getattr(args, "study", None)
    if study and "/" not in study:
        assert (ROOT / "models" / "studies" / f"{study}.yaml").is_file(), cmd
    out = getattr(args, "out", None) or getattr(args, "folder", None)
    if out:   # README commands write only under the untracked out/ folder
        assert out.startswith("out/"), cmd


def test_version_and_defaults_in_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and re.match(r"asicsim \S+", capsys.readouterr().out)
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    text = text[text.index("options:"):]
    for opt, default in (("--rank", "default: 4"), ("--sub-batch", "default: 32"), ("--projections", "default: array"),
                         ("--apply", "default: digital"), ("--backward", "default: bp"), ("--momentum", "default: 0.0")):
        seg = text[text.index(opt + " "):] + " --"
        seg = seg[:seg.index(" --", 3)]
        assert default in seg, (opt, seg)


def test_rank_with_full_is_an_error_and_default_rank_is_printed(tmp_path, capsys):
    assert main(["run", "--network", "lenet5", "--update", "full", "--rank", "3", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--rank" in err and "full" in err
    assert main(["run", "--network", "lenet5", "--batch", "4", "--update", "sbpca", "--momentum",
                 "--out", str(tmp_path)]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert "rank 4 (default)" in head and "momentum 0.9" in head and "sub-batch 32" in head


@pytest.mark.parametrize("opt,value", [("--sub-batch", "8"), ("--projections", "vector"), ("--apply", "crossbar")])
def test_sbpca_only_options_with_another_rule_are_errors(tmp_path, capsys, opt, value):
    assert main(["run", "--network", "lenet5", "--update", "sketch", opt, value, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and opt in err and "sketch" in err
    assert main(["run", "--network", "lenet5", "--batch", "4", "--update", "sbpca", "--sub-batch", "2",
                 "--out", str(tmp_path)]) == 0
    assert "sub-batch 2" in capsys.readouterr().out.splitlines()[0]


def test_progress_bar_only_on_a_terminal(tmp_path, capsys, monkeypatch):
    """tqdm with disable=None: no bar when stderr is not a terminal, a bar when it is."""
    import io
    import sys

    base = ["train", "--network", "lenet5", "--dataset", "tiny", "--epochs", "1", "--limit-train", "64",
            "--limit-test", "32", "--batch", "32"]
    assert main(base + ["--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "100%" not in err and "step/s" not in err

    class Tty(io.StringIO):
        def isatty(self):
            return True
    fake = Tty()
    monkeypatch.setattr(sys, "stderr", fake)
    assert main(base + ["--out", str(tmp_path / "b")]) == 0
    assert "100%" in fake.getvalue()


def test_train_prints_the_input_adaptation(tmp_path, capsys):
    """An ONNX network with a 3×32×32 input (LeNet-5's ONNX twin, built with onnx.helper) trained on
    28×28×1 images: the console says how the images were adapted, before training."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    def init(name, *shape):
        return helper.make_tensor(name, TensorProto.FLOAT, shape, [0.0] * int(__import__("math").prod(shape)))

    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], kernel_shape=[5, 5], name="conv1"),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2], name="pool1"),
             helper.make_node("Flatten", ["p1"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], transB=1, name="fc")]
    graph = helper.make_graph(nodes, "tiny32", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
                              [init("w1", 4, 3, 5, 5), init("w2", 10, 4 * 14 * 14), init("b2", 10)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / "tiny32.onnx"
    onnx.save(model, str(path))
    rc = main(["train", "--network", str(path), "--dataset", "tiny", "--epochs", "1", "--limit-train", "64",
               "--limit-test", "32", "--batch", "32", "--quiet", "--out", str(tmp_path / "t")])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "input adapted" in err and "zero-padded 28x28 -> 32x32" in err and "replicated 1 -> 3 channels" in err
