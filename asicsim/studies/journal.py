"""A sweep's durable results: the fsync'd JSON-Lines journal, its lock, and the consolidated table.

See `asicsim.studies.sweep` for the durability contract (one line per finished point, a partial
last line dropped on restart, atomic rewrites of results.parquet / results.csv).
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd

from asicsim.errors import InputError
from asicsim.inputs import load_json
from asicsim.outputs import write_failed
from asicsim.studies.spec import Study

JOURNAL = "results.jsonl"
META = "sweep.json"

ID_COLUMNS = ("point", "key")
TIMING_COLUMNS = ("wall_s", "cpu_s")   # the only columns that differ between two runs of a study
RUN_COLUMNS = ("accelerator", "network", "batch", "update", "update.rule", "update.rank")


def update_label(update: dict) -> str:
    """``full``, ``sbpca_k<rank>`` (the labels `asicsim compare` uses), ``powersgd_r<rank>``, ``resist``."""
    rule = update.get("rule")
    if rule in ("full", "resist"):
        return rule
    return f"{rule}_{'r' if rule == 'powersgd' else 'k'}{update.get('rank')}"


def parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
        return True
    except ImportError:
        try:
            import fastparquet  # noqa: F401
            return True
        except ImportError:
            return False


def results_path(out_dir: Path) -> Path:
    """Where the consolidated table goes: results.parquet, or results.csv without a Parquet engine."""
    out_dir = Path(out_dir)
    return out_dir / ("results.parquet" if parquet_available() else "results.csv")


# --------------------------------------------------------------------------- journal


class Journal:
    """Append-only JSON Lines log of finished rows; kill-safe (see module docstring)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.fd: int | None = None

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1   # anything after the last newline is a torn write
        rows = []
        for line in data[:end].splitlines():
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # cannot happen with single-write appends; never fatal
        return rows

    def open(self) -> None:
        if self.path.exists():
            data = self.path.read_bytes()
            end = data.rfind(b"\n") + 1
            if end != len(data):
                with open(self.path, "r+b") as f:
                    f.truncate(end)
                    f.flush()
                    os.fsync(f.fileno())
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, rows: list[dict]) -> None:
        """Append rows durably. A failed write (a full disk) leaves at most a torn last line, which
        the next start drops; it raises an `InputError` naming the folder, so the sweep stops with
        one line and every row appended before stays."""
        if not rows:
            return
        blob = "".join(json.dumps(r, separators=(",", ":"), allow_nan=True) + "\n" for r in rows).encode()
        view = memoryview(blob)
        try:
            while view:                       # one write() in practice; loop only on a short write
                n = os.write(self.fd, view)
                view = view[n:]
            os.fsync(self.fd)
        except OSError as exc:
            raise write_failed(self.path, exc) from None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


HOLDER = ".sweep-holder.json"   # who holds the lock: pid, host, start time (informative only)


class JournalLock:
    """An exclusive ``flock`` on the journal. The kernel releases it when the holder dies (even by
    SIGKILL), so a stale lock cannot exist: the next sweep simply takes it. The holder's pid, host
    and start time are written beside it, so a refused second sweep can say who is running."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def _holder(self) -> str:
        try:
            h = json.loads((self.path.parent / HOLDER).read_text())
            return f"pid {h['pid']} on {h['host']}, started {h['started']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def __enter__(self):
        import fcntl
        import socket
        import time
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            self.fd = None
            raise InputError(f"another sweep is writing to this folder ({self._holder()}); wait for it to finish "
                             "or use another --out", file=self.path.parent) from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
        try:
            (self.path.parent / HOLDER).write_text(json.dumps(holder) + "\n")
        except OSError:
            pass
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            try:
                (self.path.parent / HOLDER).unlink()
            except OSError:
                pass
            os.close(self.fd)  # closing releases the flock
            self.fd = None


# --------------------------------------------------------------------------- tables


def _column_order(cols: list[str], axes: list[str]) -> list[str]:
    first = [c for c in ID_COLUMNS if c in cols]
    first += [c for c in axes if c in cols and c not in first]
    first += [c for c in RUN_COLUMNS if c in cols and c not in first]
    first += [c for c in ("error",) if c in cols]
    timing = [c for c in TIMING_COLUMNS if c in cols]
    rest = [c for c in cols if c not in first and c not in timing]
    return first + rest + timing


def build_table(rows: list[dict], study: Study | None = None, axes: list[str] | None = None) -> pd.DataFrame:
    """Rows (latest per key wins) as a table; with a study, only its points, in study order."""
    latest: dict[str, dict] = {}
    for r in rows:
        latest[r["key"]] = r
    if study is not None:
        order = [(p.key, p.index) for p in study.points if p.key in latest]
        recs = []
        for key, idx in order:
            r = dict(latest[key])
            r["point"] = idx
            recs.append(r)
        axes = study.axes
    else:
        recs = sorted(latest.values(), key=lambda r: r.get("point", 0))
    df = pd.DataFrame.from_records(recs) if recs else pd.DataFrame(columns=["point", "key", "error"])
    if "error" not in df:
        df["error"] = None
    df = df[_column_order(list(df.columns), list(axes or []))]
    for c in df.columns:  # a column mixing text and numbers would not write to Parquet
        if df[c].dtype == object:
            kinds = {type(v) for v in df[c] if v is not None and not (isinstance(v, float) and math.isnan(v))}
            if len(kinds) > 1 and str in kinds:
                df[c] = df[c].map(lambda v: None if v is None else str(v))
    return df.reset_index(drop=True)


def load_results(out_dir: str | Path) -> pd.DataFrame:
    """The table of a sweep folder, including rows journaled after the last consolidation."""
    out_dir = Path(out_dir)
    meta = load_json(out_dir / META, what="sweep metadata") if (out_dir / META).exists() else {}
    if not isinstance(meta, dict):
        raise InputError("sweep metadata is not a JSON object", file=out_dir / META)
    rows = Journal(out_dir / JOURNAL).read()
    keys = meta.get("keys")
    axes = meta.get("axes", [])
    if rows:
        if keys:
            pos = {k: i for i, k in enumerate(keys)}
            rows = [dict(r, point=pos[r["key"]]) for r in rows if r.get("key") in pos]
        return build_table(rows, axes=axes)
    for name in ("results.parquet", "results.csv"):
        p = out_dir / name
        if p.exists():
            return pd.read_parquet(p) if name.endswith(".parquet") else pd.read_csv(p)
    raise InputError("no sweep results here (expected results.jsonl or results.parquet)", file=out_dir)


