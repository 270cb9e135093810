"""Case generators for the input fuzz suite (`tests/test_fuzz_inputs.py`, `benchmarks/bench_robustness.py`).

Each input kind has a seed: a real file of the repository (or a small valid one derived from real
data) and the command that reads it. A case is the seed mutated one of two ways:

* **schema mutations** (YAML kinds): a value somewhere in the parsed document replaced by a boundary
  value (0, −1, NaN, ±inf, 2⁶³, a string, null, an empty or a huge list, a nested map), a key
  deleted, or an unknown key added; the document is dumped back to YAML;
* **byte mutations** (every kind): truncation, flipped bytes, a duplicated line (duplicate keys),
  re-encoding as UTF-16 or Latin-1 with non-ASCII text, random bytes.

The oracle (`run_case`): the command exits 0 (the mutated file is still valid and was simulated
without an exception) or 2 with exactly one line on stderr naming the file, and never 1 (the
CLI's "internal error" line) or a traceback. Everything is seeded: case *i* of a kind is a pure
function of (kind, i).
"""
from __future__ import annotations

import os
import random
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
DATA = ROOT / "tests" / "data"

BOUNDARY = [0, -1, -0.5, float("nan"), float("inf"), float("-inf"), 2 ** 63, 10 ** 30, "x", "", None, True,
            [], {}, [1] * 5000, {"deep": {"er": [0]}}, "1e999", 1e-300]

# A two-conv network (a LeNet-5 prefix) keeps every accelerator/system case fast to simulate.
TINY_NET = {"name": "fuzz_tiny", "input": {"channels": 1, "height": 12, "width": 12},
            "layers": [{"name": "c1", "type": "conv", "out_channels": 4, "kernel": 3},
                       {"name": "r1", "type": "relu"},
                       {"name": "p1", "type": "maxpool", "kernel": 2, "stride": 2},
                       {"name": "f", "type": "flatten"},
                       {"name": "fc", "type": "linear", "out_features": 10},
                       {"name": "loss", "type": "softmax_ce"}]}


@dataclass(frozen=True)
class Kind:
    """An input kind: its seed file's bytes, the file name to write, and the argv that reads it."""
    name: str
    seed: bytes
    filename: str
    argv: Callable[[Path, Path], list[str]]     # (case file, work dir) -> argv
    structured: bool = True                     # YAML: schema mutations apply


def _idx_bytes(arr: np.ndarray) -> bytes:
    code = {np.dtype(np.uint8): 0x08}[arr.dtype]
    head = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return head + arr.tobytes()


def write_idx_folder(folder: Path, n_train: int = 64, n_test: int = 32) -> None:
    """Four valid IDX files holding real images (the first images of the shipped Fashion-MNIST subset)."""
    with np.load(ROOT / "asicsim" / "data" / "fashion_mnist_tiny.npz") as z:
        x_tr, y_tr, x_te, y_te = z["x_train"][:n_train], z["y_train"][:n_train], z["x_test"][:n_test], z["y_test"][:n_test]
    folder.mkdir(parents=True, exist_ok=True)
    for stem, arr in (("train-images-idx3-ubyte", x_tr), ("train-labels-idx1-ubyte", y_tr),
                      ("t10k-images-idx3-ubyte", x_te), ("t10k-labels-idx1-ubyte", y_te)):
        (folder / stem).write_bytes(_idx_bytes(np.ascontiguousarray(arr.astype(np.uint8))))


