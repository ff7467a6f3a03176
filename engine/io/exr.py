"""OpenEXR stills: read a layer as linear BT.2020, write a frame atomically.

The attributes honoured are the standard ones of the OpenEXR "Technical Introduction" (standard
attributes section): `chromaticities` (the CIE xy of the file's RGB primaries and white, Rec. 709
when absent), `whiteLuminance` (cd/m² of RGB = (1, 1, 1)), `dataWindow` inside `displayWindow`
(pixels outside the data window are black) and `framesPerSecond`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import OpenEXR
import torch
from torch import Tensor

from engine.color.primaries import BT709, BT2020, PRIMARIES, Primaries, convert_primaries, describes_rgb_space
from engine.errors import FormatError, MediaError, OutputError
from engine.io.atomic import AtomicOutput, disk_full_reason
from engine.io.limits import check_image_size

COMPRESSIONS = {
    "none": OpenEXR.NO_COMPRESSION, "rle": OpenEXR.RLE_COMPRESSION, "zips": OpenEXR.ZIPS_COMPRESSION,
    "zip": OpenEXR.ZIP_COMPRESSION, "piz": OpenEXR.PIZ_COMPRESSION, "pxr24": OpenEXR.PXR24_COMPRESSION,
    "b44": OpenEXR.B44_COMPRESSION, "b44a": OpenEXR.B44A_COMPRESSION, "dwaa": OpenEXR.DWAA_COMPRESSION,
    "dwab": OpenEXR.DWAB_COMPRESSION,
}
_HALF_MAX = 65504.0  # IEEE 754 binary16: larger values would be stored as +Inf
_RGB = ("R", "G", "B")


@dataclass(frozen=True)
class ExrInfo:
    """What read_exr found: geometry, channels, colour attributes and how many values it fixed."""

    width: int
    height: int
    layer: str  # '' for the root R, G, B channels
    layers: tuple[str, ...]  # every layer with R, G and B channels ('' = root)
    channels: tuple[str, ...]
    pixel_type: str  # 'half' | 'float' | 'uint'
    compression: str
    chromaticities: Primaries  # as stored (the returned frame is converted to BT.2020)
    white_luminance: float | None
    fps: Fraction | None
    non_finite: int  # NaN and ±Inf values found
    replaced: int  # values changed: NaN -> 0, +Inf -> largest finite, negative and -Inf -> 0


def compression_name(value: object) -> str:
    """OpenEXR.ZIP_COMPRESSION -> 'zip' (the names exrheader prints)."""
    names = {v: k for k, v in COMPRESSIONS.items()}
    return names.get(value, str(value).rsplit(".", 1)[-1].removesuffix("_COMPRESSION").lower())


def _primaries_from_attribute(chroma: tuple[float, ...] | None) -> Primaries:
    """The `chromaticities` attribute as Primaries, named after a known space when it is one."""
    if chroma is None:
        return BT709
    # The attribute is stored as float32: compare at that precision.
    stored = tuple(round(float(v), 4) for v in chroma)
    for p in PRIMARIES.values():
        if stored == tuple(round(v, 4) for v in (*p.red, *p.green, *p.blue, *p.white)):
            return p
    c = [float(v) for v in chroma]
    return Primaries("custom", (c[0], c[1]), (c[2], c[3]), (c[4], c[5]), (c[6], c[7]))


def _layer_of(channel: str) -> tuple[str, str]:
    """'diffuse.R' -> ('diffuse', 'R'); 'R' -> ('', 'R')."""
    layer, _, name = channel.rpartition(".")
    return layer, name


def _rgb_layers(names: list[str]) -> dict[str, dict[str, str]]:
    """Layer -> {'R': channel, 'G': ..., 'B': ...} for every layer holding all three (any case)."""
    found: dict[str, dict[str, str]] = {}
    for channel in names:
        layer, name = _layer_of(channel)
        if name.upper() in _RGB:
            found.setdefault(layer, {})[name.upper()] = channel
    return {layer: chans for layer, chans in found.items() if len(chans) == 3}


def _window_size(header: dict, name: str, path: Path) -> tuple[int, int]:
    """(width, height) of a dataWindow or displayWindow attribute, checked against the limits."""
    try:
        (x0, y0), (x1, y1) = (tuple(int(v) for v in corner) for corner in header[name])
    except (KeyError, TypeError, ValueError):
        raise MediaError(f"no valid {name} in the header", path) from None
    width, height = x1 - x0 + 1, y1 - y0 + 1
    check_image_size(width, height, path)
    return width, height


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _check_attributes(header: dict, path: Path) -> None:
    """The standard attributes read here hold the types the Technical Introduction gives them
    (a file may store any type under any name: the binding hands those over as opaque data)."""
    chroma = header.get("chromaticities")
    if chroma is not None and not (isinstance(chroma, (tuple, list)) and len(chroma) == 8
                                   and all(_is_number(v) for v in chroma)):
        raise FormatError("the chromaticities attribute is not 8 numbers", path)
    white = header.get("whiteLuminance")
    if white is not None and not (_is_number(white) and math.isfinite(white) and white > 0):
        # No repr of the value: the binding's repr of opaque data decodes it as UTF-8.
        raise FormatError("the whiteLuminance attribute is not a positive number", path)
    fps = header.get("framesPerSecond")
    if fps is not None and not (isinstance(fps, Fraction) and fps > 0):
        raise FormatError("the framesPerSecond attribute is not a positive rational", path)
    for name in ("dataWindow", "displayWindow"):
        _window_size(header, name, path)


def _open(path: Path) -> OpenEXR.File:
    """The file with its pixels, once every part's header has passed _check_attributes (the
    binding allocates each channel's whole data window before reading a scanline)."""
    if not path.is_file():
        raise MediaError("no such EXR file", path)
    if not OpenEXR.isOpenExrFile(str(path)):
        raise MediaError("not an OpenEXR file", path)
    try:
        parts = OpenEXR.File(str(path), header_only=True).parts
    except Exception as exc:
        raise MediaError(f"unreadable OpenEXR header ({exc})", path) from exc
    for part in parts:
        _check_attributes(part.header, path)
    try:
        return OpenEXR.File(str(path), separate_channels=True)
    except Exception as exc:  # the binding raises plain RuntimeError for truncated or corrupt data
        raise MediaError(f"unreadable OpenEXR data ({exc})", path) from exc


