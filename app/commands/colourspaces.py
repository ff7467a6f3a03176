"""`lumigrade colourspaces`: the input colour spaces of an OpenColorIO config (engine.ocio_input)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from engine.ocio_input import DEFAULT_CONFIG, input_spaces


def add_parser(sub: Any) -> None:
    p = sub.add_parser("colourspaces", help="list the OpenColorIO input colour spaces --input-space takes")
    p.add_argument("--ocio-config", default=DEFAULT_CONFIG, metavar="FILE",
                   help="an OCIO config file or ocio:// name (default: the built-in studio config)")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    spaces = input_spaces(args.ocio_config)
    print(json.dumps(list(spaces), indent=2) if args.json else "\n".join(spaces))
    return 0
