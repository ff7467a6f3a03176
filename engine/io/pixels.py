"""Decoded PyAV frames (video, DPX) -> R'G'B' code values: exact Y'CbCr -> R'G'B', chroma upsampling.

Decoded planes are converted here rather than by swscale, so the arithmetic is the one of
engine.color.ycbcr (ITU-R BT.601/709/2020 matrices, BT.2100 Table 9 quantisation) at any bit
depth. Chroma is upsampled bilinearly at the stream's sample positions: the ChromaSampleLocType
its H.264/HEVC SPS signals (engine.io.sps), else the format's default: co-sited horizontally
(BT.601/ST 274 4:2:2 and the MPEG-2/H.264/HEVC "left" 4:2:0 default) and midway between rows
vertically for 4:2:0; JPEG-range ('yuvj') formats use centred JFIF siting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import numpy as np
import torch
import torch.nn.functional as tnf
from torch import Tensor

from engine.color.ycbcr import MATRICES, YCbCrMatrix, quantization_scale, ycbcr_to_rgb
from engine.errors import FormatError
from engine.io.tags import ChromaLocation, ColorTags

# Matrices FFmpeg decodes that engine.color.ycbcr does not list (H.273 Table 4 Kr, Kb).
_EXTRA_MATRICES = {
    "fcc": YCbCrMatrix("fcc", 0.30, 0.11),
    "smpte240m": YCbCrMatrix("smpte240m", 0.212, 0.087),
}
_PLANAR_YUV = re.compile(r"^yuva?j?4(44|22|20|40|11|10)p((9|10|12|14|16)le)?$")
# Planar Y'CbCr the per-pixel processor reads as it is decoded (no alpha, 8 to 16 bits).
_RAW_PLANAR = re.compile(r"^yuvj?4(44|22|20)p((9|10|12|14|16)le)?$")
_SUBSAMPLING = {(1, 1): "444", (2, 1): "422", (2, 2): "420", (4, 1): "411", (1, 2): "440", (4, 4): "410"}


def _plane_array(plane: av.video.plane.VideoPlane, dtype: type) -> np.ndarray:
    """A plane's pixels without the line padding, as a (height, width) array view."""
    itemsize = np.dtype(dtype).itemsize
    rows = np.frombuffer(plane, dtype=dtype).reshape(plane.height, plane.line_size // itemsize)
    return rows[:, : plane.width]


def format_bits(fmt: av.VideoFormat) -> int:
    """The deepest component's bit depth: what a frame of this pixel format is quantised to."""
    return max(c.bits for c in fmt.components)


def _linear_axis(c: Tensor, dim: int, n_out: int, factor: int, phase: float) -> Tensor:
    """Upsample axis `dim` of (n, h', w') chroma to n_out samples by linear interpolation.

    Chroma sample k sits on luma position factor*k + phase*(factor - 1): phase 0 is co-sited
    with the first luma sample of its group, 1/2 centred, 1 on the last. Luma samples beyond
    the first or last chroma sample take the edge value.
    """
    if factor == 1:
        return c
    n_in = c.shape[dim]
    out = torch.arange(n_out, dtype=torch.float32, device=c.device)
    pos = ((out - phase * (factor - 1)) / factor).clamp(0.0, n_in - 1)
    i0 = pos.floor().long()
    i1 = (i0 + 1).clamp_max(n_in - 1)
    shape = [1] * c.ndim
    shape[dim] = n_out
    w = (pos - i0).view(shape)
    return c.index_select(dim, i0) * (1.0 - w) + c.index_select(dim, i1) * w


def _double_axis(x: Tensor, dim: int, n_out: int, phase: float) -> Tensor:
    """Upsample axis `dim` (2 or 3) of (1, n, h', w') chroma by 2, sample k on luma 2k + phase.

    torch's kernels sample exactly there: align_corners=False onto 2n' is centred (phase 1/2),
    and align_corners=True onto 2n' - 1 puts sample k on 2k; the one luma sample left over
    repeats the edge, after the last chroma sample (phase 0) or before the first (phase 1).
    Odd sizes are the 2n' result cropped, which keeps the factor exactly 2.
    """
    n = x.shape[dim]
    size = list(x.shape[2:])
    if phase == 0.5:
        size[dim - 2] = 2 * n
        return tnf.interpolate(x, size=size, mode="bilinear", align_corners=False).narrow(dim, 0, n_out)
    size[dim - 2] = 2 * n - 1
    cosited = tnf.interpolate(x, size=size, mode="bilinear", align_corners=True)
    if phase == 0.0:
        doubled = torch.cat((cosited, cosited.narrow(dim, 2 * n - 2, 1)), dim)
    else:
        doubled = torch.cat((cosited.narrow(dim, 0, 1), cosited), dim)
    return doubled.narrow(dim, 0, n_out)


def _upsample_chroma(c: Tensor, height: int, width: int, siting: ChromaLocation) -> Tensor:
    """(n, h', w') chroma -> (n, height, width), bilinear at `siting`'s sample positions.

    The siting's vertical part is ignored without vertical subsampling (4:2:2), and both parts
    scale to the group size of 4:1:1 / 4:1:0 chroma.
    """
    fy = -(-height // c.shape[1])
    fx = -(-width // c.shape[2])
    phase_x, phase_y = siting.phase
    if fy in (1, 2) and fx in (1, 2):
        x = c.unsqueeze(0)
        if fy == 2:
            x = _double_axis(x, 2, height, phase_y)
        if fx == 2:
            x = _double_axis(x, 3, width, phase_x)
        return x[0]
    c = _linear_axis(c, 1, height, fy, phase_y)
    return _linear_axis(c, 2, width, fx, phase_x)


def _ycbcr_linear(matrix: YCbCrMatrix, bits: int, full_range: bool) -> tuple[Tensor, float, float]:
    """(A, luma offset, chroma offset): R'G'B' = A @ (codes - offsets), dequantisation folded in.

    Offsets are taken off the integer codes first, so black and neutral grey decode to exact
    zeros and the float32 product has nothing to cancel.
    """
    luma_scale, luma_offset, chroma_scale, chroma_offset = quantization_scale(bits, full_range)
    steps = torch.tensor([1.0 / luma_scale, 1.0 / chroma_scale, 1.0 / chroma_scale], dtype=torch.float64)
    a = ycbcr_to_rgb(torch.diag(steps).view(3, 3, 1), matrix)[:, :, 0]
    return a.float(), luma_offset, chroma_offset


def _matrix(name: str, path: Path) -> YCbCrMatrix:
    matrix = MATRICES.get(name) or _EXTRA_MATRICES.get(name)
    if matrix is None:
        raise FormatError(f"unsupported Y'CbCr matrix {name!r}", path)
    return matrix


def _canonical_format(fmt: av.VideoFormat) -> str:
    """The planar little-endian format a decoded frame is read from (often its own)."""
    bits = format_bits(fmt)
    deep = "" if bits <= 8 else f"{min(max(bits, 9), 16)}le"
    if fmt.name.startswith(("rgbf", "gbrpf", "grayf")):
        return "gbrpf32le"
    if fmt.is_rgb or fmt.has_palette:
        return f"gbrp{deep}"
    if len(fmt.components) <= 2:  # grey, grey + alpha
        return f"gray{deep}"
    if _PLANAR_YUV.match(fmt.name):
        return fmt.name
    factors = (fmt.width // max(fmt.chroma_width(), 1), fmt.height // max(fmt.chroma_height(), 1))
    sub = _SUBSAMPLING.get(factors)
    return f"yuv{sub or '444'}p{deep}"


@dataclass(frozen=True)
class Planes:
    """A decoded frame's Y'CbCr planes as the decoder wrote them: integer codes, chroma at its own
    size, with what it takes to read them (engine.processor.formats.SourceFormat)."""

    y: np.ndarray
    cb: np.ndarray
    cr: np.ndarray
    bits: int
    full_range: bool
    matrix: YCbCrMatrix
    chroma_location: ChromaLocation


def reads_as_planes(pixel_format: str) -> bool:
    """Whether frames of `pixel_format` decode to planes frame_planes returns (planar Y'CbCr)."""
    return _RAW_PLANAR.match(pixel_format) is not None


def frame_planes(
    frame: av.VideoFrame, tags: ColorTags, path: Path, chroma_location: ChromaLocation | None = None
) -> Planes:
    """A decoded planar Y'CbCr frame (reads_as_planes) as contiguous code planes, no conversion.

    The siting rule is frame_to_rgb's: the signalled one, else the format's default.
    """
    fmt = frame.format
    if not reads_as_planes(fmt.name):
        raise FormatError(f"pixel format {fmt.name!r} is not planar Y'CbCr", path)
    bits = format_bits(fmt)
    dtype = np.uint8 if bits <= 8 else np.dtype("<u2")
    y, cb, cr = (np.ascontiguousarray(_plane_array(p, dtype)) for p in frame.planes[:3])
    if chroma_location is None:
        chroma_location = ChromaLocation.CENTER if "j" in fmt.name else ChromaLocation.LEFT
    return Planes(y, cb, cr, bits, tags.full_range, _matrix(tags.matrix, path), chroma_location)


def frame_to_rgb(
    frame: av.VideoFrame, tags: ColorTags, path: Path, chroma_location: ChromaLocation | None = None
) -> Tensor:
    """A decoded frame -> (3, H, W) float32 non-linear R'G'B' in [0, 1] (linear for float RGB).

    Y'CbCr is dequantised with the tags' range and bit depth, then the tags' matrix is inverted.
    chroma_location: the siting the bitstream signals; None takes the format's default (JFIF
    centring for 'yuvj' formats, else type 0: horizontally co-sited, vertically centred).
    """
    target = _canonical_format(frame.format)
    if target != frame.format.name:
        try:
            frame = frame.reformat(format=target)
        except (ValueError, av.error.FFmpegError) as exc:
            raise FormatError(f"unsupported pixel format {frame.format.name!r}", path) from exc
    fmt = frame.format
    bits = format_bits(fmt)
    if target == "gbrpf32le":
        g, b, r = (_plane_array(p, np.float32) for p in frame.planes[:3])
        return torch.from_numpy(np.stack([r, g, b]))
    dtype = np.uint8 if bits <= 8 else np.dtype("<u2")
    if target.startswith("gbrp"):
        g, b, r = (_plane_array(p, dtype) for p in frame.planes[:3])
        rgb = np.stack([r, g, b]).astype(np.float32)
        rgb *= 1.0 / (2**bits - 1)
        return torch.from_numpy(rgb)
    a, luma_offset, chroma_offset = _ycbcr_linear(_matrix(tags.matrix, path), bits, tags.full_range)
    y = torch.from_numpy(_plane_array(frame.planes[0], dtype).astype(np.float32)).sub_(luma_offset)
    h, w = y.shape
    if target.startswith("gray"):
        chroma = torch.zeros(2, h, w)
    else:
        cbcr = np.stack([_plane_array(p, dtype) for p in frame.planes[1:3]])
        planes = torch.from_numpy(cbcr.astype(np.float32)).sub_(chroma_offset)
        if chroma_location is None:
            chroma_location = ChromaLocation.CENTER if "j" in fmt.name else ChromaLocation.LEFT
        chroma = _upsample_chroma(planes, h, w, chroma_location)
    # One matrix product for the chroma terms and one fused multiply-add for luma.
    rgb = torch.mm(a[:, 1:], chroma.reshape(2, -1)).addcmul_(a[:, :1], y.reshape(1, -1))
    # Y'CbCr outside the nominal range (super-whites, illegal chroma) decodes outside [0, 1].
    return rgb.clamp_(0.0, 1.0).view(3, h, w)
