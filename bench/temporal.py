"""Temporal highlight reconstruction against the single-frame ITM operators, per camera family,
on held-out stills.

    .venv/bin/python -m bench.temporal --test-data DIR [--families phone,action] [--stills-per-family 3]
                                       [--frames 24] [--max-width 320] [--fallback masked-cnn]
                                       [--operators bt2408,meylan] [--threads 1] [--json FILE]
                                       [--temporal-params refine=learned] [--refinement]
                                       [--source-transfer exact|calibrated]
                                       [--cost-size 960x540 --cost-data DIR]

The report is on `--test-data`, the held-out TEST stills (bench/heldout_stills.py builds them;
no constant was tuned and no network trained on them). `--data DIR` runs the same bench on the
TUNING stills instead, which is where constants may be tuned; the table says which set it is.

Every family of engine.synth.families draws one camera per shot (transfer, auto-exposure speed
and steps, noise, H.264 or HEVC at a CRF, motion) from its ranges, seeded by the shot; family f
takes `--stills-per-family` stills in turn from the sorted folder, so the families together cover
every still. Sizes are the family's nominal size scaled to at most `--max-width` (CPU budget) and
0.8 of the still. A pan ends on the still's brightest region and, where that drifts less than a
stop, starts from its darkest, as far out as keeps the drift within 3 stops.

Each shot is encoded as the camera would and rendered through engine.pipeline like an export,
once per method, with the source transfer the camera's metadata declares (see
engine.synth.families): decode, input transform, the temporal reconstructor or one ITM operator,
the PQ output transform. engine.metrics scores the HDR frames against the ground truth:
PU21-PSNR over the clipped highlights and the recoverable highlights (clipped here, seen unclipped
in another frame), and flicker. The ceiling is engine.synth.ceiling's exact recovery: every
recoverable pixel taken from its best unclipped recording, where the simulation knows it lies,
scored at the level the frame's own recording puts the scene (engine.synth.ceiling.sdr_level,
the level an SDR-referred reconstruction sits at). `ceil-scene` is the same recovery scored
at the still's own scale (scene values read as cd/m²), as tables before 2026-12-05 did: PU21
weighs errors far less at a few cd/m², so that row reads 20 to 40 dB higher and is no ceiling
for a reconstruction at hundreds of cd/m².

`--source-transfer exact` decodes every method's grade through the camera's own inverse response,
the one the ceiling uses, instead of the transfer its metadata declares (an oracle: no grade
knows it), so a table splits the gap to the ceiling into the method's part and the misread
transfer's (docs/evaluation.md, item 30). `--source-transfer calibrated` is the product's path to
that curve: each camera is calibrated as `lumigrade calibrate` does it, from a bracket of a grey
wedge recorded through its response at base-ISO noise and 8 bits (`calibrated_inverse`), the
curve is written as a 1-D .cube, and every grade decodes through that file (`camera-lut`;
item 31).
`--temporal-params refine=learned` scores the learned refinement in the temporal row (run the
bench without it for the classical mode), and the cost then includes it. `--refinement` scores
both in one run: the classical mode in the temporal row and the refinement in a `refined` row,
with the refinement's goal line and, in a cost run, the refinement's cost beside the others.

Goals (issue 19, held-out set): recoverable within 8 dB of the ceiling on average; in no family
below the best single-frame operator over all highlights; flicker below every single-frame
operator; the learned network (masked-cnn) >= 1 dB over the best classical operator on highlights;
the refinement above the classical mode on recoverable highlights without more flicker.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import torch
from torch import Tensor
from torch.nn.functional import interpolate

from bench.still_digests import differing
from engine.crf.camera_lut import write_camera_lut
from engine.grade import Grade, OperatorChoice, SourceTransform
from engine.io.open import open_clip
from engine.metrics import evaluate
from engine.operators.catalogue import operators
from engine.pipeline import Pipeline
from engine.synth import plan_shot, render_shot
from engine.synth.camera import brightest_point, darkest_point
from engine.synth.ceiling import exact_recovery, sdr_level
from engine.synth.degrade import SensorNoise, record
from engine.synth.families import FAMILIES, CameraShot, draw, scaled_size
from engine.synth.recording import open_recording
from engine.synth.render import SynthSettings, load_still
from engine.synth.response import CameraResponse
from engine.temporal import TemporalParams
from engine.temporal.crf import estimate_crf

TEMPORAL = "temporal"
REFINED = "refined"  # the temporal mode with the learned refinement (--refinement)
TEMPORAL_ROWS = (TEMPORAL, REFINED)
CEILING = "ceiling"
CEILING_SCENE = "ceil-scene"
CEILINGS = (CEILING, CEILING_SCENE)
LEARNED = "masked-cnn"
GOAL_CEILING_GAP_DB = 8.0
GOAL_LEARNED_MARGIN_DB = 1.0
DRIFT_STOPS = (1.0, 3.0)  # how far a pan's auto exposure should drift across the move
PAN_WIDTHS = 1.25
OUTPUT_VIEW = "pq"  # an HDR10 deliverable's output transform
CAMERA_BT709 = "bt709-camera"  # the source transfer that replaces BT.1886 only
# Every grade decodes through the camera's own inverse response, which no grade can know from the
# clip's tags: an oracle for how far a method is from the ceiling when the transfer is right.
EXACT = "exact"
EXACT_SAMPLES = 1024  # the inverse response's table, as dense as an EMoR curve's (engine.crf)
# Every grade decodes through the camera's response as `lumigrade calibrate` measures it from a
# bracket (the `camera-lut` transfer): what a colorist who calibrated the camera gets.
CALIBRATED = "calibrated"
CALIBRATION_STOPS = (-2.0, -1.0, 0.0, 1.0, 2.0)
# The calibration chart: a grey wedge from 2^-8 to 2 x the clip's light at the middle exposure.
WEDGE_STOPS = (-8.0, 1.0)
WEDGE_SIZE = (512, 64)
FIGURES = ("recoverable", "highlights", "flicker")
COST_ROOM = 0.8  # a cost run's frame covers at most this share of the (enlarged) still, as scaled_size


@dataclass(frozen=True)
class Shot:
    name: str
    family: str
    camera: CameraShot
    clip: Path  # the camera's recording
    sdr: list[Tensor]  # R'G'B' code values as decoded from the clip
    truth: list[Tensor]  # scene-linear BT.2020 (any scale: the metrics align it)
    recoverable: list[Tensor]
    ceiling: list[Tensor]  # at each frame's SDR level (cd/m²)
    ceiling_scene: list[Tensor]  # the same at the still's scale
    ev_drift: float
    response: CameraResponse  # the camera's curve: exact_inverse and calibrated_inverse table it

    @property
    def fps(self) -> float:
        return self.camera.settings.fps


def make_shot(still_path: Path, camera: CameraShot, folder: Path, zoom: float = 1.0) -> Shot:
    """The camera's shot of the still; `zoom` > 1 enlarges the still first (bilinear), for cost
    runs at sizes the stills do not reach."""
    still = load_still(still_path)
    if zoom != 1.0:
        still = interpolate(still[None], scale_factor=zoom, mode="bilinear", align_corners=False)[0]
    settings = camera.settings
    if settings.motion == "pan":
        settings = drifting_pan(still, dataclasses.replace(settings, pan_widths=PAN_WIDTHS))
    plan = plan_shot(still, settings)
    rendered = list(render_shot(still, plan, settings))
    path = folder / f"{still_path.stem}_{camera.family}.mp4"
    width, height = plan.out_size
    writer = open_recording(path, settings.codec, settings.video_crf, settings.video_preset, width, height,
                            settings.fps)
    for frame in rendered:
        writer.write(frame.sdr)
    writer.close()
    with open_clip(path) as clip:
        sdr = [signal for _, signal in clip.frames()]
    truth = [f.scene for f in rendered]
    ceiling = [exact_recovery(i, truth[i], sdr, plan) for i in range(len(truth))]
    placed = [c * sdr_level(plan, i) for i, c in enumerate(ceiling)]
    return Shot(f"{still_path.stem}/{camera.family}", camera.family, camera, path, sdr, truth,
                [f.recoverable for f in rendered], placed, ceiling, max(plan.evs) - min(plan.evs),
                plan.response)


def exact_inverse(response: CameraResponse) -> Tensor:
    """The camera's inverse response at `EXACT_SAMPLES` evenly spaced code values, 1.0 at the
    clip: the table engine.temporal.crf.linearise reads, as the 'estimated' transfer's."""
    table = response.decode(torch.linspace(0.0, 1.0, EXACT_SAMPLES, dtype=torch.float64))
    return (table / table[-1]).float()


