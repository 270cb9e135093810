"""One error type for every bad input, so the CLI can answer with one clear line and exit 2.

A message always names the file, the field (dotted path) and the value, and says what is allowed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


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
            text += f" (got {value!r})"
        if allowed:
            text += f"; allowed: {allowed}"
        super().__init__(f"{head}: {text}" if head else text)
        self.file = file
        self.field = field
        self.value = value
        self.allowed = allowed


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
        val_txt = "" if isinstance(val, dict) else f" (got {val!r})"
        lines.append(f"field '{loc}': {err.get('msg')}{val_txt}")
    msg = "; ".join(lines)
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
