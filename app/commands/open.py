"""`lumigrade open FILE`: open a clip, an EXR sequence or a saved project in the GUI."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("open", help="open a clip, EXR sequence or .lumigrade project in the GUI")
    p.add_argument("path", type=Path)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from app.gui import run_gui

    return run_gui(args.path)
