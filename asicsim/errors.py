"""One error type for every bad input, so the CLI can answer with one clear line and exit 2.

A message always names the file, the field (dotted path) and the value, and says what is allowed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

QUOTE_CHARS = 80  # the most of any input value a message quotes


def short(value: Any, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters, so no message renders an unbounded input.

    Containers are summarised before repr is taken (an alias-expanded list can be huge)."""
    if isinstance(value, (list, tuple, dict, set)) and len(value) > 8:
        kind = type(value).__name__
        value = f"<{kind} of {len(value)} items>"
        return value
    try:
        text = repr(value)
    except Exception:  # a value whose repr fails still gets a message
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class InputError(Exception):
    """A user-facing input problem (file, field, value, what is allowed). Exit code 2 in the CLI."""

    def __init__(self, message: str, *, file: str | Path | None = None,
                 field: str | None = None, value: Any = None, allowed: str | None = None):
        parts = []
        if file is not None:
            parts.append(f"{file}")
        if field is not None:
            parts.append(f"field '{field}'")
        head = ": ".join(parts)
        text = message
        if value is not None:
            text += f" (got {short(value)})"
        if allowed:
            text += f"; allowed: {allowed}"
        super().__init__(f"{head}: {text}" if head else text)
        self.message = message
        self.file = file
        self.field = field
        self.value = value
        self.allowed = allowed


_MEMORY_FIELDS = ("bandwidth", "capacity", "bytes_per_cycle", "dram", "sram")


def _inf_hint(loc: str, value: Any) -> str:
    """Numbers are finite everywhere; where someone writes ``inf`` to mean unbounded memory, say
    how asicsim models that instead."""
    is_inf = isinstance(value, float) and value in (float("inf"), float("-inf"))
    if isinstance(value, str):
        is_inf = value.strip().lower().lstrip("+-.") in ("inf", "infinity")
    if is_inf and any(k in loc for k in _MEMORY_FIELDS):
        return "; for unbounded memory use --ideal-memory (unbounded SRAM, infinitely fast DRAM)"
    return ""


def blame_file(exc: InputError, file: str | Path | None) -> InputError:
    """``exc`` naming ``file`` when it names none: a limit met deep in the model (no tiling fits
    the SRAM) is a property of the accelerator file the user gave, so the line should say which."""
    if exc.file is not None or file is None:
        return exc
    return InputError(getattr(exc, "message", str(exc)), file=file, field=exc.field, value=exc.value,
                      allowed=exc.allowed)


def pydantic_to_input_error(exc: Exception, file: str | Path | None, prefix: str = "") -> InputError:
    """Turn a pydantic ValidationError into one InputError naming the first bad field."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return InputError(str(exc), file=file)
    lines = []
    first_field = None
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("function-after",))
        loc = f"{prefix}{loc}" if prefix else loc
        first_field = first_field or loc
        val = err.get("input")
        val_txt = "" if isinstance(val, dict) else f" (got {short(val)})"
        lines.append(f"field '{loc}': {err.get('msg')}{val_txt}{_inf_hint(loc, val)}")
    more = f"; and {len(lines) - 3} more" if len(lines) > 3 else ""
    msg = "; ".join(lines[:3]) + more
    out = InputError(msg, file=file)
    out.field = first_field
    return out


def validated(model_cls, data, file: str | Path | None, prefix: str = ""):
    """``model_cls.model_validate(data)``, with a pydantic failure turned into one InputError."""
    from pydantic import ValidationError

    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        raise pydantic_to_input_error(exc, file, prefix) from None
