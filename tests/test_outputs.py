"""The output boundary: --out checks, atomic writes, and the CLI's last line of defence."""
from __future__ import annotations

import errno

import pytest

import asicsim.outputs as outputs
from asicsim.cli.main import main
from asicsim.errors import InputError


def test_a_write_that_fails_midway_leaves_no_file(tmp_path, monkeypatch):
    import pandas as pd

    df = pd.DataFrame({"a": range(1000)})

    def half_then_fail(tmp, **kw):
        tmp.write_text("a\n0\n1\n")            # the half that reached the disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(df, "to_csv", half_then_fail)
    with pytest.raises(InputError, match="no space left"):
        outputs.write_csv(tmp_path / "layers.csv", df)
    assert list(tmp_path.iterdir()) == []      # neither layers.csv nor its temporary file


def test_an_interrupted_run_leaves_no_summary(tmp_path, monkeypatch):
    """Ctrl-C while layers.csv is written: no summary.json, no torn layers.csv."""
    real = outputs.write_with

    def interrupt(path, writer):
        if str(path).endswith("layers.csv"):
            def torn(tmp):
                tmp.write_text("layer,phase\n")
                raise KeyboardInterrupt
            return real(path, torn)
        return real(path, writer)

    monkeypatch.setattr(outputs, "write_with", interrupt)
    out = tmp_path / "o"
    assert main(["run", "--network", "lenet5", "--batch", "2", "--out", str(out)]) == 130
    assert sorted(p.name for p in out.iterdir()) == []


@pytest.mark.parametrize("make,words", [
    (lambda p: (p / "f").write_text("x") and p / "f", "is a file"),
    (lambda p: outputs.PACKAGE_DIR / "results", "inside the asicsim package"),
    (lambda p: (p / "f").write_text("x") and p / "f" / "sub", "has a file in its path"),
])
def test_bad_out_is_refused_before_any_work(tmp_path, capsys, make, words):
    out = make(tmp_path)
    assert main(["run", "--network", "lenet5", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err and "--out" in err
    assert not (outputs.PACKAGE_DIR / "results").exists()


def test_an_internal_error_is_one_line_exit_1_and_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    import asicsim.engine.results as results

    def boom(*a, **k):
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr(results, "build_step_table", boom, raising=False)
    monkeypatch.setattr("asicsim.studies.step.op_rows", boom)
    argv = ["run", "--network", "lenet5", "--batch", "2", "--out", str(tmp_path / "o")]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and err.startswith("asicsim: internal error in ")
    assert "RuntimeError: a bug over two lines; please report with the command" in err
    with pytest.raises(RuntimeError):
        main(["--debug"] + argv)
