"""The `lumigrade` command. With no subcommand it opens the GUI on the bundled demo clip.

Bad input prints one line naming the file and the problem, and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from engine.errors import LumigradeError

# Subcommand modules under app.commands, in the order `--help` lists them.
COMMANDS = ("open", "render", "probe", "operators", "synth", "eval")
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lumigrade", description="SDR to HDR grading: inverse tone mapping, temporal "
        "highlight reconstruction, tone mapping and HDR export."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"app.commands.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
