"""`lumigrade probe INPUT`: what a clip holds (size, rate, frames, colour tags, HDR metadata)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from engine.io.probe import probe


def add_parser(sub: Any) -> None:
    p = sub.add_parser("probe", help="describe a clip, image sequence or still")
    p.add_argument("input", type=Path)
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    info = probe(args.input)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
    else:
        for key, value in info.items():
            print(f"{key:>22}: {value}")
    return 0
