"""The public API: README's examples run as doctests; `asicsim.simulate` equals `asicsim run`."""
from __future__ import annotations

import doctest
import json
from pathlib import Path

import pytest

import asicsim
from asicsim.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_examples_run():
    res = doctest.testfile(str(README), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert res.attempted >= 5 and res.failed == 0


def test_api_module_doctest():
    from asicsim import api
    res = doctest.testmod(api)
    assert res.attempted >= 2 and res.failed == 0


def test_simulate_equals_cli_summary(tmp_path):
    assert main(["run", "--network", "lenet5", "--accelerator", "edge", "--batch", "8", "--out", str(tmp_path)]) == 0
    written = json.loads((tmp_path / "summary.json").read_text())
    r = asicsim.simulate(network="lenet5", accelerator="edge", batch=8)
    assert r.total_cycles == written["total_cycles"]
    assert json.loads(json.dumps(r.summary)) == written


@pytest.mark.parametrize("kw,field", [(dict(update="adam"), "update.rule"), (dict(update=3), "update"),
                                      (dict(phases=["fwd"]), "phases"), (dict(rank=0, update="sbpca"), "update.rank"),
                                      (dict(network="nope"), "network")])
def test_bad_input_names_the_field(kw, field):
    with pytest.raises(asicsim.InputError) as ei:
        asicsim.simulate(**{"network": "lenet5", **kw})
    assert ei.value.field == field