def kinds(work: Path) -> dict[str, Kind]:
    """The input kinds, with seeds written under ``work`` where a command needs companions."""
    work.mkdir(parents=True, exist_ok=True)
    net = work / "tiny_net.yaml"
    net.write_text(yaml.safe_dump(TINY_NET, sort_keys=False))
    topo_rows = (DATA / "scalesim/topologies/conv_nets/Googlenet.csv").read_text().splitlines()
    topo_seed = "\n".join([topo_rows[0]] + [r for r in topo_rows[1:] if r.strip()][3:6]) + "\n"
    small_topo = work / "small_topo.csv"
    small_topo.write_text(topo_seed)
    cfg = DATA / "scalesim/configs/google.cfg"
    idx = work / "idx_seed"
    write_idx_folder(idx)
    out = lambda w: ["--out", str(w / "o")]   # noqa: E731
    run = ["run", "--batch", "1", "--phases", "forward,backward_data,weight_gradient,update"]

    def idx_argv(f: Path, w: Path) -> list[str]:
        d = w / "idx"
        if d.exists():
            for p in d.iterdir():
                p.unlink()
        write_idx_folder(d)
        f.replace(d / "train-labels-idx1-ubyte")        # the mutated file replaces one of the four
        return ["train", "--network", "lenet5", "--dataset", "idx", "--data-dir", str(d), "--epochs", "1",
                "--batch", "16", "--limit-train", "32", "--limit-test", "16", "--quiet"] + out(w)

    return {
        "accelerator": Kind("accelerator", (MODELS / "accelerators/edge.yaml").read_bytes(), "acc.yaml",
                            lambda f, w: run + ["--accelerator", str(f), "--network", str(net)] + out(w)),
        "network": Kind("network", (MODELS / "networks/lenet5.yaml").read_bytes(), "net.yaml",
                        lambda f, w: run + ["--network", str(f)] + out(w)),
        "system": Kind("system", (MODELS / "systems/ring8.yaml").read_bytes(), "sys.yaml",
                       lambda f, w: ["run", "--batch", "8", "--network", str(net), "--system", str(f)] + out(w)),
        "study": Kind("study", (MODELS / "studies/tiny.yaml").read_bytes(), "study.yaml",
                      lambda f, w: ["sweep", str(f), "--dry-run"]),
        "energy_table": Kind("energy_table", (MODELS / "energy_tables/zigzag_tpu_like_ert.yaml").read_bytes(),
                             "ert.yaml", lambda f, w: _ert_argv(f, w, net, run, out)),
        "execution": Kind("execution", (MODELS / "executions/realistic.yaml").read_bytes(), "exec.yaml",
                          lambda f, w: run + ["--execution", str(f), "--network", str(net)] + out(w)),
        "scalesim_csv": Kind("scalesim_csv", topo_seed.encode(), "topo.csv",
                             lambda f, w: ["run", "--scalesim-config", str(cfg), "--topology", str(f)] + out(w),
                             structured=False),
        "scalesim_cfg": Kind("scalesim_cfg", cfg.read_bytes(), "arch.cfg",
                             lambda f, w: ["run", "--scalesim-config", str(f), "--topology", str(small_topo)] + out(w),
                             structured=False),
        "idx": Kind("idx", (idx / "train-labels-idx1-ubyte").read_bytes(), "labels.idx", idx_argv, structured=False),
    }


def _ert_argv(f: Path, w: Path, net: Path, run: list[str], out) -> list[str]:
    acc = yaml.safe_load((MODELS / "accelerators/zigzag_tpu_like_ert.yaml").read_text())
    acc["energy"] = {"table": f.name}
    (w / "acc_ert.yaml").write_text(yaml.safe_dump(acc, sort_keys=False))
    return run + ["--accelerator", str(w / "acc_ert.yaml"), "--network", str(net)] + out(w)


# --------------------------------------------------------------------------- mutations


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            found += _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:20]):
            found += _paths(v, prefix + (i,))
    return found


def _set(doc: Any, path: tuple, value: Any, delete: bool = False) -> Any:
    if not path:
        return value
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


def schema_mutation(seed: bytes, rng: random.Random) -> tuple[bytes, str]:
    doc = yaml.safe_load(seed.decode("utf-8"))
    path = rng.choice(_paths(doc)[1:] or [()])
    what = rng.random()
    if what < 0.15 and path:
        _set(doc, path, None, delete=True)
        desc = f"delete {'.'.join(map(str, path))}"
    elif what < 0.25:
        target = doc
        for p in path:
            target = target[p]
        if isinstance(target, dict):
            target[rng.choice(["bogus", "Rows", "capacity", "x" * 200])] = 1
        else:
            _set(doc, path, {"unknown_key": target})
        desc = f"unknown key at {'.'.join(map(str, path))}"
    else:
        value = rng.choice(BOUNDARY)
        doc = _set(doc, path, value)
        desc = f"{'.'.join(map(str, path)) or '<root>'} = {str(value)[:30]}"
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode("utf-8"), desc


