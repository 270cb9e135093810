"""Fuzz the guarded input boundary: every input kind, 200 seeded cases each (see `fuzz_cases`).

Each case is a real file of the repository mutated (schema boundary values, unknown and missing
keys, truncation, flipped bytes, duplicated lines, other encodings, random bytes) and read by the
command a user would run. The oracle: exit 0 (still valid: it ran without an exception) or exit 2
with one line on stderr that names the file — never exit 1 (the CLI's internal-error line, i.e. an
exception that escaped the boundary) and never a traceback. Plus hostile files in a real process,
checked for exit code, one line, wall time and peak memory.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import fuzz_cases  # noqa: E402

from asicsim.cli.main import main  # noqa: E402

CASES_PER_KIND = 200
KINDS = ("accelerator", "network", "system", "study", "energy_table", "execution", "scalesim_csv", "scalesim_cfg",
         "idx")
NAMED_IN_MESSAGE = {"idx": "/idx"}   # the mutated file's name in the error line (IDX: the file or its folder)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    w = tmp_path_factory.mktemp("fuzz")
    return w, fuzz_cases.kinds(w)


@pytest.mark.parametrize("name", KINDS)
def test_every_case_exits_0_or_2_with_one_line_naming_the_file(work, capsys, name):
    w, kinds = work
    kind = kinds[name]

    def capture():
        return capsys.readouterr().err

    outcomes = [fuzz_cases.run_case(kind, i, w, main, capture) for i in range(CASES_PER_KIND)]
    bad = [o for o in outcomes if not o.clean]
    assert not bad, "\n".join(f"case {o.index} ({o.mutation}): rc {o.rc}: {o.stderr.strip()[-400:]}" for o in bad[:5])
    named = NAMED_IN_MESSAGE.get(name, kind.filename)
    unnamed = [o for o in outcomes if o.rc == 2 and named not in o.stderr]
    assert not unnamed, "\n".join(f"case {o.index} ({o.mutation}): {o.stderr.strip()}" for o in unnamed[:5])
    # the mutations must actually reach both outcomes (a fuzz that only ever errors tests little)
    assert sum(o.rc == 2 for o in outcomes) >= CASES_PER_KIND // 2
    assert max(o.seconds for o in outcomes) < 10


def test_cases_are_reproducible():
    k = fuzz_cases.kinds(Path(os.environ.get("TMPDIR", "/tmp")) / "asicsim_fuzz_repro")["accelerator"]
    assert [fuzz_cases.case(k, i) for i in range(20)] == [fuzz_cases.case(k, i) for i in range(20)]


@pytest.mark.parametrize("name", sorted(fuzz_cases.HOSTILE))
def test_hostile_files_in_a_real_process(tmp_path, name):
    content = fuzz_cases.HOSTILE[name]
    f = tmp_path / name
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    rc, err, wall_s, rss_mib = fuzz_cases.run_process(["run", "--network", "lenet5", "--accelerator", str(f),
                                             "--out", str(tmp_path / "o")], tmp_path)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err and name in err, err[-500:]
    assert wall_s < 15 and rss_mib < 500, (wall_s, rss_mib)
    assert not (tmp_path / "o").exists() and not (tmp_path / "pwned.txt").exists()


NUMBERS = ["0", "-1", "1", "3", "nan", "inf", "-inf", "1e999", "9223372036854775808", "1048577", "0.5", "x", "",
           "4096", "65536"]


def test_numeric_command_line_options(work, capsys):
    """200 seeded combinations of boundary numbers for the numeric options of ``run``: exit 0 or 2
    with one line, never an internal error."""
    import random

    w, _ = work
    net = w / "tiny_net.yaml"
    rng = random.Random("cli-numbers")
    opts = ["--batch", "--rank", "--momentum", "--sub-batch"]
    for i in range(CASES_PER_KIND):
        picked = rng.sample(opts, rng.randint(1, len(opts)))
        argv = ["run", "--network", str(net), "--phases", "forward", "--out", str(w / "cli")]
        if "--rank" in picked or "--sub-batch" in picked:
            argv += ["--update", "sbpca"]
        for o in picked:
            argv += [o, rng.choice(NUMBERS)]
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = int(exc.code or 0)
        err = capsys.readouterr().err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert rc == 0 or (rc == 2 and len(lines) == 1 and "Traceback" not in err), (argv, rc, err[-300:])