def _place_in_display_window(data: np.ndarray, header: dict) -> np.ndarray:
    """Pad or crop (3, h, w) data-window pixels to the display window, black outside the data."""
    (dx0, dy0), (dx1, dy1) = (tuple(int(v) for v in corner) for corner in header["dataWindow"])
    (wx0, wy0), (wx1, wy1) = (tuple(int(v) for v in corner) for corner in header["displayWindow"])
    if (dx0, dy0, dx1, dy1) == (wx0, wy0, wx1, wy1):
        return data
    out = np.zeros((3, wy1 - wy0 + 1, wx1 - wx0 + 1), dtype=data.dtype)
    x0, y0, x1, y1 = max(dx0, wx0), max(dy0, wy0), min(dx1, wx1), min(dy1, wy1)
    if x0 <= x1 and y0 <= y1:
        out[:, y0 - wy0 : y1 - wy0 + 1, x0 - wx0 : x1 - wx0 + 1] = data[
            :, y0 - dy0 : y1 - dy0 + 1, x0 - dx0 : x1 - dx0 + 1
        ]
    return out


def sanitize(data: np.ndarray, path: Path, strict: bool) -> tuple[np.ndarray, int, int]:
    """Replace NaN -> 0, +Inf -> the largest finite value, negatives and -Inf -> 0.

    Returns (data, non-finite count, replaced count). With `strict`, any NaN or Inf raises
    FormatError instead, so a render refuses the frame rather than inventing pixels.
    """
    finite = np.isfinite(data)
    non_finite = int(data.size - np.count_nonzero(finite))
    if strict and non_finite:
        raise FormatError(f"contains {non_finite} NaN/Inf values", path)
    negative = int(np.count_nonzero(finite & (data < 0)))
    if not non_finite and not negative:
        return data, 0, 0
    largest = float(data[finite].max()) if finite.any() else 0.0
    clean = np.nan_to_num(data, nan=0.0, posinf=max(largest, 0.0), neginf=0.0)
    return np.maximum(clean, 0.0, out=clean), non_finite, non_finite + negative


