"""Throughput of the render path, side by side with the ffmpeg CLI doing the same conversion.

1. decode -> linearise -> ITM (BT.2408) -> PQ 10-bit 4:2:0 Y'CbCr planes, no encoding, as the
   render runs it (decoded planes through the per-pixel processor, decoding in its own thread);
   peer: ffmpeg -vf zscale (linearise, BT.2020, PQ, 10-bit 4:2:0) -f null.
2. a full HDR10 export (x265, same preset and CRF), engine.render.render;
   peer: ffmpeg with zscale and libx265.
3. peak memory of an HDR10 render of a 4096x4096 input, in a child process; beside it, the
   ffmpeg peer's (zscale + x265, the same preset and x265 settings) and x265's own floor: a child
   that imports nothing but numpy and PyAV and hands x265 the same number of frames.
4. with CUDA: the same chain on the GPU (torch back end) at 3840x2160, decode excluded.

Prints frames per second of both and the ratio (ours / ffmpeg). Goals on the 2-core machine:
>= 0.5x without encoding, >= 0.9x with encoding, < 1 GB peak for 4096x4096; on CUDA, 4K60
excluding decode.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from engine.color.ycbcr import BT2020_NCL
from engine.deliverables import DELIVERABLES
from engine.grade import Grade, OperatorChoice, OutputSettings
from engine.io.encode import x265_size_params
from engine.io.open import open_clip
from engine.pipeline import Pipeline
from engine.prefetch import prefetched
from engine.processor.formats import TargetFormat
from engine.render import render

PRESET = "medium"
CRF = 18
# The memory render: x265 holds ~265 MB per 4096x4096 frame in flight whatever the settings
# (docs/architecture.md, "Memory of large renders"); the ffmpeg peer's peak is printed beside ours.
MEMORY_SIZE = "4096x4096"
MEMORY_PRESET = "ultrafast"
MEMORY_FRAMES = 3
# The chain: BT.2408 placement (the default grade expands with masked-cnn, a spatial ITM).
BT2408_GRADE = Grade(itm=OperatorChoice("bt2408"))


def make_clip(path: Path, size: str, frames: int) -> None:
    """A moving test pattern with clipped highlights, H.264 8-bit BT.709, like camera footage."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc2=size={size}:rate=25:duration={frames / 25}",
         "-vf", "eq=brightness=0.15:contrast=1.3", "-frames:v", str(frames),
         "-c:v", "libx264", "-preset", "ultrafast", "-crf", "16", "-pix_fmt", "yuv420p",
         "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", str(path)],
        check=True,
    )


ZSCALE = ("zscale=transfer=linear:npl=203,format=gbrpf32le,"
          "zscale=primaries=2020:transfer=smpte2084:matrix=2020_ncl:npl=203,format=yuv420p10le")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# The HDR10 deliverable's planes (top-left chroma siting, engine.deliverables), so the no-encode
# figure times the kernel the HDR10 render runs, and its warm-up compiles that kernel.
_HDR10 = DELIVERABLES["hdr10"]
HDR10_PLANES = TargetFormat(_HDR10.bits, BT2020_NCL, False, _HDR10.subsample, _HDR10.chroma_siting)


def ours_no_encode(path: Path) -> int:
    """The render's per-pixel path without the encoder: decoded planes -> HDR10 code planes."""
    with open_clip(path) as clip:
        processor = Pipeline(BT2408_GRADE, clip, "cpu").processor("pq", HDR10_PLANES)
        assert processor is not None, "the default grade runs on the processor"
        n = 0
        for index, planes in prefetched(clip.planes()):  # type: ignore[attr-defined]
            processor(index, planes)
            n += 1
        return n


