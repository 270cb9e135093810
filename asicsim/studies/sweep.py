"""Run a study's design points in parallel, durably and resumably.

Execution: in-process (``workers=0``), a Dask ``LocalCluster`` of worker *processes* bound to the
loopback interface (``workers=N``, default: every core), or an existing Dask cluster
(``scheduler="tcp://host:8786"``; its workers need ``asicsim`` installed). The code path is the
same for all three: each point becomes one task that returns one row.

Durability: the driver appends every finished point's row to ``DIR/results.jsonl`` (JSON Lines)
with one ``write`` on an ``O_APPEND`` descriptor followed by ``fsync``, as soon as the point comes
back. A kill at any moment leaves at most a partial last line, which is dropped (and truncated
away) on the next start; a point is therefore either recorded once or not at all. On start, the
keys already in the journal are skipped. ``DIR/results.parquet`` (``results.csv`` without a
Parquet engine) is the consolidated table — one row per point of the current study, in study
order — rewritten atomically (temp file + ``os.replace``) every ``consolidate_every`` seconds and
at the end. An ``flock`` on the journal (released by the kernel even on SIGKILL) stops two sweeps
writing to one folder at once.

A row holds: ``point`` (index in the study), ``key`` (hash of the full resolved configuration),
one column per axis (dotted path), ``accelerator``, ``network``, ``batch``, ``update`` (label:
``full`` or ``sbpca_k<rank>``), ``update.rule``, ``update.rank``, ``error`` (empty when the point ran), the step's summary totals
(``total_cycles``, ``time_s``, ``energy_pj``, ``energy_<component>_pj``, DRAM/SRAM bytes,
``<phase>_cycles``/``<phase>_energy_pj``/``<phase>_dram_bytes``, ``macs``, ``utilization``,
``stall_share``, roofs, ``energy_per_sample_pj``, ``cycles_per_sample``), ``wall_s`` and ``cpu_s``
(seconds the point took, elapsed and on the CPU: the only columns that differ between two runs of
the same study).
"""
from __future__ import annotations

import json
import logging
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd

from asicsim.errors import InputError
from asicsim.inputs import load_json
from asicsim.outputs import write_table, write_text
from asicsim.studies.journal import (
    JOURNAL,
    META,
    Journal,
    JournalLock,
    build_table,
    results_path,
    update_label,
)
from asicsim.studies.rows import result_row, system_point_row
from asicsim.studies.spec import Point, Study

# --------------------------------------------------------------------------- one point


def _default_simulate() -> Callable:
    from asicsim.studies.step import simulate
    return simulate


_NETS: dict[str, Any] = {}


def _network(path: str):
    net = _NETS.get(path)
    if net is None:
        from asicsim.workload.network import load_network
        net = _NETS[path] = load_network(path)
    return net


def _cell(v: Any) -> Any:
    """A table cell: scalars stay, lists/mappings become JSON text."""
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, sort_keys=True)
    return v


def base_row(p: Point) -> dict:
    row: dict[str, Any] = {"point": p.index, "key": p.key}
    for k, v in p.axes.items():
        row[k] = _cell(v)
    row.setdefault("accelerator", p.accelerator_name)
    row.setdefault("network", p.network_name)
    row.setdefault("batch", p.batch)
    row["update"] = update_label(p.update)
    row.setdefault("update.rule", p.update.get("rule"))
    row.setdefault("update.rank", p.update.get("rank"))
    row["error"] = None
    return row