def calibrated_inverse(response: CameraResponse, seed: int) -> Tensor:
    """The camera's inverse response as a colorist measures it with `lumigrade calibrate`: a grey
    wedge (`WEDGE_STOPS`) recorded at `CALIBRATION_STOPS` through the camera's response with the
    sensor noise of base ISO (a bracket is shot from a tripod at the camera's base ISO), 8-bit,
    then Debevec & Malik's gsolve. (256,), 1.0 at the clip."""
    width, height = WEDGE_SIZE
    wedge = torch.logspace(*WEDGE_STOPS, width, base=2.0).expand(3, height, width)
    generator = torch.Generator().manual_seed(seed)
    frames = [record(wedge * 2.0**stop, response, SensorNoise(), generator) for stop in CALIBRATION_STOPS]
    return estimate_crf(frames, [stop * math.log(2.0) for stop in CALIBRATION_STOPS])


def drifting_pan(still: Tensor, settings: SynthSettings) -> SynthSettings:
    """A pan whose auto exposure drifts by `DRIFT_STOPS` (1 to 3 stops), as near as the still allows.

    The horizontal pan into the brightest region drifts too little over an evenly lit still; the
    pan then starts from the still's darkest region instead, on the straight line to the
    brightest, as far out along it as keeps the drift within 3 stops (bisection on the start).
    """
    def drift(candidate: SynthSettings) -> float:
        evs = plan_shot(still, candidate).evs
        return max(evs) - min(evs)

    default = drift(settings)
    if DRIFT_STOPS[0] <= default:
        return settings
    out_size = settings.size or (still.shape[2], still.shape[1])
    (x0, y0), (x1, y1) = darkest_point(still, out_size), brightest_point(still, out_size)

    def from_fraction(t: float) -> SynthSettings:  # t = 1 starts at the darkest region
        return dataclasses.replace(settings, pan_from=(x1 + (x0 - x1) * t, y1 + (y0 - y1) * t))

    darkest = from_fraction(1.0)
    widest = drift(darkest)
    if widest <= DRIFT_STOPS[1]:
        return darkest if widest > default else settings
    near, far = 0.0, 1.0
    for _ in range(6):
        middle = (near + far) / 2.0
        if drift(from_fraction(middle)) > DRIFT_STOPS[1]:
            far = middle
        else:
            near = middle
    return from_fraction(near)


