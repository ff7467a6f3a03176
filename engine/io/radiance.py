"""Radiance RGBE (.hdr / .pic) stills, read as linear BT.2020.

Format: G. Ward, "Real Pixels", Graphics Gems II (1991), and the Radiance file-format notes:
a text header (FORMAT=32-bit_rle_rgbe or 32-bit_rle_xyze, optional EXPOSURE= and PRIMARIES=),
a resolution line, then 4-byte pixels (R, G, B mantissas sharing exponent E), usually with
per-channel run-length encoding of each scanline. Pixels are decoded by OpenCV's reader, which
implements Walter's rgbe.c: value = mantissa * 2^(E - 136), E = 0 meaning black.

Values are divided by the product of the EXPOSURE lines, which Radiance tools multiply in.
Files without PRIMARIES are taken as BT.709/sRGB primaries, as written by HDR photography
tools; XYZE files are CIE XYZ with Radiance's equal-energy white.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor

from engine.color.primaries import (
    BT709,
    BT2020,
    D65,
    Primaries,
    apply_matrix,
    bradford_adaptation,
    convert_primaries,
    describes_rgb_space,
    rgb_to_xyz_matrix,
)
from engine.errors import FormatError, MediaError
from engine.finite import all_finite
from engine.io.limits import check_image_size

_MAGIC = (b"#?RADIANCE", b"#?RGBE")
EQUAL_ENERGY = (1.0 / 3.0, 1.0 / 3.0)
_MAX_HEADER = 64 * 1024


@dataclass(frozen=True)
class RadianceInfo:
    width: int
    height: int
    format: str  # 'rgbe' | 'xyze'
    exposure: float
    primaries: Primaries


def _numbers(path: Path, key: str, value: str, count: int) -> list[float]:
    """`count` finite numbers of a header line, or a FormatError naming the line."""
    try:
        numbers = [float(x) for x in value.split()]
    except ValueError:
        numbers = []
    if len(numbers) != count or not all(math.isfinite(v) for v in numbers):
        raise FormatError(f"bad Radiance {key} line {value.strip()[:40]!r}", path)
    return numbers


def _min_pixel_bytes(width: int, height: int) -> int:
    """The fewest bytes `height` scanlines of `width` pixels take: Walter's rgbe.c reads
    run-length scanlines (4 marker bytes, then per channel a count byte and a value per run of
    up to 127) for widths of 8 to 32767, flat 4-byte pixels otherwise."""
    if 8 <= width <= 0x7FFF:
        return height * (4 + 4 * 2 * -(-width // 127))
    return 4 * width * height


def _parse_header(path: Path, head: bytes) -> tuple[str, float, Primaries, tuple[int, int], int]:
    """(format, exposure, primaries, (height, width), pixel data offset) from the text header
    and the resolution line."""
    if not head.startswith(_MAGIC):
        raise MediaError("not a Radiance RGBE file", path)
    text, sep, rest = head.partition(b"\n\n")
    if not sep:
        raise MediaError("truncated Radiance header", path)
    fmt, exposure, primaries = "rgbe", 1.0, BT709
    for line in text.decode("latin-1").splitlines()[1:]:
        key, _, value = line.partition("=")
        key = key.strip().upper()
        if key == "FORMAT":
            fmt = {"32-bit_rle_rgbe": "rgbe", "32-bit_rle_xyze": "xyze"}.get(value.strip(), "")
            if not fmt:
                raise FormatError(f"unsupported Radiance FORMAT {value.strip()[:40]!r}", path)
        elif key == "EXPOSURE":
            exposure *= _numbers(path, key, value, 1)[0]
        elif key == "PRIMARIES":
            v = _numbers(path, key, value, 8)
            primaries = Primaries("radiance", (v[0], v[1]), (v[2], v[3]), (v[4], v[5]), (v[6], v[7]))
            if not describes_rgb_space(primaries):
                raise FormatError(f"Radiance PRIMARIES {value.strip()[:60]!r} are no RGB space", path)
    if not (math.isfinite(exposure) and exposure > 0):
        raise FormatError(f"Radiance EXPOSURE product {exposure} is not a positive number", path)
    line, newline, _ = rest.partition(b"\n")
    resolution = line.split()
    if len(resolution) != 4 or resolution[0] != b"-Y" or resolution[2] != b"+X":
        raise FormatError(f"unsupported Radiance orientation {b' '.join(resolution)[:40]!r}", path)
    if not (newline and resolution[1].isdigit() and resolution[3].isdigit()):
        raise FormatError(f"bad Radiance resolution line {line[:40]!r}", path)
    height, width = int(resolution[1]), int(resolution[3])
    check_image_size(width, height, path)
    return fmt, exposure, primaries, (height, width), len(text) + 2 + len(line) + 1


def read_radiance(path: str | Path) -> tuple[Tensor, RadianceInfo]:
    """Read a .hdr file as a (3, H, W) float32 tensor of linear BT.2020 values (file units)."""
    path = Path(path)
    if not path.is_file():
        raise MediaError("no such file", path)
    data = path.read_bytes()
    fmt, exposure, primaries, (height, width), offset = _parse_header(path, data[:_MAX_HEADER])
    # Refused before OpenCV allocates the image the resolution line claims.
    if len(data) - offset < _min_pixel_bytes(width, height):
        raise MediaError(f"truncated Radiance pixels ({width}x{height} needs at least "
                         f"{_min_pixel_bytes(width, height)} bytes)", path)
    # OpenCV refuses XYZE headers though the pixel coding is the same: decode them as RGBE.
    buffer = np.frombuffer(data.replace(b"FORMAT=32-bit_rle_xyze", b"FORMAT=32-bit_rle_rgbe", 1), np.uint8)
    bgr = cv2.imdecode(buffer, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR)
    if bgr is None or bgr.shape[:2] != (height, width):
        raise MediaError("unreadable or truncated Radiance pixels", path)
    values = torch.from_numpy(np.ascontiguousarray(bgr[..., ::-1].transpose(2, 0, 1))) / exposure
    if fmt == "xyze":
        # Radiance's XYZ has an equal-energy white; adapt it to BT.2020's D65 like its RGB.
        to_rgb = np.linalg.inv(rgb_to_xyz_matrix(BT2020)) @ bradford_adaptation(EQUAL_ENERGY, D65)
        frame = apply_matrix(values, to_rgb)
    else:
        frame = convert_primaries(values, primaries, BT2020)
    if not all_finite(frame):
        raise FormatError(f"pixels overflow once divided by EXPOSURE {exposure:g}", path)
    return frame.clamp_min(0.0).contiguous(), RadianceInfo(width, height, fmt, exposure, primaries)
