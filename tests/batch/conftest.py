"""Small real media for the batch tests: R'G'B' clips with an optional audio track, queue files.

The clips are lossless H.264 in R'G'B' (libx264rgb), so every render takes the stage path: the
fused processor's numba kernels are generated and compiled in each process that first meets a
chain (seconds per worker), a start-up cost the benchmark counts and these tests need not pay.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import av
import numpy as np

SIZE = (128, 72)
AUDIO_RATE = 48000


def write_rgb_clip(path: Path, frames: int, seed: int, fps: int = 24, audio: bool = False,
                   timecode: str | None = None) -> Path:
    """`frames` frames of SIZE: a gradient that moves, random per clip, and highlights at code 255.

    With `audio`, a stereo 16-bit PCM tone as long as the video; with `timecode`, that start timecode.
    """
    rng = np.random.default_rng(seed)
    width, height = SIZE
    ramp = np.linspace(0, 255, width, dtype=np.float32)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264rgb", rate=fps, options={"qp": "0", "preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = width, height, "rgb24"
        if timecode is not None:
            video.metadata["timecode"] = timecode
        sound = out.add_stream("pcm_s16le", rate=AUDIO_RATE, layout="stereo") if audio else None
        tint = rng.uniform(0.5, 1.0, 3).astype(np.float32)
        for i in range(frames):
            rgb = np.roll(ramp, 3 * i)[None, :, None] * tint * np.ones((height, 1, 1), np.float32)
            rgb[10:30, 20 + i:40 + i] = 255.0  # a clipped highlight that moves
            frame = av.VideoFrame.from_ndarray(rgb.clip(0, 255).astype(np.uint8), format="rgb24")
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            samples = AUDIO_RATE * frames // fps
            tone = (8000 * np.sin(np.arange(samples) * 2 * np.pi * 440 / AUDIO_RATE)).astype(np.int16)
            chunk = 1024
            for first in range(0, samples, chunk):
                part = np.repeat(tone[first:first + chunk], 2)[None, :]
                audio_frame = av.AudioFrame.from_ndarray(part, format="s16", layout="stereo")
                audio_frame.sample_rate = AUDIO_RATE
                for packet in sound.encode(audio_frame):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
    return path


def write_queue(path: Path, jobs: list[dict[str, Any]], **extra: Any) -> Path:
    path.write_text(json.dumps({"lumigrade_queue": 1, **extra, "jobs": jobs}), encoding="utf-8")
    return path


def write_grade(path: Path, itm: str = "bt2408") -> Path:
    path.write_text(json.dumps({"version": 1, "itm": {"name": itm, "params": {}}}), encoding="utf-8")
    return path


def ffprobe(path: Path, *args: str) -> dict[str, Any]:
    cmd = ["ffprobe", "-v", "error", "-of", "json", *args, str(path)]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def decoded_planes(path: Path) -> list[np.ndarray]:
    """Every frame of a video's first stream as its raw planes, concatenated."""
    with av.open(str(path)) as container:
        return [np.concatenate([np.frombuffer(p, np.uint8) for p in frame.planes])
                for frame in container.decode(video=0)]


def light_levels(path: Path) -> tuple[int, int]:
    """(MaxCLL, MaxFALL) of the first frame's CTA-861.3 SEI, as ffprobe reads them."""
    side = ffprobe(path, "-select_streams", "v", "-show_frames", "-read_intervals", "%+#1",
                   "-show_entries", "frame=side_data_list")
    kinds = {d["side_data_type"]: d for d in side["frames"][0]["side_data_list"]}
    level = kinds["Content light level metadata"]
    return int(level["max_content"]), int(level["max_average"])
