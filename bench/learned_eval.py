"""The learned ITM networks against the classical methods, on shots of the held-out stills.

    .venv/bin/python -m bench.learned_eval --data DIR [--size 320x180] [--frames 24] [--motions pan,push]
                                           [--fallback bt2446a] [--repeats 3] [--json FILE]

The stills GoldenGate and sunset (in --data) never took part in training (engine.models.data.EVAL_STILLS).
Each becomes engine.synth shots (auto exposure, sRGB camera, sensor noise, 8-bit; bench.temporal
builds them), and four methods reconstruct every frame:
- masked-cnn: the single-frame network (engine.itm.masked_cnn);
- the best classical single-frame operator, chosen as the one with the highest highlight
  PU21-PSNR over all shots among every registered classical ITM operator;
- temporal: the classical temporal mode (engine.temporal) with --fallback;
- temporal+refine: the learned refinement of that reconstruction (engine.models.inference).
engine.metrics scores them against the ground truth: PU21-PSNR over the whole frame, the
clipped highlights and the recoverable highlights, and flicker (PU21 units).
Last, seconds per 1920x1080 frame of both networks on the CPU (torch's default thread count).

Goals: masked-cnn above the best classical single-frame operator in highlight PU21-PSNR;
temporal+refine above temporal without more flicker; <= 2 s per 1080p frame on the CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import Tensor

from bench.temporal import MethodScore, Shot, make_shot, score
from engine.color.primaries import BT709
from engine.frame import Frame, Space
from engine.models.data import EVAL_STILLS, display_light
from engine.models.inference import TemporalRefiner
from engine.operators.base import StageContext
from engine.operators.catalogue import make_operator, operators
from engine.temporal import TemporalParams, TemporalReconstructor

NETWORK = "masked-cnn"
TEMPORAL = "temporal"
REFINED = "temporal+refine"
GOAL_SECONDS_1080P = 2.0


def shot_light(shot: Shot) -> list[Tensor]:
    """The shot's frames through the input transform: the camera wrote sRGB code values, BT.709."""
    return [display_light(s, "srgb") for s in shot.sdr]


def run_single_frame(name: str, shot: Shot) -> tuple[list[Tensor], float]:
    """One single-frame ITM operator over the shot, and its seconds per frame."""
    op = make_operator("itm", name)
    started = time.perf_counter()
    out = [op.apply(frame, StageContext(frame_index=i)) for i, frame in enumerate(shot_light(shot))]
    return out, (time.perf_counter() - started) / len(out)


def run_temporal_and_refine(shot: Shot, fallback: str) -> tuple[tuple[list[Tensor], float],
                                                                 tuple[list[Tensor], float]]:
    """The classical temporal reconstruction of a shot, and its learned refinement, with the
    seconds per frame of each (the refinement's time excludes the classical stage it starts from)."""
    frames = shot_light(shot)
    ctx = StageContext()
    started = time.perf_counter()
    reconstructor = TemporalReconstructor(
        source=lambda i: Frame(frames[i], Space.RELATIVE, shot.sdr[i]), frame_count=len(frames),
        params=TemporalParams(), fallback=make_operator("itm", fallback), context=ctx, primaries=BT709,
    )
    reconstructor.analyse()
    classical = [reconstructor.frame(i) for i in range(len(frames))]
    classical_seconds = (time.perf_counter() - started) / len(frames)
    analysis = reconstructor.analysis
    refiner = TemporalRefiner()
    started = time.perf_counter()
    refined = []
    for i, (nits, clues) in enumerate(classical):
        neighbours = [classical[k][0] for k in analysis.neighbours(i) if k is not None]
        refined.append(refiner(nits, clues.confidence, frames[i], neighbours, ctx))
    refine_seconds = (time.perf_counter() - started) / len(frames)
    return ([c[0] for c in classical], classical_seconds), (refined, refine_seconds)