def render(clip_path: Path, grade: Grade, response: Tensor | None = None) -> tuple[list[Tensor], float]:
    """The clip through the pipeline as an export renders it; HDR frames and seconds per frame.
    `response`: the inverse response the 'estimated' transfer decodes through (`EXACT`)."""
    out: list[Tensor] = []
    with open_clip(clip_path) as clip:
        pipeline = Pipeline(grade, clip, device="cpu", response=response)
        started = time.perf_counter()
        for index, hdr in pipeline.iter_hdr(0, clip.info.frame_count):
            pipeline.output(index, hdr, OUTPUT_VIEW)
            out.append(hdr)
        seconds = time.perf_counter() - started
    return out, seconds / len(out)


def grade_for(method: str, fallback: str, camera: CameraShot, transfer: str = "",
              camera_lut: Path | None = None) -> Grade:
    """The grade a user would set: the declared transfer (or `transfer`, e.g. "estimated" for the
    clip's estimated camera response; `EXACT` for the camera's own, which `render` is given;
    `CALIBRATED` for the camera's `camera_lut` file), BT.709 primaries (the camera's)."""
    if transfer == CAMERA_BT709 and camera.declared_transfer != "bt1886":
        transfer = ""  # the camera decode is for BT.709-tagged footage, not sRGB or gamma cameras
    transfer = {EXACT: "estimated", CALIBRATED: "camera-lut"}.get(transfer, transfer)
    source = SourceTransform(transfer=transfer or camera.declared_transfer, gamma=camera.declared_gamma,
                             primaries="bt709", camera_lut="" if camera_lut is None else str(camera_lut))
    if method in TEMPORAL_ROWS:
        return Grade(source=source, itm=OperatorChoice(fallback), temporal=True)
    return Grade(source=source, itm=OperatorChoice(method))


