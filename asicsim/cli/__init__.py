"""Command line: ``asicsim <command>``; one module per command, composed by `asicsim.cli.main`."""
from asicsim.cli.main import main

__all__ = ["main"]
