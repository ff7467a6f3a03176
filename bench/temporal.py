"""Temporal highlight reconstruction against every single-frame ITM operator, on synthetic shots.

    .venv/bin/python -m bench.temporal --data DIR [--size 320x180] [--frames 40] [--stills GoldenGate,city]
                                       [--motions pan,push] [--pan-widths 1.25] [--fallback masked-cnn]
                                       [--operators bt2408,meylan] [--threads 1] [--json FILE]
                                       [--cost-size 960x540] [--cost-stills StillLife,CandleGlass]

Every HDR still in --data (OpenEXR) becomes shots through engine.synth: a pan of
`--pan-widths` frame widths that ends on the still's brightest region (or, where that drifts
less than a stop, a pan into it from the still's darkest region, started as far out as keeps
the drift within 3 stops), and a push into that region; auto exposure follows what the camera
sees, so it drifts as the view moves from dark to bright (sRGB camera response, sensor noise,
8-bit). Each shot is written as an H.264 clip and
rendered through engine.pipeline like an export, once per method: decode, input transform
(sRGB EOTF, BT.709 -> BT.2020), the temporal reconstructor or one ITM operator, and the PQ
output transform. engine.metrics scores the HDR frames against the ground truth: PU21-PSNR over
the whole frame, the clipped highlights and the recoverable highlights (clipped here, seen
unclipped in another frame of the shot), flicker, ColorVideoVDP JOD when pycvvdp is installed,
and seconds per frame of the whole render (the temporal mode's analysis and its own decoding
included).

Goals: recoverable highlights >= 30 dB PU21-PSNR and >= 10 dB over the best single-frame
operator; never worse than the fallback over all highlights; flicker below every single-frame
operator; <= 3x the per-frame cost of the single-frame render through the same pipeline (the
fallback operator's), measured in the same run, on the scored shots and again on pans at
`--cost-size`, where the analysis's fixed-size thumbnails and flows weigh less.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import torch
from torch import Tensor

from engine.grade import Grade, OperatorChoice, SourceTransform
from engine.io.encode import VideoTarget, open_video_writer
from engine.io.open import open_clip
from engine.metrics import evaluate
from engine.operators.catalogue import operators
from engine.pipeline import Pipeline
from engine.synth import SynthSettings, plan_shot, render_shot
from engine.synth.camera import brightest_point, darkest_point
from engine.synth.render import default_size, load_still

TEMPORAL = "temporal"
GOAL_RECOVERABLE_DB = 30.0
GOAL_MARGIN_DB = 10.0
GOAL_COST_RATIO = 3.0
DRIFT_STOPS = (1.0, 3.0)  # how far a pan's auto exposure should drift across the move
OUTPUT_VIEW = "pq"  # an HDR10 deliverable's output transform


@dataclass
class MethodScore:
    """Means over all shots of one method's figures."""

    psnr: dict[str, list[float]] = field(default_factory=lambda: {"frame": [], "highlights": [],
                                                                   "recoverable": []})
    flicker: list[float] = field(default_factory=list)
    jod: list[float] = field(default_factory=list)
    seconds_per_frame: list[float] = field(default_factory=list)

    def mean(self, values: list[float]) -> float:
        finite = [v for v in values if not math.isnan(v)]
        return sum(finite) / len(finite) if finite else math.nan


@dataclass(frozen=True)
class Shot:
    name: str
    clip: Path  # the camera's H.264 recording
    sdr: list[Tensor]  # R'G'B' code values as decoded from the clip
    truth: list[Tensor]  # scene-linear BT.2020 (any scale: the metrics align it)
    recoverable: list[Tensor]
    fps: float
    ev_drift: float  # stops between the shot's darkest and brightest exposure

    @property
    def recoverable_share(self) -> float:
        clipped = sum(float((s.amax(0) >= 1.0 - 1.0 / 255.0).sum()) for s in self.sdr)
        return sum(float(m.sum()) for m in self.recoverable) / clipped if clipped else math.nan