Scores = dict[str, dict[str, dict[str, list[float]]]]  # family -> method -> figure -> per shot


def score(scores: Scores, shot: Shot, method: str, out: list[Tensor]) -> dict[str, float]:
    report = evaluate(out, shot.truth, shot.sdr, shot.recoverable, fps=shot.fps, with_cvvdp=False)
    figures = {"recoverable": report.mean("recoverable", "pu21_psnr"),
               "highlights": report.mean("highlights", "pu21_psnr"),
               "flicker": report.mean("frame", "flicker")}
    for name, value in figures.items():
        scores[shot.family][method][name].append(value)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--test-data", type=Path, help="the held-out TEST stills (bench/heldout_stills.py)")
    data.add_argument("--data", type=Path, help="the TUNING stills, for tuning runs only")
    parser.add_argument("--families", default="", help="comma-separated camera families (default: all)")
    parser.add_argument("--stills-per-family", type=int, default=3)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--max-width", type=int, default=320, help="shots are at most this wide")
    parser.add_argument("--seed", type=int, default=19, help="seeds the cameras drawn for the shots")
    parser.add_argument("--fallback", default="masked-cnn",
                        help="ITM operator the temporal mode falls back to")
    parser.add_argument("--operators", default="", help="comma-separated ITM operators (default: all)")
    parser.add_argument("--temporal-params", default="",
                        help="temporal parameters as name=value,... (e.g. response=estimated)")
    parser.add_argument("--source-transfer", default="",
                        help="source transfer of every grade instead of the camera's declared one "
                        "(e.g. estimated: the clip's estimated camera response, engine.crf.estimate); "
                        "bt709-camera replaces BT.1886 only, the decode of BT.709-tagged footage; "
                        "exact: the camera's own inverse response, an oracle no grade can know; "
                        "calibrated: the camera's response measured from a bracket, as `lumigrade "
                        "calibrate` does, in a camera-lut grade")
    parser.add_argument("--refinement", action="store_true",
                        help="also score the temporal mode with refine=learned, as the 'refined' row")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's)")
    parser.add_argument("--cost-size", default="",
                        help="WxH of pans the cost is also measured on (empty: skip)")
    parser.add_argument("--cost-data", type=Path, help="a folder holding the --cost-stills")
    parser.add_argument("--cost-stills", default="StillLife,CandleGlass")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    folder_in = args.test_data or args.data
    stills = sorted(folder_in.glob("*.exr"))
    if not stills:
        parser.error(f"{folder_in}: no OpenEXR stills")
    families = [FAMILIES[f] for f in (args.families.split(",") if args.families else FAMILIES)]
    chosen = {s for s in args.operators.split(",") if s}
    singles = [c.name for c in operators("itm") if not chosen or c.name in chosen or c.name == args.fallback]
    temporal_params = dict(kv.split("=", 1) for kv in args.temporal_params.split(",") if kv)
    temporal_rows = list(TEMPORAL_ROWS) if args.refinement else [TEMPORAL]
    scores: Scores = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    torch.set_grad_enabled(False)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"set: {'TEST (held out)' if args.test_data else 'TUNING'} {folder_in}, {len(stills)} stills")
    print("environment: " + ", ".join(f"{k} {v}" for k, v in environment().items()))
    for line in differing(stills):
        print(f"warning: {line}")
    with tempfile.TemporaryDirectory(prefix="lumigrade-bench-") as folder:
        shot_index = 0
        for f, family in enumerate(families):
            for m in range(args.stills_per_family):
                still = stills[(f * args.stills_per_family + m) % len(stills)]
                height, width = load_still(still).shape[1:]
                still_size = (width, height)
                size = scaled_size(family.size, args.max_width, still_size)
                camera = draw(family, args.seed * 1000 + shot_index, args.frames, size)
                shot_index += 1
                shot = make_shot(still, camera, Path(folder))
                line = [f"{shot.name:<28} {size[0]}x{size[1]} {camera.describe()} "
                        f"drift {shot.ev_drift:4.2f} EV"]
                ceiling = score(scores, shot, CEILING, shot.ceiling)
                score(scores, shot, CEILING_SCENE, shot.ceiling_scene)
                line.append(f"ceiling {ceiling['recoverable']:.1f}")
                camera_lut = None
                if args.source_transfer == CALIBRATED:
                    camera_lut = write_camera_lut(Path(folder) / f"{shot_index}.cube",
                                                  calibrated_inverse(shot.response, shot_index),
                                                  camera.describe())
                exact = exact_inverse(shot.response) if args.source_transfer == EXACT else None
                for name in [*temporal_rows, *singles]:
                    grade = grade_for(name, args.fallback, camera, args.source_transfer, camera_lut)
                    if name in TEMPORAL_ROWS:
                        grade = with_temporal_params(grade, params_of(name, temporal_params))
                    out, _ = render(shot.clip, grade, exact)
                    got = score(scores, shot, name, out)
                    if name in (*TEMPORAL_ROWS, args.fallback, "bt2408"):
                        line.append(f"{name} {got['recoverable']:.1f}/{got['highlights']:.1f}")
                print("  ".join(line), flush=True)
        cost = (measure_cost(args, temporal_rows, temporal_params) if args.cost_size and args.cost_data
                else {})
    table = summarise(scores, [*temporal_rows, *singles])
    print_tables(table, args.fallback)
    if cost:
        print(f"\ncost at {args.cost_size}: {args.fallback} {cost['single']:.3f} s/frame")
        for name in temporal_rows:
            print(f"  {name} {cost[name]:.3f} s/frame: {cost[name] / cost['single']:.1f}x")
    if args.json:
        figures = {"set": str(folder_in), "environment": environment(), "families": table,
                   "cost_at_size": cost}
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def environment() -> dict[str, str]:
    """The releases the figures depend on beyond this repository. The flow's global motion is
    OpenCV's (ORB features, RANSAC, phase correlation), and two OpenCV releases moved the
    validation figures by 0.07 dB (docs/evaluation.md, item 29); the camera's recording is
    PyAV's FFmpeg."""
    return {"torch": torch.__version__, "opencv": cv2.__version__, "PyAV": av.__version__,
            "numpy": np.__version__}


