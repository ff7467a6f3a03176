"""Small real media made on the fly for the CLI tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest


def write_sdr_clip(path: Path, frames: np.ndarray, fps: int = 25) -> Path:
    """Encode (N, H, W, 3) uint8 sRGB-ish frames as lossless H.264 4:4:4, tagged BT.709."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"qp": "0", "preset": "ultrafast"})
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv444p"
        stream.codec_context.color_primaries = 1
        stream.codec_context.color_trc = 1
        stream.codec_context.colorspace = 1
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            for packet in stream.encode(frame.reformat(format="yuv444p", dst_colorspace="itu709")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture
def white_clip(tmp_path: Path) -> Path:
    """6 frames of 64x48: left half white (code 255), right half mid grey (code 128)."""
    frames = np.zeros((6, 48, 64, 3), np.uint8)
    frames[:, :, :32] = 255
    frames[:, :, 32:] = 128
    return write_sdr_clip(tmp_path / "white.mp4", frames)


def ffprobe(path: Path, *args: str) -> dict:
    cmd = ["ffprobe", "-v", "error", "-of", "json", *args, str(path)]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(res.stdout)
