"""Command-line entry point: ``asicsim <command> ...``.

Each command lives in its own module (``asicsim.cli.<name>``) exposing ``configure(parser)`` and
``execute(args) -> int``; this file only composes them and turns input errors into one clear line
on stderr with exit code 2 (never a traceback).

Last line of defence: any other exception is a bug of asicsim, not of the input. It prints one line,
``internal error in <stage>: <type>: <message>; please report with the command``, and exits 1;
the traceback is shown only with ``asicsim --debug <command> ...``. The stage is the package of the
deepest asicsim frame (config, workload, engine, ...), so a report says where to look. The fuzz
tests fail if any generated input reaches this line: bad input must end as an `InputError`.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from asicsim.errors import InputError

COMMANDS = {
    "run": ("asicsim.cli.run", "simulate one training step (or chosen phases) of a network on an accelerator"),
    "compare": ("asicsim.cli.compare", "full-gradient vs SBPCA rank-k updates side by side"),
    "train": ("asicsim.cli.train", "train a CNN functionally (full / sbpca / svd updates)"),
    "sweep": ("asicsim.cli.sweep", "run a design-space study in parallel, resumable"),
    "report": ("asicsim.cli.report", "turn a run/compare/sweep folder into report.md + index.html"),
    "inspect": ("asicsim.cli.inspect", "the layer table of a network (ONNX or YAML) as asicsim sees it"),
    "validate": ("asicsim.cli.validate", "re-simulate published silicon measurements; write the validation record"),
}


class _DefaultsFormatter(argparse.HelpFormatter):
    """Help that shows every option's default: ``(default: X)`` is added to an option's help
    unless the text already states it (``default``, ``[X]``) or the option has no default
    (None, a flag that is off)."""

    def _get_help_string(self, action):
        text = action.help or ""
        d = action.default
        if d is None or d is False or d == argparse.SUPPRESS or not action.option_strings:
            return text
        if "default" in text.lower() or "%(default)" in text or text.rstrip().endswith("]"):
            return text
        return f"{text} (default: %(default)s)"


def package_version() -> str:
    """The installed package's version (its metadata), or 'unknown' when run from a bare tree."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("asicsim")
    except PackageNotFoundError:
        return "unknown"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage errors also exit 2, with one clear line
        self.exit(2, f"asicsim: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="asicsim", description="Cycle, traffic and energy simulator of ASIC training datapaths "
                                                 "(full-gradient SGD vs SBPCA rank-k updates).")
    parser.add_argument("--version", action="version", version=f"asicsim {package_version()}")
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an internal error (a bug) instead of one line")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name, (modname, help_text) in COMMANDS.items():
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:
                continue  # command not built yet
            raise
        p = sub.add_parser(name, help=help_text, description=help_text, formatter_class=_DefaultsFormatter)
        mod.configure(p)
        p.set_defaults(_execute=mod.execute)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
    except KeyboardInterrupt:     # Ctrl-C while the commands are still importing
        print("asicsim: interrupted", file=sys.stderr)
        return 130
    args = parser.parse_args(argv)
    if not getattr(args, "_execute", None):
        parser.print_help()
        return 2
    try:
        return int(args._execute(args) or 0)
    except InputError as exc:
        print(f"asicsim: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:   # stdout closed early (`asicsim run | head`): not an error of the run
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("asicsim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the documented last line of defence
        if args.debug:
            raise
        print(f"asicsim: {internal_error_line(exc)}", file=sys.stderr)
        return 1


def internal_error_line(exc: BaseException) -> str:
    """``internal error in <stage>: <type>: <message>; please report with the command`` (one line;
    the message cut to 200 characters)."""
    import traceback

    stage = "cli"
    for frame in traceback.extract_tb(exc.__traceback__):
        parts = frame.filename.replace("\\", "/").split("/asicsim/")
        if len(parts) > 1 and parts[-1].endswith(".py"):
            rel = parts[-1].split("/")
            stage = rel[0] if len(rel) > 1 else rel[0][:-3]
    text = " ".join(str(exc).split())
    text = text if len(text) <= 200 else text[:199] + "…"
    return f"internal error in {stage}: {type(exc).__name__}: {text}; please report with the command"


if __name__ == "__main__":
    sys.exit(main())