def run_point(p: Point, simulate: Callable | None = None) -> dict:
    """Simulate one point; never raises (a failure is recorded in the row's ``error``)."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    row = base_row(p)
    try:
        from asicsim.config.hardware import hardware_from_dict
        from asicsim.config.update import UpdateConfig
        if p.system is not None:
            row.update(system_point_row(p, simulate))
        else:
            sim = simulate or _default_simulate()
            hw = hardware_from_dict(p.hardware, p.hardware_file)
            ex_kw = {"execution": p.execution} if p.execution is not None else {}
            res = sim(hw, _network(p.network), p.batch, UpdateConfig(**p.update), phases=p.phases,
                      ideal_memory=p.ideal_memory, **ex_kw)
            row.update(result_row(res))
        if row.get("energy_pj") is not None and row.get("total_cycles") is not None:
            row["energy_per_sample_pj"] = row["energy_pj"] / p.batch
            row["cycles_per_sample"] = row["total_cycles"] / p.batch
    except Exception as exc:  # one bad point must not stop the sweep
        msg = str(exc).strip().splitlines()
        row["error"] = f"{type(exc).__name__}: {msg[0] if msg else ''}"[:500]
    row["wall_s"] = round(time.perf_counter() - t0, 6)
    row["cpu_s"] = round(time.process_time() - c0, 6)
    return row


def run_chunk(points: list[Point], simulate: Callable | None = None) -> list[dict]:
    return [run_point(p, simulate) for p in points]


def _error_rows(points: Iterable[Point], exc: BaseException | str) -> list[dict]:
    rows = []
    for p in points:
        r = base_row(p)
        text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        r["error"] = text.splitlines()[0][:500] if text else "failed"
        r["wall_s"] = None
        r["cpu_s"] = None
        rows.append(r)
    return rows



# --------------------------------------------------------------------------- the sweep


@dataclass
class SweepResult:
    out_dir: Path
    table: pd.DataFrame
    results_path: Path
    n_points: int
    n_skipped: int       # already in the folder from an earlier run
    n_run: int
    n_failed: int        # rows with an error in the final table
    elapsed_s: float
    workers: int | str
    stale_code: bool = False   # rows reused from a run of a different simulator build


def _simulator_modules(pkg: Path) -> list[Path]:
    """asicsim/studies/step.py and every package module it imports, transitively (by parsing imports)."""
    import ast
    todo, seen = [pkg / "studies" / "step.py"], set()
    while todo:
        f = todo.pop()
        if f in seen or not f.exists():
            continue
        seen.add(f)
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("asicsim"):
                target = pkg.parent.joinpath(*node.module.split("."))
                todo += [target.with_suffix(".py"), target / "__init__.py"]
                todo += [target / f"{a.name}.py" for a in node.names]
    return sorted(seen)


def code_fingerprint() -> str:
    """Hash of the simulator's source (`asicsim.studies.step` and what it imports), recorded with a sweep
    so that reusing rows computed by a different simulator build can be flagged."""
    import hashlib
    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parent.parent
    for f in _simulator_modules(pkg):
        h.update(f.relative_to(pkg).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _write_meta(out_dir: Path, study: Study) -> str | None:
    """Write sweep.json; return the simulator fingerprint of the earlier run if it differs."""
    meta_path = out_dir / META
    old: dict = {}
    if meta_path.exists():
        try:
            old = load_json(meta_path, what="sweep metadata")
        except InputError:   # a damaged sweep.json is rewritten; the journal holds the results
            old = {}
        if not isinstance(old, dict):
            old = {}
        if old.get("study") and old["study"] != study.name:
            raise InputError(f"this folder holds the results of study '{old['study']}'", file=out_dir,
                             field="--out", value=str(out_dir),
                             allowed=f"a new folder for study '{study.name}' (or the same study to resume)")
    code = code_fingerprint()
    history = [c for c in old.get("code_history", []) if isinstance(c, str)]
    stale = next((c for c in history if c != code), None)
    history = history + ([code] if code not in history else [])
    meta = {"kind": "sweep", "study": study.name, "description": study.description, "code": code,
            "code_history": history,
            "study_file": str(Path(study.file).resolve()), "axes": study.axes,
            "n_points": len(study.points), "duplicates_dropped": study.duplicates,
            "report": study.report, "keys": study.keys, "spec": study.spec}
    write_text(meta_path, json.dumps(meta, indent=1, default=str))
    try:
        if Path(study.file).exists():
            shutil.copyfile(study.file, out_dir / ".study.yaml.tmp")
            os.replace(out_dir / ".study.yaml.tmp", out_dir / "study.yaml")
    except OSError:
        pass
    return stale


def _table_rows(out_dir: Path, res_path: Path) -> list[dict]:
    """Rows of a consolidated table whose keys the journal lacks (e.g. a folder committed without
    its journal), so that they count as done too. The journal's rows come later and win."""
    if not res_path.exists():
        return []
    have = {r.get("key") for r in Journal(out_dir / JOURNAL).read()}
    try:
        df = pd.read_parquet(res_path) if res_path.suffix == ".parquet" else pd.read_csv(res_path)
    except Exception:  # noqa: BLE001 - an unreadable table is rebuilt from the journal
        return []
    if "key" not in df:
        return []
    df = df[~df["key"].isin(have)]
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in df.to_dict(orient="records")]


def _cleanup_tmp(out_dir: Path) -> None:
    for p in out_dir.glob(".*.tmp"):
        try:
            p.unlink()
        except OSError:
            pass


