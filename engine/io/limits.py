"""The largest image a reader accepts, checked from the header before any pixel is allocated.

A file may claim any size in a few bytes (an EXR dataWindow, a Radiance resolution line); the
readers refuse claims beyond these bounds instead of asking for the memory. 2^27 pixels is
16384x8192 (a 16K full-aperture scan), 1.5 GiB as the float32 R, G, B the engine works in;
32768 is the widest side OpenEXR's own tools and Radiance's run-length scanlines handle.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import FormatError

MAX_IMAGE_SIDE = 32768
MAX_IMAGE_PIXELS = 1 << 27


def check_image_size(width: int, height: int, path: str | Path) -> None:
    """FormatError naming the file unless 1 <= width, height <= MAX_IMAGE_SIDE and the pixel
    count is at most MAX_IMAGE_PIXELS."""
    if not (1 <= width <= MAX_IMAGE_SIDE and 1 <= height <= MAX_IMAGE_SIDE):
        raise FormatError(f"the header claims a {width}x{height} image (each side must be 1 to "
                          f"{MAX_IMAGE_SIDE})", path)
    if width * height > MAX_IMAGE_PIXELS:
        raise FormatError(f"the header claims a {width}x{height} image, more than the "
                          f"{MAX_IMAGE_PIXELS} pixels Lumigrade reads", path)