def make_shot(still_path: Path, motion: str, size: tuple[int, int], frames: int, pan_widths: float,
              folder: Path) -> Shot:
    still = load_still(still_path)
    settings = SynthSettings(frames=frames, motion=motion, exposure="auto", size=size, crf="srgb",
                             pan_widths=pan_widths)
    if motion == "pan":
        settings = drifting_pan(still, settings)
    plan = plan_shot(still, settings)
    rendered = list(render_shot(still, plan, settings))
    path = folder / f"{still_path.stem}_{motion}.mp4"
    writer = open_video_writer(path, VideoTarget(kind="sdr", crf=settings.h264_crf, preset="fast"),
                               size[0], size[1], Fraction(settings.fps).limit_denominator(1001))
    for frame in rendered:
        writer.write(frame.sdr)
    writer.close()
    with open_clip(path) as clip:
        sdr = [signal for _, signal in clip.frames()]
    return Shot(f"{still_path.stem}/{motion}", path, sdr, [f.scene for f in rendered],
                [f.recoverable for f in rendered], settings.fps, max(plan.evs) - min(plan.evs))


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
    out_size = settings.size or default_size((still.shape[2], still.shape[1]))
    (x0, y0), (x1, y1) = darkest_point(still, out_size), brightest_point(still, out_size)

    def from_fraction(t: float) -> SynthSettings:  # t = 1 starts at the darkest region
        return dataclasses.replace(settings, pan_from=(x1 + (x0 - x1) * t, y1 + (y0 - y1) * t))

    darkest = from_fraction(1.0)
    widest = drift(darkest)
    if widest <= DRIFT_STOPS[1]:
        return darkest if widest > default else settings
    near, far = 0.0, 1.0
    for _ in range(8):
        middle = (near + far) / 2.0
        if drift(from_fraction(middle)) > DRIFT_STOPS[1]:
            far = middle
        else:
            near = middle
    return from_fraction(near)


def render(shot: Shot, grade: Grade) -> tuple[list[Tensor], float]:
    """The shot through the pipeline as an export renders it; HDR frames and seconds per frame.

    The timed work is decode, input transform, ITM or temporal stage and output transform;
    the HDR frames are kept for scoring.
    """
    out: list[Tensor] = []
    with open_clip(shot.clip) as clip:
        pipeline = Pipeline(grade, clip, device="cpu")
        started = time.perf_counter()
        for index, hdr in pipeline.iter_hdr(0, clip.info.frame_count):
            pipeline.output(index, hdr, OUTPUT_VIEW)
            out.append(hdr)
        seconds = time.perf_counter() - started
    return out, seconds / len(out)


def grade_for(method: str, fallback: str) -> Grade:
    # The synthetic camera encodes with the sRGB curve; its clips are tagged BT.709.
    source = SourceTransform(transfer="srgb", primaries="bt709")
    if method == TEMPORAL:
        return Grade(source=source, itm=OperatorChoice(fallback), temporal=True)
    return Grade(source=source, itm=OperatorChoice(method))


def score(method: MethodScore, shot: Shot, out: list[Tensor], seconds: float) -> None:
    report = evaluate(out, shot.truth, shot.sdr, shot.recoverable, fps=shot.fps)
    for region in method.psnr:
        method.psnr[region].append(report.mean(region, "pu21_psnr"))
    method.flicker.append(report.mean("frame", "flicker"))
    if report.cvvdp.get("available"):
        method.jod.append(float(report.cvvdp["jod"]))
    method.seconds_per_frame.append(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        help="a folder of scene-linear OpenEXR stills to build shots from")
    parser.add_argument("--size", default="320x180", help="WxH of the synthetic shots")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--stills", default="", help="comma-separated still names (default: all)")
    parser.add_argument("--motions", default="pan,push")
    parser.add_argument("--pan-widths", type=float, default=1.25, help="length of the pans in frame widths")
    # The best single-frame operator over the highlights, which is what a colorist would pick to
    # fill what no other frame shows; the flicker and cost goals are measured against it too.
    parser.add_argument("--fallback", default="masked-cnn",
                        help="ITM operator the temporal mode falls back to")
    parser.add_argument("--operators", default="", help="comma-separated ITM operators (default: all)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's)")
    parser.add_argument("--cost-size", default="960x540",
                        help="WxH of the shots the cost is also measured on (empty: skip)")
    parser.add_argument("--cost-stills", default="StillLife,CandleGlass",
                        help="stills large enough for --cost-size")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.data is None or not any(args.data.glob("*.exr")):
        parser.error("--data DIR: a folder of scene-linear OpenEXR stills to build shots from "
                     "(the repository ships none; the team's are in ../shared/data/hdr)")
    width, height = (int(v) for v in args.size.lower().split("x"))
    wanted = {s for s in args.stills.split(",") if s}
    stills = [p for p in sorted(args.data.glob("*.exr")) if not wanted or p.stem in wanted]
    chosen = {s for s in args.operators.split(",") if s}
    singles = [c.name for c in operators("itm") if not chosen or c.name in chosen or c.name == args.fallback]
    names = [TEMPORAL, *singles]
    methods = {name: MethodScore() for name in names}
    shares: list[float] = []
    torch.set_grad_enabled(False)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="lumigrade-bench-") as folder:
        for still in stills:
            for motion in args.motions.split(","):
                shot = make_shot(still, motion, (width, height), args.frames, args.pan_widths, Path(folder))
                shares.append(shot.recoverable_share)
                line = [f"{shot.name:<20} drift {shot.ev_drift:4.2f} EV"
                        f"  recoverable {shot.recoverable_share:6.1%}"]
                for name in names:
                    out, seconds = render(shot, grade_for(name, args.fallback))
                    score(methods[name], shot, out, seconds)
                    line.append(f"{name} {methods[name].psnr['recoverable'][-1]:.1f} dB {seconds:.3f} s")
                print("  ".join(line), flush=True)
        cost = measure_cost(args, Path(folder)) if args.cost_size else {}
    print_table(methods, shares, args.fallback)
    if cost:
        print(f"\ncost at {args.cost_size} (pans of {args.cost_stills}): "
              f"temporal {cost['temporal']:.3f} s/frame, {args.fallback} {cost['single']:.3f} s/frame: "
              f"{cost['temporal'] / cost['single']:.1f}x")
    if args.json:
        args.json.write_text(json.dumps({**figures(methods, shares), "cost_at_size": cost}, indent=2))
    return 0


