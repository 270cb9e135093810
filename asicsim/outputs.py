"""The one output boundary: where results may go, and how every file is written.

Why one place: an interrupted ``run``, ``compare``, ``train``, ``report`` or ``sweep`` (Ctrl-C, a
kill, a full disk) must never leave a half-written ``summary.json`` or ``layers.csv`` that looks
complete. Every file is therefore written under a temporary name in its own folder
(``.<name>.<pid>.tmp``), flushed, and renamed over the final name with ``os.replace`` (atomic on
POSIX): a reader sees the old file, the new file, or none, never a torn one. A failed write removes
its temporary file and raises an `InputError` naming the file (a full disk is reported as such).

`output_dir` checks a ``--out`` folder before any work starts: it must not be a file, must not lie
inside the installed ``asicsim`` package (results never mix with code), and must be writable.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator

from asicsim.errors import InputError

PACKAGE_DIR = Path(__file__).resolve().parent


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def output_dir(path: str | Path, *, field: str = "--out", create: bool = True) -> Path:
    """Check, create (if needed and ``create``) and return the output folder, or an `InputError`
    naming ``field``. Commands check with ``create=False`` before any work, so a run that fails
    on its input leaves no empty folder behind; the writers create it."""
    path = Path(path)
    resolved = path.resolve()
    if _inside(resolved, PACKAGE_DIR):
        raise InputError("output folder lies inside the asicsim package", field=field, value=str(path),
                         allowed="a folder outside the installed package, e.g. out/<name>")
    for p in [resolved, *resolved.parents]:     # the nearest part of the path that exists
        if p.exists():
            if not p.is_dir():
                what = "is a file" if p == resolved else f"has a file in its path ({p})"
                raise InputError(f"output folder {what}", field=field, value=str(path),
                                 allowed="a folder (new or existing)")
            if not os.access(p, os.W_OK | os.X_OK):
                raise InputError(f"output folder is not writable ({p})", field=field, value=str(path),
                                 allowed="a folder this user may write")
            break
    if not create:
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder: {exc.strerror or exc}", field=field,
                         value=str(path)) from None
    return path


def write_failed(path: Path, exc: OSError) -> InputError:
    """One line for a failed write; a full disk says so and names the folder."""
    if exc.errno == errno.ENOSPC:
        return InputError(f"no space left on the device holding {path.parent}; nothing half-written was kept",
                          file=path)
    return InputError(f"cannot write output: {exc.strerror or exc}", file=path)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is fsync'd and renamed onto ``path``,
    on any failure it is removed (and an OSError becomes an `InputError`)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise write_failed(path, exc) from None
        raise


def write_with(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    """Atomically write ``path`` with ``writer(tmp_path)`` (e.g. ``df.to_csv``, ``fig.savefig``)."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return write_with(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(path: str | Path, data: bytes) -> Path:
    return write_with(path, lambda tmp: tmp.write_bytes(data))


def write_json(path: str | Path, obj: Any, **dump_kw) -> Path:
    """``obj`` as indented JSON with a final newline (``dump_kw`` go to `json.dumps`)."""
    dump_kw.setdefault("indent", 2)
    return write_text(path, json.dumps(obj, **dump_kw) + "\n")


def write_csv(path: str | Path, df, **to_csv_kw) -> Path:
    """A DataFrame as CSV (``index=False`` unless told)."""
    to_csv_kw.setdefault("index", False)
    return write_with(path, lambda tmp: df.to_csv(tmp, **to_csv_kw))


def write_table(path: str | Path, df) -> Path:
    """A DataFrame as Parquet (``.parquet``) or CSV, by the file's suffix."""
    if Path(path).suffix == ".parquet":
        return write_with(path, lambda tmp: df.to_parquet(tmp, index=False))
    return write_csv(path, df)