def _serial(chunks, simulate, on_rows):
    for ch in chunks:
        on_rows(run_chunk(ch, simulate))


def _dask(chunks, simulate, workers: int, scheduler: str | None, on_rows, log_level=logging.ERROR):
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
        raise InputError(f"parallel sweeps need dask[distributed] ({exc}); use --workers 0") from None
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot reach the Dask scheduler: {exc}", field="--scheduler",
                             value=scheduler, allowed="the address of a running dask scheduler, "
                             "e.g. tcp://host:8786") from None
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None, silence_logs=log_level)
        client = Client(cluster)
    try:
        kw = {"simulate": simulate} if simulate is not None else {}
        futures = [client.submit(run_chunk, ch, pure=False, **kw) for ch in chunks]
        owner = {f.key: ch for f, ch in zip(futures, chunks)}
        for batch in as_completed(futures).batches():
            rows: list[dict] = []
            for f in batch:
                if f.status == "finished":
                    rows.extend(f.result())
                else:  # the task itself never raises; this is a lost worker or a cancelled task
                    try:
                        exc = f.exception()
                    except Exception as e:  # noqa: BLE001
                        exc = e
                    rows.extend(_error_rows(owner[f.key], exc))
                f.release()
            on_rows(rows)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_sweep(study: Study, out_dir: str | Path, *, workers: int | None = None, scheduler: str | None = None,
              progress: bool = True, simulate: Callable | None = None, chunk: int = 1,
              retry_failed: bool = False, consolidate_every: float = 60.0) -> SweepResult:
    """Run every point of ``study`` not yet in ``out_dir``; return the consolidated table.

    ``workers``: 0 = in this process; N = a LocalCluster of N worker processes; None = one per
    core. ``scheduler``: address of an existing Dask scheduler (overrides ``workers``).
    ``simulate``: stands in for `asicsim.studies.step.simulate` (tests); must pickle for Dask.
    ``retry_failed``: run again the points whose recorded row has an error."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("not a folder", field="--out", value=str(out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 0:
        raise InputError("must be >= 0", field="--workers", value=workers,
                         allowed="0 (in this process) or a number of worker processes")
    if chunk < 1:
        raise InputError("must be >= 1", field="--chunk", value=chunk)
    res_path = results_path(out_dir)
    journal = Journal(out_dir / JOURNAL)
    with JournalLock(out_dir / JOURNAL):   # the journal itself carries the lock: no extra file
        _cleanup_tmp(out_dir)
        stale = _write_meta(out_dir, study)
        rows = _table_rows(out_dir, res_path) + journal.read()
        stale_code = bool(stale and rows)
        done = {r["key"] for r in rows if not (retry_failed and r.get("error"))}
        todo = [p for p in study.points if p.key not in done]
        skipped = len(study.points) - len(todo)
        chunks = [todo[i:i + chunk] for i in range(0, len(todo), chunk)]
        state = {"last": time.monotonic(), "failed": 0}
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=len(study.points), initial=skipped, unit="pt", desc=study.name,
                       file=sys.stderr, dynamic_ncols=True, smoothing=0.1, disable=None)   # bar on a terminal only

        def consolidate():
            table = build_table(rows, study)
            write_table(res_path, table)
            return table

        def on_rows(new: list[dict]):
            journal.append(new)           # durable before anything else happens
            rows.extend(new)
            state["failed"] += sum(1 for r in new if r.get("error"))
            if bar is not None:
                bar.update(len(new))
                if state["failed"]:
                    bar.set_postfix(failed=state["failed"], refresh=False)
            if time.monotonic() - state["last"] > consolidate_every:
                consolidate()
                state["last"] = time.monotonic()

        journal.open()
        try:
            if chunks:
                if scheduler:
                    _dask(chunks, simulate, workers, scheduler, on_rows)
                elif workers == 0:
                    _serial(chunks, simulate, on_rows)
                else:
                    _dask(chunks, simulate, min(workers, len(chunks)), None, on_rows)
        finally:
            journal.close()
            if bar is not None:
                bar.close()
            table = consolidate()
    n_failed = int(table["error"].notna().sum()) if "error" in table else 0
    return SweepResult(out_dir=out_dir, table=table, results_path=res_path, n_points=len(study.points),
                       n_skipped=skipped, n_run=len(todo), n_failed=n_failed,
                       elapsed_s=time.perf_counter() - t0, workers=scheduler or workers,
                       stale_code=stale_code and skipped > 0)
