"""The `lumigrade` command. With no subcommand it opens the GUI on the bundled demo clip.

Bad input prints one line naming the file and the problem, and exits with status 2. A reader
that closes the pipe early (`lumigrade operators | head -1`) ends the command quietly with status
141, what a shell reports for a tool that SIGPIPE stopped.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from importlib import metadata

from engine.errors import LumigradeError

# Subcommand modules under app.commands, in the order `--help` lists them.
COMMANDS = ("open", "render", "batch", "lut", "calibrate", "probe", "operators", "colourspaces", "synth",
            "eval")
EXIT_BAD_INPUT = 2
EXIT_BROKEN_PIPE = 128 + 13  # 128 + SIGPIPE, as the shell reports `yes | head -1`'s yes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lumigrade", description="SDR to HDR grading: inverse tone mapping, temporal "
        "highlight reconstruction, tone mapping and HDR export."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {metadata.version('lumigrade')}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"app.commands.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            return run(argv)
        finally:
            # A closed pipe shows here rather than at interpreter exit, for every subcommand and
            # for --help (argparse's SystemExit passes through once the flush succeeds).
            sys.stdout.flush()
    except BrokenPipeError:
        # Python's documented recipe (library/signal, "Note on SIGPIPE"): stdout onto /dev/null so
        # the interpreter's own last flush of the unwritten buffer stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def run(argv: Sequence[str] | None) -> int:
    """Parse the command line and run the subcommand, or the GUI when there is none."""
    args = build_parser().parse_args(argv)
    if args.command is None:
        from app.gui import run_gui

        return run_gui(None)
    try:
        return int(args.run(args))
    except LumigradeError as exc:
        print(f"lumigrade: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("lumigrade: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