def measure_cost(args: argparse.Namespace, folder: Path) -> dict[str, float]:
    """Seconds per frame of the temporal mode and of its fallback on larger frames, where the
    analysis's fixed-size flows weigh less against the per-pixel work than at the scored size."""
    width, height = (int(v) for v in args.cost_size.lower().split("x"))
    times: dict[str, list[float]] = {"temporal": [], "single": []}
    for name in args.cost_stills.split(","):
        shot = make_shot(args.data / f"{name}.exr", "pan", (width, height), args.frames, args.pan_widths,
                         folder)
        times["temporal"].append(render(shot, grade_for(TEMPORAL, args.fallback))[1])
        times["single"].append(render(shot, grade_for(args.fallback, args.fallback))[1])
    return {k: _mean(v) for k, v in times.items()}


def figures(methods: dict[str, MethodScore], shares: list[float]) -> dict[str, object]:
    return {
        "recoverable_share_of_clipped": _mean(shares),
        "methods": {
            name: {
                "pu21_psnr": {region: m.mean(v) for region, v in m.psnr.items()},
                "flicker": m.mean(m.flicker),
                "jod": m.mean(m.jod),
                "seconds_per_frame": m.mean(m.seconds_per_frame),
            }
            for name, m in methods.items()
        },
    }


def print_table(methods: dict[str, MethodScore], shares: list[float], fallback: str) -> None:
    print(f"\nshare of clipped pixels that is recoverable: {_mean(shares):.1%}")
    print(f"{'method':<12}{'PSNR frame':>12}{'highlights':>12}{'recoverable':>13}{'flicker':>10}"
          f"{'JOD':>8}{'s/frame':>10}")
    for name, m in methods.items():
        print(f"{name:<12}{m.mean(m.psnr['frame']):>12.2f}{m.mean(m.psnr['highlights']):>12.2f}"
              f"{m.mean(m.psnr['recoverable']):>13.2f}{m.mean(m.flicker):>10.4f}"
              f"{m.mean(m.jod):>8.2f}{m.mean(m.seconds_per_frame):>10.4f}")
    temporal = methods[TEMPORAL]
    singles = {n: m for n, m in methods.items() if n != TEMPORAL}
    best = max(singles.values(), key=lambda m: m.mean(m.psnr["recoverable"]))
    recoverable = temporal.mean(temporal.psnr["recoverable"])
    margin = recoverable - best.mean(best.psnr["recoverable"])
    fb = singles[fallback]
    cheapest = min(m.mean(m.seconds_per_frame) for m in singles.values())
    single = fb.mean(fb.seconds_per_frame)
    cost = temporal.mean(temporal.seconds_per_frame)
    goals = [
        (f"recoverable >= {GOAL_RECOVERABLE_DB} dB", recoverable >= GOAL_RECOVERABLE_DB,
         f"{recoverable:.2f} dB"),
        (f"recoverable >= best single-frame + {GOAL_MARGIN_DB} dB", margin >= GOAL_MARGIN_DB,
         f"{margin:+.2f} dB"),
        (f"highlights not worse than fallback {fallback}",
         temporal.mean(temporal.psnr["highlights"]) >= fb.mean(fb.psnr["highlights"]),
         f"{temporal.mean(temporal.psnr['highlights']) - fb.mean(fb.psnr['highlights']):+.2f} dB"),
        ("flicker below every single-frame operator",
         all(temporal.mean(temporal.flicker) < m.mean(m.flicker) for m in singles.values()),
         f"{temporal.mean(temporal.flicker):.4f}"),
        (f"cost <= {GOAL_COST_RATIO}x the single-frame render ({fallback})", cost <= GOAL_COST_RATIO * single,
         f"{cost:.3f} s/frame: {cost / single:.1f}x {fallback}, {cost / cheapest:.1f}x the cheapest"),
    ]
    print()
    for goal, met, value in goals:
        print(f"{'met ' if met else 'MISS'}  {goal:<48} {value}")


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


if __name__ == "__main__":
    sys.exit(main())
