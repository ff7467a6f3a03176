"""Tiny media generated on the fly: videos from known Y'CbCr code values, index-coded clips."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import av
import numpy as np
import pytest

# Index-coded frames: bit k of the frame index lights block k of the top row of luma.
INDEX_BITS = 6
BLOCK = 8
LUMA_ON, LUMA_OFF = 200, 40


def write_planes_video(
    path: Path,
    frames: Sequence[Sequence[np.ndarray]],
    *,
    codec: str = "ffv1",
    pix_fmt: str = "yuv444p",
    rate: int = 24,
    options: dict[str, str] | None = None,
    color: dict[str, int] | None = None,
    rotation: int | None = None,
) -> Path:
    """Encode frames given as lists of planes (code values, uint8 or uint16) with PyAV.

    `color` sets codec-context colour enums (color_range, colorspace, color_primaries,
    color_trc); `rotation` is the counter-clockwise display-matrix angle.
    """
    height, width = frames[0][0].shape
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = options or {}
        for key, value in (color or {}).items():
            setattr(stream.codec_context, key, value)
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for pts, planes in enumerate(frames):
            frame = av.VideoFrame(width, height, pix_fmt)
            for plane, values in zip(frame.planes, planes, strict=False):
                dtype = values.dtype
                stride = plane.line_size // dtype.itemsize
                rows = np.frombuffer(plane, dtype=dtype).reshape(plane.height, stride)
                rows[:, : plane.width] = values
            frame.pts = pts
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def index_luma(index: int, height: int = 32, width: int = 64) -> np.ndarray:
    luma = np.full((height, width), LUMA_OFF, np.uint8)
    for bit in range(INDEX_BITS):
        if index >> bit & 1:
            luma[:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = LUMA_ON
    # A ramp below the blocks makes every frame differ in more than a few pixels.
    luma[BLOCK:, :] = (np.arange(width) * 2 + index * 3) % 180 + 20
    return luma


def read_index(rgb: np.ndarray) -> int:
    """The index drawn by index_luma, from a decoded (3, H, W) frame in [0, 1]."""
    centre = BLOCK // 2
    threshold = (LUMA_ON + LUMA_OFF) / 2 / 255
    return sum(1 << bit for bit in range(INDEX_BITS) if rgb[1, centre, bit * BLOCK + centre] > threshold)


@pytest.fixture
def index_video(tmp_path: Path) -> Callable[..., Path]:
    """Make an index-coded 4:2:0 clip: (name, count, codec, options) -> path."""

    def make(name: str = "index.mp4", count: int = 20, codec: str = "libx264",
             options: dict[str, str] | None = None) -> Path:
        frames = [
            [index_luma(i), np.full((16, 32), 128, np.uint8), np.full((16, 32), 128, np.uint8)]
            for i in range(count)
        ]
        opts = options if options is not None else {"qp": "0", "g": "5", "bf": "2", "preset": "ultrafast"}
        return write_planes_video(tmp_path / name, frames, codec=codec, pix_fmt="yuv420p", options=opts)

    return make

