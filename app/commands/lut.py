"""`lumigrade lut -o FILE.cube`: the per-pixel part of a grade as a 3-D LUT (engine.cube_export)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.commands.render import add_grade_arguments, build_grade
from app.overwrite import check_overwrite, policy_of
from engine.cube_export import CUBE_SIZES, CUBE_VIEWS, write_cube
from engine.deliverables import DELIVERABLES
from engine.errors import GradeError
from engine.input_transform import resolve_input_transform
from engine.io.open import open_clip


def add_parser(sub: Any) -> None:
    p = sub.add_parser("lut", help="export the per-pixel part of a grade as a .cube 3-D LUT")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .cube file")
    p.add_argument("--clip", type=Path, help="a clip whose colour tags resolve a grade's 'auto' "
                   "source (default: BT.709 / BT.1886)")
    p.add_argument("--view", choices=CUBE_VIEWS,
                   help="output signal (default: the grade's deliverable's: hdr10 -> pq)")
    p.add_argument("--size", type=int, choices=CUBE_SIZES, default=33, help="points per side (default 33)")
    add_grade_arguments(p)
    overwrite = p.add_mutually_exclusive_group()
    overwrite.add_argument("-y", "--overwrite", action="store_true", help="replace an existing file")
    overwrite.add_argument("-n", "--no-overwrite", action="store_true", help="refuse an existing file")
    # build_grade's render-only settings, which a LUT does not carry.
    p.set_defaults(run=run, format=None, mastering_primaries=None, mastering_min_nits=None,
                   exr_primaries=None)


def run(args: argparse.Namespace) -> int:
    grade = build_grade(args)
    view = args.view or DELIVERABLES[grade.output.format].view
    if view not in CUBE_VIEWS:
        raise GradeError(f"the grade's deliverable {grade.output.format} is scene-linear; pass --view "
                         f"{' or '.join(CUBE_VIEWS)}")
    check_overwrite(args.output, policy_of(args.overwrite, args.no_overwrite))
    if args.clip is not None:
        with open_clip(args.clip) as clip:
            transform = resolve_input_transform(grade.source, clip.info, grade.reference_white)
    else:
        transform = resolve_input_transform(grade.source, None, grade.reference_white)
    path = write_cube(args.output, grade, transform, view, args.size)
    print(f"wrote {path}: {args.size}-point {transform.transfer} -> {view} LUT")
    return 0
