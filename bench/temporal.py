"""Temporal highlight reconstruction against every single-frame ITM operator, on synthetic shots.

    .venv/bin/python -m bench.temporal [--size 320x180] [--frames 40] [--stills GoldenGate,city]
                                       [--motions pan,push] [--fallback bt2446a] [--json FILE]

Every HDR still in /work/shared/data/hdr becomes shots through engine.synth (a pan and a push
into the brightest region, auto exposure drifting with what the camera sees, sRGB camera
response, sensor noise, 8-bit). Each shot's SDR frames go through the input transform (sRGB
EOTF, BT.709 -> BT.2020) and then through the temporal reconstructor and through each ITM
operator alone; engine.metrics scores the results against the ground truth: PU21-PSNR over
the whole frame, the clipped highlights and the recoverable highlights (clipped here, seen
unclipped in another frame of the shot), flicker, ColorVideoVDP JOD when pycvvdp is installed,
and seconds per frame on this machine.

Goals: recoverable highlights >= 30 dB PU21-PSNR and >= 10 dB over the best single-frame
operator; never worse than the fallback over all highlights; flicker below every single-frame
operator; <= 3x the cost per frame of a single-frame operator on the CPU.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from engine.color.primaries import BT709, BT2020, convert_primaries
from engine.color.transfer import srgb_eotf
from engine.metrics import evaluate
from engine.operators import StageContext, make_operator, operators
from engine.synth import SynthSettings, plan_shot, render_shot
from engine.synth.render import load_still
from engine.temporal import TemporalParams, TemporalReconstructor

DATA = Path("/work/shared/data/hdr")
TEMPORAL = "temporal"
GOAL_RECOVERABLE_DB = 30.0
GOAL_MARGIN_DB = 10.0
GOAL_COST_RATIO = 3.0
SRGB_GAMMA = 2.2  # the power law closest to the sRGB curve, for recovering code values


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
    sdr: list[Tensor]  # R'G'B' code values
    linear: list[Tensor]  # after the input transform: SDR-relative display light, BT.2020
    truth: list[Tensor]  # scene-linear BT.2020 (any scale: the metrics align it)
    recoverable: list[Tensor]
    fps: float

    @property
    def recoverable_share(self) -> float:
        clipped = sum(float((s.amax(0) >= 1.0 - 1.0 / 255.0).sum()) for s in self.sdr)
        return sum(float(m.sum()) for m in self.recoverable) / clipped if clipped else math.nan


def make_shot(still_path: Path, motion: str, size: tuple[int, int], frames: int) -> Shot:
    still = load_still(still_path)
    settings = SynthSettings(frames=frames, motion=motion, exposure="auto", size=size, crf="srgb")
    plan = plan_shot(still, settings)
    rendered = list(render_shot(still, plan, settings))
    linear = [convert_primaries(srgb_eotf(f.sdr), BT709, BT2020).clamp_min(0.0) for f in rendered]
    return Shot(f"{still_path.stem}/{motion}", [f.sdr for f in rendered], linear,
                [f.scene for f in rendered], [f.recoverable for f in rendered], settings.fps)


def run_single_frame(name: str, shot: Shot) -> tuple[list[Tensor], float]:
    op = make_operator("itm", name)
    started = time.perf_counter()
    out = [op.apply(frame, StageContext(frame_index=i)) for i, frame in enumerate(shot.linear)]
    return out, (time.perf_counter() - started) / len(out)


def run_temporal(shot: Shot, fallback: str) -> tuple[list[Tensor], float]:
    frames = shot.linear
    started = time.perf_counter()
    reconstructor = TemporalReconstructor(
        source=lambda i: frames[i],
        frame_count=len(frames),
        params=TemporalParams(source_gamma=SRGB_GAMMA, source_primaries="bt709"),
        fallback=make_operator("itm", fallback),
        context=StageContext(),
    )
    reconstructor.analyse()
    out = [reconstructor.frame(i)[0] for i in range(len(frames))]
    return out, (time.perf_counter() - started) / len(out)


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
    parser.add_argument("--size", default="320x180", help="WxH of the synthetic shots")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--stills", default="", help="comma-separated still names (default: all)")
    parser.add_argument("--motions", default="pan,push")
    parser.add_argument("--fallback", default="bt2408", help="ITM operator the temporal mode falls back to")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"{DATA}: no HDR stills to build shots from", file=sys.stderr)
        return 2
    width, height = (int(v) for v in args.size.lower().split("x"))
    wanted = {s for s in args.stills.split(",") if s}
    stills = [p for p in sorted(DATA.glob("*.exr")) if not wanted or p.stem in wanted]
    names = [TEMPORAL, *(c.name for c in operators("itm"))]
    methods = {name: MethodScore() for name in names}
    shares: list[float] = []
    torch.set_grad_enabled(False)
    for still in stills:
        for motion in args.motions.split(","):
            shot = make_shot(still, motion, (width, height), args.frames)
            shares.append(shot.recoverable_share)
            line = [f"{shot.name:<22} recoverable {shot.recoverable_share:6.1%}"]
            for name in names:
                runner: Callable[[], tuple[list[Tensor], float]] = (
                    (lambda s=shot: run_temporal(s, args.fallback)) if name == TEMPORAL
                    else (lambda n=name, s=shot: run_single_frame(n, s))
                )
                out, seconds = runner()
                score(methods[name], shot, out, seconds)
                line.append(f"{name} {methods[name].psnr['recoverable'][-1]:.1f}")
            print("  ".join(line), flush=True)
    print_table(methods, shares, args.fallback)
    if args.json:
        args.json.write_text(json.dumps(figures(methods, shares), indent=2))
    return 0


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
    costliest = max(m.mean(m.seconds_per_frame) for m in singles.values())
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
        (f"cost <= {GOAL_COST_RATIO}x single-frame", cost <= GOAL_COST_RATIO * costliest,
         f"{cost / cheapest:.0f}x the cheapest, {cost / costliest:.1f}x the costliest"),
    ]
    print()
    for goal, met, value in goals:
        print(f"{'met ' if met else 'MISS'}  {goal:<48} {value}")


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


if __name__ == "__main__":
    sys.exit(main())
