"""The one guarded input boundary: every file asicsim reads comes through these functions.

Why one place: a hostile but ordinary file (a YAML alias bomb, a 10,000-deep list, a binary file
named ``.yaml``, a 5 GB file) must end in one clear `InputError` line, quickly and in bounded
memory, whichever loader reads it. So the limits live here, not in each loader:

* size: ``MAX_YAML_BYTES`` for YAML, ``MAX_TEXT_BYTES`` for other text (CSV, cfg, JSON), callers
  pass their own bound for binaries (``MAX_BINARY_BYTES``, decompressed size included);
* YAML: safe loading only (no Python objects), nesting depth ≤ ``MAX_YAML_DEPTH``, at most
  ``MAX_YAML_NODES`` nodes composed (counted as they are parsed), the document's
  size *with aliases expanded* ≤ ``MAX_YAML_NODES`` (an alias bomb is refused before anything
  walks it), duplicate mapping keys refused (PyYAML would silently keep the last one);
* text is UTF-8 (a byte-order mark is allowed); a decode error names the byte offset;
* what a message quotes is cut to ``QUOTE_CHARS`` characters (`short`).

Every schema model derives from `Strict`: unknown keys are errors, models are frozen, and numbers
must be finite (``allow_inf_nan=False``); a field that means something by ``inf`` must say so
itself (none does: an unbounded memory system is ``--ideal-memory``, not ``bandwidth_gb_s: .inf``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from asicsim.errors import InputError, short

MAX_TEXT_BYTES = 16 * 1024 * 1024      # bytes: the largest YAML/CSV/cfg file read
MAX_YAML_DEPTH = 64                    # nesting levels of lists/maps
MAX_YAML_NODES = 100_000               # scalars + collections, aliases expanded (a real file has < 10,000)
MAX_YAML_BYTES = 2 * 1024 * 1024       # bytes: the largest YAML file read (the largest shipped is < 20 KiB)

__all__ = ["Strict", "read_bytes", "read_text", "load_yaml", "parse_yaml", "short",
           "MAX_TEXT_BYTES", "MAX_YAML_BYTES", "MAX_YAML_DEPTH", "MAX_YAML_NODES"]


class Strict(BaseModel):
    """Base of every config schema: unknown keys refused, frozen, finite numbers only."""
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _check_file(path: Path, what: str, max_bytes: int) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(f"{what} file not found", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read {what} file: {exc.strerror or exc}", file=path) from None
    if path.is_dir():
        raise InputError(f"expected a {what} file, got a folder", file=path)
    if st.st_size > max_bytes:
        raise InputError(f"{what} file is {st.st_size:,} bytes; at most {max_bytes:,} are read", file=path)


def read_bytes(path: str | Path, *, what: str = "input", max_bytes: int = MAX_TEXT_BYTES) -> bytes:
    """The file's bytes (at most ``max_bytes``), or an `InputError` naming the file."""
    path = Path(path)
    _check_file(path, what, max_bytes)
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what} file: {exc.strerror or exc}", file=path) from None
    if len(data) > max_bytes:  # grew while we read it, or a device file
        raise InputError(f"{what} file is over {max_bytes:,} bytes", file=path)
    return data