def cuda_4k_fps(frames: int = 60) -> float:
    """The default grade's optimised chain on CUDA (torch back end), 3840x2160, decode excluded."""
    from engine.color.primaries import BT709 as P709
    from engine.color.ycbcr import BT709
    from engine.display import pq_view
    from engine.input_transform import InputTransform
    from engine.operators.base import StageContext
    from engine.operators.catalogue import make_operator
    from engine.processor import torch_backend
    from engine.processor.build import build_chain
    from engine.processor.formats import SourceFormat
    from engine.processor.optimise import optimise

    source = SourceFormat(8, False, BT709)
    gain = make_operator("itm", "bt2408").bake(StageContext())
    chain = optimise(build_chain(InputTransform("bt1886", 2.4, P709), source, pq_view(1000.0), HDR10_PLANES,
                                 gain))
    codes = torch.randint(16, 236, (3, 2160, 3840), device="cuda", dtype=torch.uint8)
    torch_backend.run(chain, codes, subsample=True)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(frames):
        torch_backend.run(chain, codes, subsample=True)
    torch.cuda.synchronize()
    return frames / (time.perf_counter() - start)


def ffmpeg_no_encode(path: Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vf", ZSCALE, "-f", "null", "-"], check=True)


def ffmpeg_hdr10_command(path: Path, out: Path, size: str, preset: str = PRESET) -> list[str]:
    """The peer's HDR10 encode, with the frame-size-dependent x265 settings our writer uses."""
    params = ":".join([
        "hdr10=1:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:"
        "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):"
        "max-cll=1000,400:log-level=error", *x265_size_params(preset, *map(int, size.split("x")))])
    return ["ffmpeg", "-v", "error", "-y", "-i", str(path), "-vf", ZSCALE, "-c:v", "libx265",
            "-preset", preset, "-crf", str(CRF), "-x265-params", params, str(out)]


def ffmpeg_hdr10(path: Path, out: Path, size: str) -> None:
    subprocess.run(ffmpeg_hdr10_command(path, out, size), check=True)


def ffmpeg_peak_memory(path: Path, out: Path, size: str) -> float:
    """Peak RSS in MB of the ffmpeg peer's HDR10 encode (zscale + x265) at the memory render's
    preset: measured by a child whose only child is ffmpeg (RUSAGE_CHILDREN)."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    command = ffmpeg_hdr10_command(path, out, size, MEMORY_PRESET)
    res = subprocess.run([sys.executable, "-c", code, *command], check=True, capture_output=True, text=True)
    return int(res.stdout.strip().splitlines()[-1]) / 1024.0


def x265_floor_memory(out: Path, size: str, frames: int) -> float:
    """Peak RSS in MB of a child importing only numpy and PyAV that encodes `frames` mid-grey
    10-bit 4:2:0 frames of `size` with libx265 at the memory render's preset and size settings:
    what x265 itself holds, which no render that encodes in-process can go below."""
    params = ":".join(["log-level=error", *x265_size_params(MEMORY_PRESET, *map(int, size.split("x")))])
    code = (
        "import resource, sys, av, numpy as np\n"
        "out, w, h, n, preset, params = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), "
        "sys.argv[5], sys.argv[6]\n"
        "with av.open(out, 'w') as box:\n"
        "    s = box.add_stream('libx265', rate=25)\n"
        "    s.width, s.height, s.pix_fmt = w, h, 'yuv420p10le'\n"
        "    s.options = {'preset': preset, 'crf': '18', 'x265-params': params}\n"
        "    for _ in range(n):\n"
        "        frame = av.VideoFrame(w, h, 'yuv420p10le')\n"
        "        for plane in frame.planes:\n"
        "            plane.update(np.full(plane.buffer_size // 2, 512, np.uint16).tobytes())\n"
        "        for packet in s.encode(frame):\n"
        "            box.mux(packet)\n"
        "    for packet in s.encode():\n"
        "        box.mux(packet)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    width, height = size.split("x")
    command = [sys.executable, "-c", code, str(out), width, height, str(frames), MEMORY_PRESET, params]
    res = subprocess.run(command, check=True, capture_output=True, text=True)
    return int(res.stdout.strip().splitlines()[-1]) / 1024.0


def peak_memory_child(path: Path, out: Path) -> float:
    """Peak RSS in MB of a child process rendering `path` to HDR10."""
    code = (
        "import resource, sys; from engine.grade import Grade, OperatorChoice, OutputSettings; "
        "from engine.render import render; "
        f"render({str(path)!r}, {str(out)!r}, "
        f"Grade(itm=OperatorChoice('bt2408'), output=OutputSettings(preset={MEMORY_PRESET!r}))); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    res = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(res.stdout.strip().splitlines()[-1]) / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--skip-encode", action="store_true")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        sys.exit("bench/throughput.py needs the ffmpeg CLI (Debian package ffmpeg)")
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        clip = tmpdir / "in.mp4"
        make_clip(clip, args.size, args.frames)
        n = args.frames
        print(f"clip: {args.size}, {n} frames, H.264 8-bit BT.709; torch threads {torch.get_num_threads()}")

        # Warm-up: numba compiles the render's kernels (those of the HDR10 analysis pass too), once
        # per process; the figures below leave that out, and this line says what it costs.
        t_warm = timed(lambda: ours_no_encode(clip))
        if not args.skip_encode:
            warm = BT2408_GRADE.replace(output=OutputSettings(format="hdr10", preset="ultrafast"))
            t_warm += timed(lambda: render(clip, tmpdir / "warm.mp4", warm, frames=(0, 2), device="cpu"))
        print(f"warm-up (one no-encode pass and a 2-frame render; numba compiles the kernels, once per "
              f"process): {t_warm:.1f} s, not counted below")
        t_ours = timed(lambda: ours_no_encode(clip))
        t_ff = timed(lambda: ffmpeg_no_encode(clip))
        results |= {"no_encode_fps": n / t_ours, "no_encode_ffmpeg_fps": n / t_ff}
        print(f"decode->linear->ITM->PQ 10-bit   ours {n / t_ours:7.1f} fps   "
              f"ffmpeg zscale {n / t_ff:7.1f} fps"
              f"   ratio {t_ff / t_ours:.2f}x  (goal >= 0.5x)")
        if torch.cuda.is_available():
            fps = cuda_4k_fps()
            results["cuda_4k_fps"] = fps
            print(f"  on CUDA ({torch.cuda.get_device_name()}): 3840x2160 {fps:7.1f} fps, decode excluded "
                  f"(goal >= 60)")
        else:
            print("  CUDA: no device here, 4K GPU figure not measured")

        if not args.skip_encode:
            grade = BT2408_GRADE.replace(output=OutputSettings(format="hdr10", preset=PRESET, crf=CRF))
            t_ours = timed(lambda: render(clip, tmpdir / "ours.mp4", grade, device="cpu"))
            t_ff = timed(lambda: ffmpeg_hdr10(clip, tmpdir / "ffmpeg.mp4", args.size))
            results |= {"hdr10_fps": n / t_ours, "hdr10_ffmpeg_fps": n / t_ff}
            print(f"full HDR10 export (x265 {PRESET}) ours {n / t_ours:7.2f} fps   ffmpeg {n / t_ff:7.2f} fps"
                  f"   ratio {t_ff / t_ours:.2f}x  (goal >= 0.9x)")

        big = tmpdir / "big.mp4"
        make_clip(big, MEMORY_SIZE, MEMORY_FRAMES)
        mb = peak_memory_child(big, tmpdir / "big_out.mp4")
        peer = ffmpeg_peak_memory(big, tmpdir / "big_ffmpeg.mp4", MEMORY_SIZE)
        floor = x265_floor_memory(tmpdir / "floor.mp4", MEMORY_SIZE, MEMORY_FRAMES)
        results |= {"peak_mb_4096": mb, "peak_mb_4096_ffmpeg": peer, "peak_mb_4096_x265_alone": floor}
        print(f"peak memory, HDR10 render of {MEMORY_SIZE} ({MEMORY_FRAMES} frames): {mb:.0f} MB  "
              f"(goal < 1024 MB)   ffmpeg + zscale + x265 {MEMORY_PRESET}, same x265 settings: {peer:.0f} MB"
              "   "
              f"x265 alone (numpy + PyAV, nothing else imported): {floor:.0f} MB")
    print(json.dumps({k: round(v, 2) for k, v in results.items()}))


if __name__ == "__main__":
    main()