def with_temporal_params(grade: Grade, values: dict[str, str]) -> Grade:
    """The grade with temporal parameters replaced, each converted to its field's type."""
    defaults = TemporalParams()
    typed = {k: type(getattr(defaults, k))(v) for k, v in values.items()}
    return dataclasses.replace(grade, temporal_params={**grade.temporal_params, **typed})


def params_of(row: str, temporal_params: dict[str, str]) -> dict[str, str]:
    """The temporal parameters of a temporal row: `temporal_params`, and the refinement for REFINED."""
    return {**temporal_params, "refine": "learned"} if row == REFINED else temporal_params


def measure_cost(args: argparse.Namespace, rows: list[str], temporal_params: dict[str, str]
                 ) -> dict[str, float]:
    """Seconds per frame of each temporal row (with `temporal_params`, e.g. refine=learned) and
    of the fallback ('single') on larger sRGB pans."""
    width, height = (int(v) for v in args.cost_size.lower().split("x"))
    times: dict[str, list[float]] = {name: [] for name in [*rows, "single"]}
    with tempfile.TemporaryDirectory(prefix="lumigrade-cost-") as folder:
        for name in args.cost_stills.split(","):
            camera = draw(FAMILIES["phone"], 0, args.frames, (width, height), motion="pan+shake")
            path = args.cost_data / f"{name}.exr"
            still_height, still_width = load_still(path).shape[1:]
            # The stills are smaller than 1080p: enlarge one until the frame fits in 0.8 of it.
            zoom = max(1.0, width / (COST_ROOM * still_width), height / (COST_ROOM * still_height))
            shot = make_shot(path, camera, Path(folder), zoom)
            for row in rows:
                grade = with_temporal_params(grade_for(TEMPORAL, args.fallback, camera),
                                             params_of(row, temporal_params))
                times[row].append(render(shot.clip, grade)[1])
            times["single"].append(render(shot.clip, grade_for(args.fallback, args.fallback, camera))[1])
    return {k: _mean(v) for k, v in times.items()}


