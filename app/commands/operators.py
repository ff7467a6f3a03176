"""`lumigrade operators`: list the ITM and TMO operators with their parameters."""

from __future__ import annotations

import argparse
import json
from typing import Any

from engine.operators.catalogue import operators


def add_parser(sub: Any) -> None:
    p = sub.add_parser("operators", help="list the operators and their parameters")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    described = [cls.describe() for cls in operators()]
    if args.json:
        print(json.dumps(described, indent=2))
        return 0
    for op in described:
        print(f"{op['kind']:4} {op['name']:18} {op['type']:8} {op['title']}")
        for p in op["params"]:
            span = "" if p["minimum"] is None else f" [{p['minimum']}, {p['maximum']}]"
            unit = f" {p['unit']}" if p["unit"] else ""
            print(f"       {p['name']}={p['default']}{unit}{span}  {p['help']}")
    return 0
