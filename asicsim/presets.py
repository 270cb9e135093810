"""Where presets live and how a name or path becomes a file: shared by every stage's loader.

A preset is ``models/<kind>/<name>.yaml`` at the repository root; anything that looks like a path
(a ``.yaml``/``.yml`` suffix, or an existing file) is used as given.
"""
from __future__ import annotations

from pathlib import Path

from asicsim.errors import InputError
from asicsim.inputs import load_yaml  # noqa: F401  (the guarded loader, re-exported for the stage loaders)

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "models"
NETWORKS_DIR = MODELS_DIR / "networks"
ACCELERATORS_DIR = MODELS_DIR / "accelerators"
STUDIES_DIR = MODELS_DIR / "studies"
SYSTEMS_DIR = MODELS_DIR / "systems"


def resolve_preset(name_or_path: str | Path, folder: Path, kind: str) -> Path:
    """The YAML file for a preset name (``<folder>/<name>.yaml``) or a path; a clear error if neither.
    A name without a .yaml suffix is a preset unless such a file exists in the working directory."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.exists():
            raise InputError("file not found", file=p)
        return p
    path = folder / f"{name_or_path}.yaml"
    if not path.exists():
        names = sorted(q.stem for q in folder.glob("*.yaml"))
        raise InputError(f"unknown {kind}", field=kind, value=str(name_or_path),
                         allowed=", ".join(names) + ", or a path to a .yaml file")
    return path