def seconds_1080p(repeats: int) -> dict[str, float]:
    """Median seconds per 1920x1080 frame of each network on the CPU, tiled as shipped."""
    generator = torch.Generator().manual_seed(0)
    sdr = torch.rand((3, 1080, 1920), generator=generator) * 1.1  # a tenth of it clips
    sdr = sdr.clamp(0.0, 1.0)
    op = make_operator("itm", NETWORK)
    ctx = StageContext()
    refiner = TemporalRefiner()
    confidence = torch.rand((1, 1080, 1920), generator=generator)
    timings: dict[str, list[float]] = {NETWORK: [], REFINED: []}
    for _ in range(repeats + 1):  # the first run loads the weights and warms the allocator
        started = time.perf_counter()
        nits = op.apply(sdr, ctx)
        timings[NETWORK].append(time.perf_counter() - started)
        started = time.perf_counter()
        refiner(nits, confidence, sdr, [nits, nits], ctx)
        timings[REFINED].append(time.perf_counter() - started)
    return {name: statistics.median(values[1:]) for name, values in timings.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of the HDR stills (EXR)")
    parser.add_argument("--size", default="320x180", help="WxH of the synthetic shots")
    parser.add_argument("--pan-widths", type=float, default=1.25, help="length of the pans in frame widths")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--motions", default="pan,push")
    parser.add_argument("--fallback", default="bt2446a", help="ITM operator the temporal mode falls back to")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of the 1080p inference")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    stills = [args.data / f"{name}.exr" for name in EVAL_STILLS]
    missing = [p for p in stills if not p.is_file()]
    if missing:
        print(f"{missing[0]}: held-out still not found", file=sys.stderr)
        return 2
    width, height = (int(v) for v in args.size.lower().split("x"))
    classical_names = [c.name for c in operators("itm") if c.name != NETWORK]
    methods = {name: MethodScore() for name in (NETWORK, *classical_names, TEMPORAL, REFINED)}
    torch.set_grad_enabled(False)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)  # the shots' H.264 recordings
        for still in stills:
            for motion in args.motions.split(","):
                shot = make_shot(still, motion, (width, height), args.frames, args.pan_widths, folder)
                for name in (NETWORK, *classical_names):
                    score(methods[name], shot, *run_single_frame(name, shot))
                temporal, refined = run_temporal_and_refine(shot, args.fallback)
                score(methods[TEMPORAL], shot, *temporal)
                score(methods[REFINED], shot, *refined)
                line = "  ".join(f"{n} {methods[n].psnr['highlights'][-1]:.2f}"
                                 for n in (NETWORK, TEMPORAL, REFINED))
                print(f"{shot.name:<20} highlight PU21-PSNR: {line}", flush=True)
    best = max(classical_names, key=lambda n: methods[n].mean(methods[n].psnr["highlights"]))
    rows = {name: methods[name] for name in (NETWORK, best, TEMPORAL, REFINED)}
    figures: dict[str, dict[str, float]] = {}
    print(f"\n{'method':<18}{'frame':>10}{'highlights':>12}{'recoverable':>13}{'flicker':>10}{'s/frame':>10}")
    for name, m in rows.items():
        figures[name] = {
            "pu21_psnr_frame": m.mean(m.psnr["frame"]),
            "pu21_psnr_highlights": m.mean(m.psnr["highlights"]),
            "pu21_psnr_recoverable": m.mean(m.psnr["recoverable"]),
            "flicker": m.mean(m.flicker),
            "seconds_per_frame": m.mean(m.seconds_per_frame),
        }
        f = figures[name]
        label = f"{name} (best classical)" if name == best else name
        print(f"{label:<18}{f['pu21_psnr_frame']:>10.2f}{f['pu21_psnr_highlights']:>12.2f}"
              f"{f['pu21_psnr_recoverable']:>13.2f}{f['flicker']:>10.4f}{f['seconds_per_frame']:>10.3f}")
    timing = seconds_1080p(args.repeats)
    print(f"\n1080p on the CPU ({torch.get_num_threads()} threads): "
          + ", ".join(f"{n} {s:.2f} s" for n, s in timing.items()))
    net, classical = figures[NETWORK], figures[best]
    temporal, refine = figures[TEMPORAL], figures[REFINED]
    goals = {
        "network beats best classical on highlights":
            net["pu21_psnr_highlights"] > classical["pu21_psnr_highlights"],
        "refinement beats temporal on highlights":
            refine["pu21_psnr_highlights"] > temporal["pu21_psnr_highlights"],
        "refinement does not raise flicker": refine["flicker"] <= temporal["flicker"],
        f"network <= {GOAL_SECONDS_1080P} s per 1080p frame": timing[NETWORK] <= GOAL_SECONDS_1080P,
    }
    for goal, met in goals.items():
        print(f"{'MET ' if met else 'MISS'} {goal}")
    if args.json:
        args.json.write_text(json.dumps({"held_out": list(EVAL_STILLS), "best_classical": best,
                                         "methods": figures, "seconds_1080p": timing,
                                         "goals": goals}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
