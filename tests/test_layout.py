"""The package reads as the pipeline: stage folders, imports flow one way, modules stay small."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "asicsim"
MAX_LINES = 450
# earlier stages never import later ones (nn, the functional trainer, sits beside the engine)
RANK = {"errors": 0, "inputs": 0, "outputs": 0, "presets": 0, "kernels": 0, "config": 1, "workload": 2, "engine": 3, "nn": 3,
        "system": 3, "studies": 4, "report": 5, "cli": 6, "api": 6, "__init__": 7, "__main__": 7}


def _modules():
    for p in sorted(PKG.rglob("*.py")):
        if "__pycache__" not in p.parts:
            yield p


def _stage(p: Path) -> str:
    rel = p.relative_to(PKG).parts
    return rel[0] if len(rel) > 1 else p.stem


def _imports(p: Path) -> list[tuple[str, int]]:
    out = []
    for node in ast.walk(ast.parse(p.read_text())):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{p}: relative import (use absolute asicsim.… imports)"
            if (node.module or "").startswith("asicsim"):
                for a in node.names:   # ``from asicsim.report import plots`` imports the submodule
                    sub = PKG.parent.joinpath(*node.module.split("."), a.name)
                    is_mod = sub.with_suffix(".py").exists() or (sub / "__init__.py").exists()
                    out.append((f"{node.module}.{a.name}" if is_mod else node.module, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.startswith("asicsim")]
    return out


def test_every_stage_module_is_known():
    assert {_stage(p) for p in _modules()} <= set(RANK)


@pytest.mark.parametrize("path", list(_modules()), ids=lambda p: str(p.relative_to(PKG)))
def test_module_size_and_import_direction(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(PKG)} has {n} lines: split it by job"
    me = RANK[_stage(path)]
    for mod, line in _imports(path):
        parts = mod.split(".")
        if len(parts) == 1:
            continue
        target = parts[1]
        assert RANK[target] <= me, (f"{path.relative_to(PKG)}:{line} imports {mod}: stage '{target}' comes "
                                    f"after '{_stage(path)}'")


def test_no_import_cycle():
    graph: dict[str, set[str]] = {}
    for p in _modules():
        me = ".".join(p.relative_to(PKG.parent).with_suffix("").parts).removesuffix(".__init__")
        graph[me] = {m for m, _ in _imports(p)}
    state: dict[str, int] = {}

    def visit(n, path):
        state[n] = 1
        for m in graph.get(n, ()):
            if m not in graph:
                continue
            assert state.get(m) != 1, "import cycle: " + " → ".join(path + [m])
            if m not in state:
                visit(m, path + [m])
        state[n] = 2

    for n in graph:
        if n not in state:
            visit(n, [n])
