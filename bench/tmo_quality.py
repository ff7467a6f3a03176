"""The learned tone mapper against the classical ones on held-out HDR frames: TMQI, flicker, speed.

    .venv/bin/python -m bench.tmo_quality --data DIR [--tmos deep,reinhard,hable,aces,bt2390]
                                          [--frames 24] [--threads 1] [--device cpu|cuda]
                                          [--stills GoldenGate,sunset] [--skip-quality] [--flicker-only]

Quality: the stills held out of every training and tuning run (GoldenGate and sunset in --data,
engine.models.data.EVAL_STILLS), each whole and as a centre crop of half its width and height,
exposed so that their log average sits at 18% of reference white and then at -2, 0 and +2 EV
(12 frames). Each TMO maps the frame in cd/m² (its statistics measured on the frame, as the
pipeline's output stage gives them) to the 8-bit SDR signal the export writes (BT.709, BT.1886);
TMQI (engine.metrics.tmqi, Yeganeh & Wang 2013) compares that signal's luma with the HDR
luminance. Printed: the mean Q, S and N per operator, and Q per still.

Flicker: engine.synth shots of the same stills (a pan and a push-in, --frames frames, 480x270,
at the shot's auto-exposure scale in cd/m²), tone-mapped frame by frame with the statistics
stabiliser the pipeline uses; engine.metrics.flicker compares the frame-to-frame change of the
SDR picture (on a 100 cd/m² display) with that of the HDR scene, both in PU21 units, twice:
"flicker" at the same pixel positions (the goal's measure: motion makes both change, and a
picture whose changes differ from the scene's scores high), and "warped" motion-compensated (the
previous frame warped onto the current one by the shot's known camera poses, over the pixels
both see), where only changes the scene does not have remain: a fixed curve scores near 0, an
operator that adapts to the frame (a key, a network) above it.

Speed: milliseconds per 1920x1080 frame of each operator on --device (the median of --repeats),
with the ratio against BT.2390 run in the same process.

Goals (issue 20): the best mean TMQI among these operators without more flicker than BT.2390;
<= 1 s per 1080p frame on the CPU, <= 20 ms on CUDA.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.color.luminance import luminance
from engine.constants import SDR_REFERENCE_WHITE_NITS
from engine.display import sdr_view
from engine.metrics.flicker import flicker, pu21_luminance
from engine.metrics.tmqi import TmqiScore, tmqi
from engine.models.data import EVAL_STILLS
from engine.operators.base import Operator, StageContext
from engine.operators.catalogue import make_operator
from engine.stats import StatsStabiliser, measure
from engine.synth import SynthSettings, plan_shot, render_shot
from engine.synth.camera import invert_affine, pixel_coordinates
from engine.synth.render import load_still

TMOS = ("deep", "reinhard", "hable", "aces", "bt2390")
PEER = "bt2390"
EXPOSURES_EV = (-2.0, 0.0, 2.0)
KEY = 0.18 * SDR_REFERENCE_WHITE_NITS
SDR_PEAK_NITS = 100.0
SHOT_SIZE = (480, 270)
MOTIONS = ("pan", "push")
GOAL_CPU_MS = 1000.0
GOAL_CUDA_MS = 20.0


def make_tmo(spec: str) -> Operator:
    """A TMO from NAME or NAME:KEY=VALUE[:KEY=VALUE...] (a tuning run's variant, e.g. deep:smoothing=8)."""
    name, *assignments = spec.split(":")
    return make_operator("tmo", name, dict(a.split("=", 1) for a in assignments))


def sdr_code(op: Operator, nits: Tensor, ctx: StageContext) -> Tensor:
    """The 8-bit SDR signal (BT.709 R'G'B' in [0, 1]) the export writes for this TMO and frame.

    A curve TMO's apply is its baked LUT with the display transform's colour step, so encoding
    its output equals the SDR view with that LUT (tests/engine/tmo checks the LUT)."""
    signal = sdr_view(None).apply(op.apply(nits, ctx))
    return torch.round(signal.clamp(0.0, 1.0) * 255.0) / 255.0


def test_frames(data: Path, stills: list[str]) -> list[tuple[str, Tensor]]:
    """(label, (3, H, W) cd/m²) for every still, crop and exposure."""
    frames = []
    for name in stills:
        still = load_still(data / f"{name}.exr")
        _, h, w = still.shape
        crops = {"whole": still, "centre": still[:, h // 4:h // 4 + h // 2, w // 4:w // 4 + w // 2]}
        for crop, image in crops.items():
            base = KEY / measure(luminance(image)).log_average
            for ev in EXPOSURES_EV:
                frames.append((f"{name}/{crop}/{ev:+.0f}EV", image * base * 2.0**ev))
    return frames


def quality(tmos: list[str], frames: list[tuple[str, Tensor]]) -> dict[str, list[TmqiScore]]:
    scores: dict[str, list[TmqiScore]] = {name: [] for name in tmos}
    for _, nits in frames:
        ctx = StageContext(stats=measure(luminance(nits)))
        for name in tmos:
            scores[name].append(tmqi(luminance(nits), sdr_code(make_tmo(name), nits, ctx)))
    return scores


def previous_frame_grid(previous: np.ndarray, current: np.ndarray, out_size: tuple[int, int]) -> Tensor:
    """grid_sample coordinates (1, h, w, 2) that fetch, for every pixel of the current frame, the
    point of the previous frame showing the same scene point (the shot's camera poses)."""
    w, h = out_size
    still = pixel_coordinates(current, out_size, "cpu")  # (h, w, 2) still (u, v) of each pixel
    inv = torch.from_numpy(invert_affine(previous))
    xy = still @ inv[:, :2].T + inv[:, 2]
    grid = torch.stack([2.0 * xy[..., 0] / (w - 1) - 1.0, 2.0 * xy[..., 1] / (h - 1) - 1.0], dim=-1)
    return grid[None].float()


def warp(image: Tensor, grid: Tensor) -> Tensor:
    return tnf.grid_sample(image[None], grid, mode="bilinear", padding_mode="zeros", align_corners=True)[0]


def shot_flicker(tmos: list[str], data: Path, stills: list[str],
                 frames: int) -> dict[str, tuple[float, float]]:
    """Mean flicker (PU21 units) of each TMO over a pan and a push of every still: at the same
    pixel positions, and motion-compensated (the previous frame warped onto the current one by
    the known camera poses, over the pixels both frames see)."""
    totals: dict[str, list[tuple[float, float]]] = {name: [] for name in tmos}
    for name in stills:
        still = load_still(data / f"{name}.exr")
        for seed, motion in enumerate(MOTIONS):
            settings = SynthSettings(frames=frames, motion=motion, size=SHOT_SIZE, seed=seed, noise=None)
            plan = plan_shot(still, settings)
            scenes = [f.scene * plan.nits_scale for f in render_shot(still, plan, settings)]
            grids = [previous_frame_grid(plan.affines[i - 1], plan.affines[i], SHOT_SIZE)
                     for i in range(1, len(scenes))]
            seen = [warp(torch.ones(1, SHOT_SIZE[1], SHOT_SIZE[0]), g) > 0.999 for g in grids]
            reference = [pu21_luminance(s) for s in scenes]
            warped_reference = [warp(reference[i - 1], grids[i - 1]) for i in range(1, len(scenes))]
            for tmo in tmos:
                op, stabiliser = make_tmo(tmo), StatsStabiliser()
                shown = []
                for i, nits in enumerate(scenes):
                    ctx = StageContext(frame_index=i, stats=stabiliser.update(measure(luminance(nits))))
                    shown.append(pu21_luminance(op.apply(nits, ctx) * SDR_PEAK_NITS))
                for i in range(1, len(scenes)):
                    still_pixels = flicker(shown[i - 1], shown[i], reference[i - 1], reference[i])
                    moving = flicker(warp(shown[i - 1], grids[i - 1]), shown[i], warped_reference[i - 1],
                                     reference[i], seen[i - 1])
                    totals[tmo].append((still_pixels, moving))
    return {tmo: (statistics.fmean(v[0] for v in values), statistics.fmean(v[1] for v in values))
            for tmo, values in totals.items()}


def speed_ms(tmos: list[str], still: Tensor, device: str, repeats: int) -> dict[str, float]:
    """Median ms per 1920x1080 frame of each TMO's apply on `device`."""
    frame = tnf.interpolate(still[None], size=(1080, 1920), mode="bilinear", align_corners=False)[0]
    frame = (frame * KEY / measure(luminance(frame)).log_average).to(device)
    ctx = StageContext(stats=measure(luminance(frame)))
    result = {}
    for name in tmos:
        op = make_tmo(name)
        op.apply(frame, ctx)  # warm-up: loads the network, compiles kernels
        times = []
        for _ in range(repeats):
            if device == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
            op.apply(frame, ctx)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(1000.0 * (time.perf_counter() - started))
        result[name] = statistics.median(times)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of the HDR stills (EXR)")
    parser.add_argument("--tmos", default=",".join(TMOS),
                        help="operators, each NAME or NAME:KEY=VALUE (a parameter variant to tune)")
    parser.add_argument("--frames", type=int, default=24, help="frames per synthetic shot")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--skip-quality", action="store_true", help="only time the operators")
    parser.add_argument("--flicker-only", action="store_true",
                        help="only the synth shots' flicker (tuning a temporal constant)")
    parser.add_argument("--stills", default=",".join(EVAL_STILLS),
                        help="stills to score (default: the held-out ones; others only to check tuning)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    tmos = args.tmos.split(",")
    stills = args.stills.split(",")
    missing = [n for n in stills if not (args.data / f"{n}.exr").is_file()]
    if missing:
        print(f"{args.data}: missing the stills {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.flicker_only:
        moves = shot_flicker(tmos, args.data, stills, args.frames)
        width = max(10, *(len(n) + 1 for n in tmos))
        print(f"flicker on {len(MOTIONS) * len(stills)} synth shots of {args.frames} frames "
              f"({', '.join(stills)}; PU21 units: at the same pixels / motion-compensated)")
        for name in tmos:
            print(f"{name:<{width}}{moves[name][0]:10.3f}{moves[name][1]:10.3f}")
        return 0
    if not args.skip_quality:
        frames = test_frames(args.data, stills)
        scores = quality(tmos, frames)
        moves = shot_flicker(tmos, args.data, stills, args.frames)
        evs = ", ".join(f"{e:+.0f}" for e in EXPOSURES_EV)
        held_out = "held-out" if set(stills) <= set(EVAL_STILLS) else "TUNING (not held-out)"
        print(f"TMQI on {len(frames)} {held_out} frames ({', '.join(stills)}; whole and centre crop; "
              f"{evs} EV), flicker on {len(MOTIONS) * len(stills)} synth shots of {args.frames} frames "
              "(PU21 units: at the same pixels / motion-compensated)")
        width = max(10, *(len(n) + 1 for n in tmos))
        header = f"{'tmo':<{width}}{'Q':>8}{'S':>8}{'N':>8}" + "".join(f"{'Q ' + n:>14}" for n in stills)
        print(header + f"{'flicker':>10}{'warped':>10}")
        for name in tmos:
            rows = scores[name]
            per_still = [statistics.fmean(s.q for s, (label, _) in zip(rows, frames, strict=True)
                                          if label.startswith(still)) for still in stills]
            means = [statistics.fmean(getattr(s, term) for s in rows) for term in ("q", "s", "n")]
            cells = "".join(f"{m:8.4f}" for m in means) + "".join(f"{q:14.4f}" for q in per_still)
            print(f"{name:<{width}}{cells}{moves[name][0]:10.3f}{moves[name][1]:10.3f}")
        best = max(tmos, key=lambda n: statistics.fmean(s.q for s in scores[n]))
        if "deep" in tmos and PEER in tmos:
            verdict = "met" if best == "deep" and moves["deep"][0] <= moves[PEER][0] else "NOT met"
            print(f"best TMQI: {best}; goal (deep best, flicker <= {PEER}): {verdict}")
    still = load_still(args.data / f"{stills[0]}.exr")
    timings = speed_ms(tmos, still, args.device, args.repeats)
    goal = GOAL_CUDA_MS if args.device == "cuda" else GOAL_CPU_MS
    threads = f", {torch.get_num_threads()} thread(s)" if args.device == "cpu" else ""
    print(f"1920x1080 on {args.device}{threads}, median of {args.repeats}:")
    for name in tmos:
        ratio = timings[name] / timings[PEER] if PEER in timings else float("nan")
        print(f"{name:<10}{timings[name]:9.1f} ms  {ratio:6.2f}x {PEER}")
    if "deep" in timings:
        print(f"deep goal <= {goal:.0f} ms: {'met' if timings['deep'] <= goal else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
