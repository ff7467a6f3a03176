"""Wall time of a render queue: single-process renders (the peer), the local pool at 1 and 2
workers, and a local Ray cluster, with the scaling ratios.

    .venv/bin/python -m bench.batch [--clips 3] [--frames 48] [--size 1280x720] [--chunk-frames 24]
                                    [--format hdr10] [--itm bt2408] [--ray-cpus 2] [--json FILE]

The clips are generated (moving gradients with highlights, H.264 4:2:0, BT.709), so the renders
take the fused processor, as real SDR footage does. Each clip is one job with one deliverable,
split into chunks of --chunk-frames; an HDR10 job measures MaxCLL/MaxFALL chunk by chunk
before it encodes. Every figure is the wall time of the whole run as a user sees it: worker
start-up (spawn, imports, the processor's kernels compiled once per process), the analysis
pass, the encodes and the joins. The peer renders the same clips one after the other in this
process with engine.render.render (its analysis pass spools the planes instead of rendering
twice). Ratios: peer / queue (above 1: the queue is faster) and 1 worker / 2 workers (the
scaling of the pool; 2 at best).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import numpy as np

from engine.batch.executors import LocalExecutor, RayExecutor
from engine.batch.plan import Job, Output
from engine.batch.run import run_queue
from engine.batch.state import QueueState
from engine.deliverables import DELIVERABLES
from engine.grade import Grade, OperatorChoice
from engine.render import render


def write_clip(path: Path, frames: int, size: tuple[int, int], seed: int) -> Path:
    """H.264 4:2:0 BT.709 test footage: a moving gradient, noise, and a clipped highlight."""
    width, height = size
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 235, width, dtype=np.float32)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=24, options={"crf": "16", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.color_primaries = stream.codec_context.color_trc = 1
        stream.codec_context.colorspace = 1
        for i in range(frames):
            rgb = np.roll(ramp, 7 * i)[None, :, None] * np.ones((height, 1, 3), np.float32)
            rgb += rng.normal(0, 2, (height, 1, 3)).astype(np.float32)
            rgb[height // 4:height // 2, width // 3 + 4 * i:width // 2 + 4 * i] = 255
            frame = av.VideoFrame.from_ndarray(rgb.clip(0, 255).astype(np.uint8), format="rgb24")
            for packet in stream.encode(frame.reformat(format="yuv420p", dst_colorspace="itu709")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def run(executor: Any, jobs: list[Job], folder: Path) -> float:
    """Wall seconds of one queue run from nothing: a fresh state file, no outputs."""
    for job in jobs:
        for output in job.outputs:
            output.path.unlink(missing_ok=True)
    state = folder / "state.json"
    state.unlink(missing_ok=True)
    started = time.perf_counter()
    try:
        run_queue(jobs, executor, QueueState(state))
    finally:
        executor.close()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=3)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--chunk-frames", type=int, default=24)
    parser.add_argument("--format", default="hdr10", choices=tuple(DELIVERABLES))
    parser.add_argument("--itm", default="bt2408")
    parser.add_argument("--ray-cpus", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    grade = Grade(itm=OperatorChoice(args.itm))
    grade = grade.replace(output=grade.output.__class__(**{**grade.output.__dict__, "format": args.format}))
    suffix = DELIVERABLES[args.format].extension
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        size = (width, height)
        clips = [write_clip(folder / f"clip{i}.mp4", args.frames, size, i) for i in range(args.clips)]
        jobs = [Job(c.stem, c, (0, args.frames), (Output(folder / f"{c.stem}_out{suffix}", grade),),
                    args.chunk_frames) for c in clips]
        frames = args.clips * args.frames
        print(f"{args.clips} clips x {args.frames} frames at {args.size}, {args.format}, chunks of "
              f"{args.chunk_frames}; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}", flush=True)

        started = time.perf_counter()
        for clip in clips:
            render(clip, folder / f"{clip.stem}_single{suffix}", grade)
        figures = {"single process (peer)": time.perf_counter() - started}
        print(f"  single process (peer): {figures['single process (peer)']:7.1f} s", flush=True)
        for workers in (1, 2):
            name = f"local pool, {workers} worker{'s' if workers > 1 else ''}"
            figures[name] = run(LocalExecutor(workers), jobs, folder)
            print(f"  {name}: {figures[name]:7.1f} s", flush=True)
        import ray

        ray.init(num_cpus=args.ray_cpus, include_dashboard=False, log_to_driver=False)
        try:
            name = f"local Ray cluster, {args.ray_cpus} CPUs"
            figures[name] = run(RayExecutor(), jobs, folder)
            print(f"  {name}: {figures[name]:7.1f} s", flush=True)
        finally:
            ray.shutdown()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    peer = figures["single process (peer)"]
    print(f"\n{'run':<28}{'wall s':>9}{'frames/s':>10}{'peer / run':>12}")
    for name, seconds in figures.items():
        print(f"{name:<28}{seconds:9.1f}{frames / seconds:10.2f}{peer / seconds:12.2f}")
    scaling = figures["local pool, 1 worker"] / figures["local pool, 2 workers"]
    print(f"\nscaling of the local pool, 1 -> 2 workers: {scaling:.2f}x (2.00 at best)")
    if args.json:
        result = {"figures": figures, "scaling_1_to_2": scaling, "frames": frames}
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