def read_exr(path: str | Path, layer: str | None = None, *, strict: bool = False) -> tuple[Tensor, ExrInfo]:
    """Read a layer's R, G, B as a (3, H, W) float32 tensor of linear BT.2020 values.

    `layer` is a channel prefix ('diffuse' for 'diffuse.R'...); None takes the root R, G, B, or
    the only RGB layer, or a luminance-only 'Y' image as grey. Values keep the file's scale
    (1.0 = ExrInfo.white_luminance cd/m² when set). Alpha and other channels are ignored.
    Multi-part files are searched part by part for the layer.
    """
    path = Path(path)
    exr = _open(path)
    if not exr.parts or any(len(p.channels) < len(p.header.get("channels", [])) for p in exr.parts):
        # The binding warns on stderr and drops what it cannot decode instead of raising.
        raise MediaError("truncated or corrupt pixel data", path)
    for part in exr.parts:
        header, channels = part.header, part.channels
        layers = _rgb_layers(list(channels))
        only = next(iter(layers)) if len(layers) == 1 else ""
        wanted = layer if layer is not None else only
        if wanted in layers:
            picked = [channels[layers[wanted][c]] for c in _RGB]
            break
        if layer is None and "Y" in channels and not layers:
            picked, wanted = [channels["Y"]] * 3, ""
            break
    else:
        available = sorted({name for part in exr.parts for name in part.channels})
        what = f"no layer {layer!r} with R, G, B channels" if layer is not None else "no R, G, B channels"
        raise FormatError(f"{what} (channels: {', '.join(available)})", path)
    if any(c.xSampling != 1 or c.ySampling != 1 for c in picked):
        raise FormatError("subsampled R, G, B channels are not supported", path)
    pixel_type = str(picked[0].type()).rsplit(".", 1)[-1].lower()
    data = np.stack([c.pixels.astype(np.float32) for c in picked])
    data, non_finite, replaced = sanitize(data, path, strict)
    data = _place_in_display_window(data, header)
    chroma = _primaries_from_attribute(header.get("chromaticities"))
    if not describes_rgb_space(chroma):
        raise FormatError(f"chromaticities {header.get('chromaticities')} are no RGB space", path)
    # Converting to BT.2020 can push colours outside BT.2020 below zero; the engine's working
    # space holds no negative light, so they are clipped to the gamut.
    frame = convert_primaries(torch.from_numpy(np.ascontiguousarray(data)), chroma, BT2020).clamp_min(0.0)
    white = header.get("whiteLuminance")
    fps = header.get("framesPerSecond")
    info = ExrInfo(
        width=data.shape[2],
        height=data.shape[1],
        layer=wanted,
        layers=tuple(sorted(layers)),
        channels=tuple(sorted(channels)),
        pixel_type=pixel_type,
        compression=compression_name(header.get("compression")),
        chromaticities=chroma,
        white_luminance=None if white is None else float(white),
        fps=None if fps is None else Fraction(fps),  # the binding gives rationals as Fraction
        non_finite=non_finite,
        replaced=replaced,
    )
    return frame.contiguous(), info


def read_exr_header(path: str | Path) -> dict:
    """The first part's header attributes (no pixels), for probing."""
    path = Path(path)
    if not path.is_file() or not OpenEXR.isOpenExrFile(str(path)):
        raise MediaError("not an OpenEXR file", path)
    try:
        header = OpenEXR.File(str(path), header_only=True).header()
    except Exception as exc:
        raise MediaError(f"unreadable OpenEXR header ({exc})", path) from exc
    _check_attributes(header, path)
    return header


def write_exr(
    path: str | Path,
    frame: Tensor,
    *,
    compression: str = "zip",
    half: bool = True,
    chromaticities: Primaries = BT2020,
    white_luminance: float | None = None,
) -> None:
    """Write a (3, H, W) frame as an RGB scanline OpenEXR, atomically.

    The values are written as given: the caller divides nits by its chosen nits-per-unit first
    and records that choice in `white_luminance` (cd/m² of RGB = 1), and `chromaticities`
    names the primaries the data are in. Half floats saturate at 65504 rather than turn into
    +Inf. The file appears under its name only when complete (temporary name + os.replace).
    """
    path = Path(path)
    if frame.ndim != 3 or frame.shape[0] != 3:
        raise OutputError(f"expected a (3, H, W) frame, got shape {tuple(frame.shape)}", path)
    if compression not in COMPRESSIONS:
        raise OutputError(f"unknown EXR compression {compression!r} (one of {', '.join(COMPRESSIONS)})", path)
    data = frame.detach().to("cpu", torch.float32).permute(1, 2, 0).contiguous().numpy()
    pixels = np.clip(data, -_HALF_MAX, _HALF_MAX).astype(np.float16) if half else data
    p = chromaticities
    header: dict = {
        "compression": COMPRESSIONS[compression],
        "type": OpenEXR.scanlineimage,
        "chromaticities": (*p.red, *p.green, *p.blue, *p.white),
    }
    if white_luminance is not None:
        header["whiteLuminance"] = float(white_luminance)
    with AtomicOutput(path) as temp:
        try:
            OpenEXR.File(header, {"RGB": pixels}).write(str(temp))
        except RuntimeError as exc:  # the binding reports I/O failures as RuntimeError
            if full := disk_full_reason(str(exc)):
                raise OutputError(f"disk full while writing ({full})", path) from None
            raise OutputError(f"cannot write OpenEXR ({exc})", path) from exc