def summarise(scores: Scores, methods: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """family (and 'all', the mean over families) -> method -> figure -> mean over shots."""
    table = {family: {method: {fig: _mean(scores[family][method][fig]) for fig in FIGURES}
                      for method in [*CEILINGS, *methods]} for family in scores}
    table["all"] = {method: {fig: _mean([table[f][method][fig] for f in scores]) for fig in FIGURES}
                    for method in [*CEILINGS, *methods]}
    return table


def print_tables(table: dict[str, dict[str, dict[str, float]]], fallback: str) -> None:
    families = [f for f in table if f != "all"]
    methods = [m for m in table["all"] if m not in CEILINGS]
    for figure in FIGURES:
        print(f"\n{figure} ({'PU21-PSNR dB' if figure != 'flicker' else 'lower is better'})")
        print(f"{'method':<12}" + "".join(f"{f:>12}" for f in [*families, "all"]))
        for method in (list(CEILINGS) if figure == "recoverable" else []) + methods:
            print(f"{method:<12}" + "".join(f"{table[f][method][figure]:>12.2f}" for f in [*families, "all"]))
    everything = table["all"]
    singles = {m: v for m, v in everything.items() if m not in (*TEMPORAL_ROWS, *CEILINGS)}
    classical = {m: v for m, v in singles.items() if m != LEARNED}
    best_single = max(singles, key=lambda m: singles[m]["highlights"])
    gap = everything[CEILING]["recoverable"] - everything[TEMPORAL]["recoverable"]
    below = [f for f in families if table[f][TEMPORAL]["highlights"]
             < max(v["highlights"] for m, v in table[f].items() if m not in (*TEMPORAL_ROWS, *CEILINGS))]
    flicker = everything[TEMPORAL]["flicker"]
    goals = [
        (f"recoverable within {GOAL_CEILING_GAP_DB} dB of the ceiling", gap <= GOAL_CEILING_GAP_DB,
         f"{gap:.2f} dB under"),
        ("no family below the best single-frame operator on highlights", not below,
         ", ".join(below) or "none below"),
        ("flicker below every single-frame operator", all(flicker < v["flicker"] for v in singles.values()),
         f"{flicker:.4f} vs best single {min(v['flicker'] for v in singles.values()):.4f}"),
    ]
    if classical:  # a run of the learned operator alone (a cost run) has no classical peer
        best_classical = max(classical, key=lambda m: classical[m]["highlights"])
        learned_margin = (singles.get(LEARNED, {}).get("highlights", math.nan)
                          - classical[best_classical]["highlights"])
        goals.append((f"{LEARNED} >= best classical ({best_classical}) + {GOAL_LEARNED_MARGIN_DB} dB on "
                      "highlights", learned_margin >= GOAL_LEARNED_MARGIN_DB, f"{learned_margin:+.2f} dB"))
    if REFINED in everything:
        refined, mode = everything[REFINED], everything[TEMPORAL]
        margin = refined["recoverable"] - mode["recoverable"]
        goals.append(("refined > classical on recoverable, flicker not raised",
                      margin > 0.0 and refined["flicker"] <= mode["flicker"],
                      f"{margin:+.2f} dB, flicker {refined['flicker']:.4f} vs {mode['flicker']:.4f}"))
    print(f"\nbest single-frame operator on held-out highlights: {best_single}; fallback: {fallback}")
    for goal, met, value in goals:
        print(f"{'met ' if met else 'MISS'}  {goal:<64} {value}")


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v) and not math.isinf(v)]
    return sum(finite) / len(finite) if finite else math.nan


if __name__ == "__main__":
    sys.exit(main())