def byte_mutation(seed: bytes, rng: random.Random) -> tuple[bytes, str]:
    what = rng.randrange(6)
    if what == 0:
        cut = rng.randrange(len(seed) + 1)
        return seed[:cut], f"truncated at {cut}"
    if what == 1:
        data = bytearray(seed)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data), "flipped bytes"
    if what == 2:
        lines = seed.split(b"\n")
        i = rng.randrange(len(lines))
        return b"\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1:]), f"line {i + 1} duplicated"
    if what == 3:
        text = seed.decode("utf-8", "replace") + "\n# µ—é\n"
        enc = rng.choice(["utf-16", "latin-1", "utf-32"])
        return text.encode(enc, "replace"), f"encoded {enc}"
    if what == 4:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 2048))), "random bytes"
    i = rng.randrange(len(seed) + 1)
    return seed[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))) + seed[i:], f"junk inserted at {i}"


def case(kind: Kind, i: int) -> tuple[bytes, str]:
    """Case ``i`` of ``kind``: a pure function of (kind name, i)."""
    rng = random.Random(f"{kind.name}:{i}")
    if kind.structured and rng.random() < 0.6:
        return schema_mutation(kind.seed, rng)
    return byte_mutation(kind.seed, rng)


# --------------------------------------------------------------------------- oracle


@dataclass(frozen=True)
class Outcome:
    kind: str
    index: int
    mutation: str
    rc: int
    stderr: str
    seconds: float

    @property
    def clean(self) -> bool:
        """Exit 0, or exit 2 with one line naming the file; never exit 1 or a traceback."""
        if "Traceback" in self.stderr:
            return False
        if self.rc == 0:
            return True
        lines = [ln for ln in self.stderr.splitlines() if ln.strip()]
        return self.rc == 2 and len(lines) == 1


def run_case(kind: Kind, i: int, work: Path, main: Callable[[list[str]], int], capture) -> Outcome:
    """Write case ``i``, run the command in-process through ``main``; ``capture()`` returns the
    stderr written since the last call (pytest's capsys, or a redirect in the benchmark)."""
    data, desc = case(kind, i)
    f = work / kind.filename
    f.write_bytes(data)
    argv = kind.argv(f, work)
    capture()
    t0 = time.perf_counter()
    try:
        rc = main(argv)
    except SystemExit as exc:      # argparse usage errors exit 2 themselves
        rc = int(exc.code or 0)
    dt = time.perf_counter() - t0
    return Outcome(kind.name, i, desc, rc, capture(), dt)


def run_process(argv: list[str], cwd: Path) -> tuple[int, str, float, float]:
    """(exit code, stderr, wall seconds, peak RSS MiB) of ``asicsim argv`` in a fresh process; the
    peak is the process's own high-water mark (`tests/rss_probe.py`)."""
    rss_file = Path(cwd) / ".rss_kib"
    env = dict(os.environ, ASICSIM_RSS_FILE=str(rss_file))
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, str(Path(__file__).with_name("rss_probe.py")), *argv], cwd=cwd, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    rss_mib = int(rss_file.read_text() or 0) / 1024 if rss_file.exists() else float("nan")
    return p.returncode, p.stderr.decode("utf-8", "replace"), wall, rss_mib


HOSTILE = {
    "alias_bomb.yaml": "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")) + "array: *i\n",
    "deep.yaml": "[" * 100_000 + "]" * 100_000,
    "binary.yaml": bytes(range(256)) * 64,
    "inf_capacity.yaml": (MODELS / "accelerators/edge.yaml").read_text().replace("capacity_kib: 512",
                                                                                 "capacity_kib: .inf"),
    "inf_bandwidth.yaml": (MODELS / "accelerators/edge.yaml").read_text().replace(
        "  channels: 2", "  channels: 2\n  bandwidth_gb_s: .inf"),
    "huge_list.yaml": "array: [" + ", ".join(["1"] * 400_000) + "]\n",
    "python_object.yaml": "!!python/object/apply:os.system ['echo pwned > pwned.txt']\n",
}