def read_text(path: str | Path, *, what: str = "input", max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The file as UTF-8 text (a leading byte-order mark dropped); binary content is an `InputError`."""
    data = read_bytes(path, what=what, max_bytes=max_bytes)
    return decode_text(data, path, what)


def decode_text(data: bytes, path: str | Path | None, what: str = "input") -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} file is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
                         file=path) from None
    if "\x00" in text:
        raise InputError(f"{what} file is not text (NUL byte at offset {text.index(chr(0))})", file=path)
    return text


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader that refuses deep nesting while composing and duplicate keys while constructing."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):
        self._depth += 1
        self._nodes += 1
        try:
            if self._nodes > MAX_YAML_NODES:     # stop composing early: pure-Python YAML is ~20 µs a node
                raise _TooMany(self.peek_event().start_mark)
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise _TooDeep(mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key = key_node.value
                    if key in seen and key != "<<":
                        raise _DuplicateKey(key, key_node.start_mark)
                    seen[key] = True
        return super().construct_mapping(node, deep=deep)


class _TooMany(Exception):
    def __init__(self, mark):
        self.mark = mark


class _TooDeep(Exception):
    def __init__(self, mark):
        self.mark = mark


class _DuplicateKey(Exception):
    def __init__(self, key, mark):
        self.key, self.mark = key, mark


def _where(mark) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _expanded_size(root, path) -> int:
    """Nodes in the document with every alias expanded, counted without expanding (memo per node)."""
    memo: dict[int, int] = {}
    # iterative post-order walk: the composed graph is a DAG (aliases share nodes), depth ≤ MAX_YAML_DEPTH
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in memo:
            continue
        if isinstance(node, yaml.ScalarNode):
            memo[id(node)] = 1
            continue
        children = [c for kv in node.value for c in (kv if isinstance(kv, tuple) else (kv,))]
        if done:
            total = 1 + sum(memo[id(c)] for c in children)
            if total > MAX_YAML_NODES:
                raise InputError(f"YAML document expands to over {MAX_YAML_NODES:,} values "
                                 f"(aliases repeat content{_where(node.start_mark)}); refused", file=path)
            memo[id(node)] = total
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in memo)
    return memo.get(id(root), 0)


def parse_yaml(text: str, path: str | Path | None = None) -> Any:
    """Parse one YAML document from text under the guards above."""
    loader = None
    try:
        loader = _GuardedLoader(text)     # the reader refuses control characters here already
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, path)
        return loader.construct_document(node)
    except _TooDeep as exc:
        raise InputError(f"YAML nested deeper than {MAX_YAML_DEPTH} levels{_where(exc.mark)}", file=path) from None
    except _TooMany as exc:
        raise InputError(f"YAML document has over {MAX_YAML_NODES:,} values{_where(exc.mark)}", file=path,
                         allowed="a configuration file (real ones hold < 10,000 values)") from None
    except _DuplicateKey as exc:
        raise InputError(f"duplicate key {short(exc.key)}{_where(exc.mark)}", file=path,
                         allowed="each key once per mapping") from None
    except yaml.reader.ReaderError as exc:
        raise InputError(f"YAML file holds a control character (#x{exc.character:04x}) at offset {exc.position}",
                         file=path, allowed="printable Unicode text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"malformed YAML{_where(mark)}: {short(getattr(exc, 'problem', None) or exc)}",
                         file=path) from None
    except RecursionError:
        raise InputError(f"YAML nested too deeply (more than {MAX_YAML_DEPTH} levels)", file=path) from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml(path: str | Path, *, what: str = "YAML") -> Any:
    """Read and parse a YAML file under every guard (size, encoding, depth, aliases, duplicates)."""
    path = Path(path)
    return parse_yaml(read_text(path, what=what, max_bytes=MAX_YAML_BYTES), path)


MAX_BINARY_BYTES = 1024 * 1024 * 1024   # bytes: the largest binary input (ONNX, IDX) read, decompressed too


def read_binary(path: str | Path, *, what: str = "input", max_bytes: int = MAX_BINARY_BYTES) -> bytes:
    """A binary file's bytes; a ``.gz`` file is decompressed, its *decompressed* size bounded by
    ``max_bytes`` too (a small gzip bomb is refused after ``max_bytes + 1`` bytes, never inflated whole)."""
    import gzip
    import zlib

    path = Path(path)
    data = read_bytes(path, what=what, max_bytes=max_bytes)
    if path.suffix != ".gz":
        return data
    try:
        with gzip.GzipFile(fileobj=__import__("io").BytesIO(data)) as g:
            out = g.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{what} file is not valid gzip ({exc})", file=path) from None
    if len(out) > max_bytes:
        raise InputError(f"{what} file decompresses to over {max_bytes:,} bytes", file=path)
    return out


def load_json(path: str | Path, *, what: str = "JSON") -> Any:
    """Parse a JSON file (size-bounded, UTF-8); a syntax error names the line and column.
    ``NaN``/``Infinity`` are accepted: the files read back are asicsim's own results."""
    import json

    path = Path(path)
    text = read_text(path, what=what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} file is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                         file=path) from None
    except RecursionError:
        raise InputError(f"{what} file is nested too deeply", file=path) from None


def read_csv_frame(path: str | Path, *, what: str = "CSV", **read_csv_kw):
    """A CSV file as a pandas DataFrame, read through the size and encoding guards; a malformed
    table (ragged rows, bad quoting) is an `InputError` naming the file."""
    import io

    import pandas as pd

    path = Path(path)
    text = read_text(path, what=what)
    try:
        return pd.read_csv(io.StringIO(text), **read_csv_kw)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{what} file is not a readable table: {short(reason, 120)}", file=path) from None
