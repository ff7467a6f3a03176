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
    rgb_to_xyz_matrix,
)
from engine.errors import FormatError, MediaError

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


def _parse_header(path: Path, head: bytes) -> tuple[str, float, Primaries, tuple[int, int]]:
    """(format, exposure, primaries, (height, width)) from the text header and resolution line."""
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
                raise FormatError(f"unsupported Radiance FORMAT {value.strip()!r}", path)
        elif key == "EXPOSURE":
            exposure *= float(value)
        elif key == "PRIMARIES":
            v = [float(x) for x in value.split()]
            primaries = Primaries("radiance", (v[0], v[1]), (v[2], v[3]), (v[4], v[5]), (v[6], v[7]))
    resolution = rest.split(b"\n", 1)[0].split()
    if len(resolution) != 4 or resolution[0] != b"-Y" or resolution[2] != b"+X":
        raise FormatError(f"unsupported Radiance orientation {b' '.join(resolution)!r}", path)
    return fmt, exposure, primaries, (int(resolution[1]), int(resolution[3]))


def read_radiance(path: str | Path) -> tuple[Tensor, RadianceInfo]:
    """Read a .hdr file as a (3, H, W) float32 tensor of linear BT.2020 values (file units)."""
    path = Path(path)
    if not path.is_file():
        raise MediaError("no such file", path)
    data = path.read_bytes()
    fmt, exposure, primaries, (height, width) = _parse_header(path, data[:_MAX_HEADER])
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
    return frame.clamp_min(0.0).contiguous(), RadianceInfo(width, height, fmt, exposure, primaries)
