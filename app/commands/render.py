"""`lumigrade render INPUT -o OUTPUT`: a graded deliverable from the command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from app.overwrite import check_overwrite, policy_of
from app.progress import ProgressReporter
from app.project import PROJECT_SUFFIX, Project
from engine.deliverables import DELIVERABLES
from engine.errors import GradeError
from engine.grade import EXR_PRIMARIES, MASTERING_PRIMARIES, Grade, OperatorChoice, SourceTransform
from engine.io.open import open_clip
from engine.operators.base import OperatorKind
from engine.operators.catalogue import operator_class
from engine.params import build_params
from engine.render import parse_frame_range, render

SOURCE_PREFIX = "source."  # --param keys for the Grade's source transform, not the ITM


def add_parser(sub: Any) -> None:
    p = sub.add_parser("render", help="render a clip to HDR10, HLG, ProRes 4444, OpenEXR or SDR")
    p.add_argument("input", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="output file; for --format exr a directory or a frame pattern")
    p.add_argument("--format", choices=tuple(DELIVERABLES),
                   help="deliverable (default: hdr10, or the grade's)")
    p.add_argument("--frames", metavar="START:END", help="frame range, END exclusive")
    add_grade_arguments(p)
    p.add_argument("--mastering-primaries", choices=MASTERING_PRIMARIES,
                   help="HDR10 mastering display primaries for SMPTE ST 2086 (default p3-d65)")
    p.add_argument("--mastering-min-nits", type=float, metavar="N",
                   help="HDR10 mastering display black level in cd/m² (its peak is --peak-nits)")
    p.add_argument("--exr-primaries", choices=EXR_PRIMARIES,
                   help="EXR primaries: bt2020, or aces-ap0 for ACES2065-1 (default bt2020)")
    overwrite = p.add_mutually_exclusive_group()
    overwrite.add_argument("-y", "--overwrite", action="store_true", help="replace an existing output")
    overwrite.add_argument("-n", "--no-overwrite", action="store_true",
                           help="refuse an existing output (the default without a terminal)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--progress", choices=("json",),
                   help="progress as JSON lines on stderr (default: a bar when stderr is a terminal)")
    p.set_defaults(run=run)


def add_grade_arguments(p: argparse.ArgumentParser) -> None:
    """The options that make the Grade (build_grade), shared by `render` and `lut`."""
    p.add_argument("--grade", type=Path, metavar="FILE",
                   help="a saved grade (.json) or a .lumigrade project (its grade)")
    p.add_argument("--itm", help="SDR->HDR operator (see `lumigrade operators`)")
    p.add_argument("--tmo", help="HDR->SDR operator for --format sdr")
    p.add_argument("--tmo-param", action="append", default=[], metavar="KEY=VALUE",
                   help="TMO parameter; repeatable")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="operator parameter (ITM, or temporal with --temporal), or the source transform "
                        "as source.KEY=VALUE (source.transfer=estimated); repeatable")
    p.add_argument("--temporal", action="store_true",
                   help="reconstruct highlights from other frames of the shot")
    p.add_argument("--peak-nits", type=float, help="mastering peak in cd/m²")
    p.add_argument("--input-space", metavar="NAME",
                   help="OpenColorIO input colour space of the source, e.g. 'S-Log3 S-Gamut3', "
                   "'ARRI LogC3 (EI800)', 'Apple Log' (see `lumigrade colourspaces`)")
    p.add_argument("--ocio-config", metavar="FILE",
                   help="OpenColorIO config for --input-space (default: OCIO's built-in studio config)")
    p.add_argument("--camera-lut", type=Path, metavar="FILE",
                   help="the camera's inverse response as a 1-D .cube LUT (code value -> light; see "
                   "`lumigrade calibrate`): SDR footage is decoded through it")


def _split_params(items: list[str], flag: str) -> dict[str, str]:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise GradeError(f"{flag} {item!r} is not KEY=VALUE")
        params[key.strip()] = value.strip()
    return params


def _operator_choice(kind: OperatorKind, name: str | None, current: OperatorChoice,
                     params: dict[str, str]) -> OperatorChoice:
    """`name` (default: the grade's) with `params` over the grade's own when the name is the same.

    The parameters are validated (names, types, ranges) now, before any decoding.
    """
    name = name or current.name
    merged = {**current.params, **params} if name == current.name else params
    parsed = operator_class(kind, name).make_params(merged)
    return OperatorChoice(name, {k: getattr(parsed, k) for k in merged})


def build_grade(args: argparse.Namespace) -> Grade:
    grade = load_grade(args.grade) if args.grade else Grade()
    params = _split_params(args.param, "--param")
    tmo_params = _split_params(args.tmo_param, "--tmo-param")
    changes: dict[str, Any] = {}
    source = {k.removeprefix(SOURCE_PREFIX): v for k, v in params.items() if k.startswith(SOURCE_PREFIX)}
    params = {k: v for k, v in params.items() if not k.startswith(SOURCE_PREFIX)}
    if source:
        changes["source"] = build_params(SourceTransform, {**dataclasses.asdict(grade.source), **source},
                                         "--param source")
    if args.temporal:
        changes["temporal"] = True
        changes["temporal_params"] = _temporal_params(params)
        params = {}
    if args.itm or params:
        changes["itm"] = _operator_choice("itm", args.itm, grade.itm, params)
    if args.tmo or tmo_params:
        changes["tmo"] = _operator_choice("tmo", args.tmo, grade.tmo, tmo_params)
    if args.peak_nits is not None:
        changes["peak_nits"] = args.peak_nits
    output = {key: value for key, value in (
        ("format", args.format), ("mastering_primaries", args.mastering_primaries),
        ("mastering_min_nits", args.mastering_min_nits), ("exr_primaries", args.exr_primaries),
    ) if value is not None}
    if output:
        changes["output"] = dataclasses.replace(grade.output, **output)
    if args.input_space or args.ocio_config:
        source = {"transfer": "ocio", "ocio_space": args.input_space or grade.source.ocio_space}
        if args.ocio_config:
            source["ocio_config"] = args.ocio_config
        changes["source"] = dataclasses.replace(grade.source, **source)
    if args.camera_lut is not None:
        if args.input_space or args.ocio_config:
            raise GradeError("--camera-lut and --input-space name two source transforms; give one")
        # Absolute, so that a grade or project saved from this one finds the file from anywhere.
        changes["source"] = dataclasses.replace(changes.get("source", grade.source), transfer="camera-lut",
                                                camera_lut=str(args.camera_lut.absolute()))
    return Grade.from_dict(grade.replace(**changes).to_dict(), args.grade)


def load_grade(path: Path) -> Grade:
    """A grade file's Grade, or a .lumigrade project's current grade."""
    if path.suffix.lower() == PROJECT_SUFFIX:
        return Project.load(path).grade
    return Grade.load(path)


def _temporal_params(params: dict[str, str]) -> dict[str, Any]:
    from engine.temporal import TemporalParams

    parsed = build_params(TemporalParams, params, "--temporal")
    return {k: getattr(parsed, k) for k in params}


def run(args: argparse.Namespace) -> int:
    grade = build_grade(args)
    check_overwrite(args.output, policy_of(args.overwrite, args.no_overwrite))
    with open_clip(args.input) as clip:
        frames = parse_frame_range(args.frames, clip.info.frame_count, args.input)
        mode = "json" if args.progress == "json" else "rich" if sys.stderr.isatty() else "none"
        reporter = ProgressReporter(mode, sys.stderr)
        try:
            summary = render(clip, args.output, grade, frames=frames, progress=reporter.render_progress())
        finally:
            reporter.close()
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print(f"wrote {summary.output}: {summary.frames} frames in {summary.seconds:.1f} s, "
              f"MaxCLL {summary.max_cll:.0f} nits, MaxFALL {summary.max_fall:.0f} nits")
    return 0
