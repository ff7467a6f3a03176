"""Image sequences and stills: PNG, TIFF (8/16-bit), JPEG, DPX, OpenEXR and Radiance frames.

A sequence is named by a pattern, 'shot.%04d.png' (printf) or 'shot.####.png' (one # per digit),
or is a folder of numbered EXR frames. Numbering may start anywhere: index 0 is the first file
on disk, and a gap in the numbering is an error rather than a silently shorter clip.

PNG, TIFF and JPEG are tagged sRGB (IEC 61966-2-1) and full-range R'G'B'; EXR and Radiance
frames are linear BT.2020 (their readers convert from the file's primaries); DPX is decoded by
FFmpeg and tagged from its header (BT.709 when it says nothing).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import cv2
import numpy as np
import torch
from torch import Tensor

from engine.errors import FormatError, MediaError
from engine.io.clip import ClipBase, ClipInfo
from engine.io.exr import read_exr
from engine.io.pixels import format_bits, frame_to_rgb
from engine.io.radiance import read_radiance
from engine.io.tags import LINEAR_BT2020, SRGB_IMAGE, ColorTags, tags_from_stream

# Image sequences carry no rate; 24 fps is the film and DCI default (EXR framesPerSecond wins).
DEFAULT_SEQUENCE_FPS = Fraction(24)
_PATTERN = re.compile(r"%0?(\d*)d|(#+)")
_NUMBERED_EXR = re.compile(r"^(.*?)(\d+)(\.exr)$", re.IGNORECASE)
_CV2_SUFFIXES = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".jpg": "jpeg", ".jpeg": "jpeg"}
_JPEG_END = b"\xff\xd9"


@dataclass(frozen=True)
class Still:
    """One decoded image and what its file says about it."""

    rgb: Tensor  # (3, H, W) float32
    tags: ColorTags
    bit_depth: int
    pixel_format: str
    codec: str
    white_luminance: float | None = None
    fps: Fraction | None = None


def _read_cv2(path: Path, codec: str) -> Still:
    if codec == "jpeg" and not path.read_bytes().rstrip(b"\x00").endswith(_JPEG_END):
        # libjpeg decodes a truncated file with a warning and grey fill; refuse it instead.
        raise MediaError("truncated JPEG (no end-of-image marker)", path)
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise MediaError(f"unreadable or corrupt {codec.upper()} image", path)
    if image.dtype not in (np.uint8, np.uint16):
        raise FormatError(f"unsupported {codec.upper()} sample type {image.dtype} (8 or 16-bit only)", path)
    bits = 8 * image.dtype.itemsize
    if image.ndim == 2:
        rgb = np.stack([image] * 3)
        pixel_format = "gray" if bits == 8 else "gray16"
    else:
        rgb = image[..., 2::-1].transpose(2, 0, 1)  # BGR(A) -> RGB, alpha dropped
        pixel_format = "rgb24" if bits == 8 else "rgb48"
    frame = torch.from_numpy(np.ascontiguousarray(rgb).astype(np.float32)) / float(2**bits - 1)
    return Still(frame, SRGB_IMAGE, bits, pixel_format, codec)


def _read_ffmpeg(path: Path) -> Still:
    """A single image FFmpeg decodes (DPX) through its image2 demuxer."""
    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0), None)
    except (av.error.FFmpegError, StopIteration) as exc:
        raise MediaError(f"unreadable or corrupt image ({exc})", path) from exc
    if frame is None:
        raise MediaError("unreadable or truncated image", path)
    tags = tags_from_stream(frame)
    bits = format_bits(frame.format)
    codec = path.suffix.lower().lstrip(".")
    return Still(frame_to_rgb(frame, tags, path), tags, bits, frame.format.name, codec)


def read_still(path: str | Path, *, strict: bool = True) -> Still:
    """Decode one image file; `strict` refuses EXR NaN/Inf (see engine.io.exr.read_exr)."""
    path = Path(path)
    if not path.is_file():
        raise MediaError("no such file", path)
    try:
        return _decode_still(path, strict)
    except (MediaError, OSError) as exc:
        # A drive unmounted (or a folder renamed) between the check above and the decode
        # makes a decoder report a corrupt file or raise; the true cause is that it is gone.
        if not path.exists():
            raise MediaError("no such file", path) from None
        if isinstance(exc, OSError):
            raise MediaError(f"unreadable ({exc.strerror or exc})", path) from exc
        raise


def _decode_still(path: Path, strict: bool) -> Still:
    suffix = path.suffix.lower()
    if suffix == ".exr":
        frame, info = read_exr(path, strict=strict)
        depth = 16 if info.pixel_type == "half" else 32
        return Still(frame, LINEAR_BT2020, depth, f"{info.pixel_type} rgb", "exr",
                     white_luminance=info.white_luminance, fps=info.fps)
    if suffix in (".hdr", ".pic"):
        frame, _ = read_radiance(path)
        return Still(frame, LINEAR_BT2020, 32, "rgbe", "radiance")
    if suffix in _CV2_SUFFIXES:
        return _read_cv2(path, _CV2_SUFFIXES[suffix])
    return _read_ffmpeg(path)


class ImageSequenceClip(ClipBase):
    """Numbered image files (or one still) as a Clip; every frame must match the first's size."""

    def __init__(self, files: list[Path], path: Path, strict: bool) -> None:
        self.files = files
        self.strict = strict
        first = read_still(files[0], strict=strict)
        _, height, width = first.rgb.shape
        fps = first.fps or DEFAULT_SEQUENCE_FPS
        self._first: Tensor | None = first.rgb
        self.info = ClipInfo(
            path=path, width=width, height=height, frame_count=len(files), fps=fps,
            time_base=1 / fps, tags=first.tags, bit_depth=first.bit_depth,
            pixel_format=first.pixel_format, codec=first.codec, rotation=0, has_audio=False,
            white_luminance=first.white_luminance, chroma_location=None,
        )

    def frame(self, index: int) -> Tensor:
        """Frame `index`: R'G'B' in [0, 1] for integer images, linear BT.2020 for EXR/.hdr."""
        self.check_index(index)
        if index == 0 and self._first is not None:
            return self._first
        rgb = read_still(self.files[index], strict=self.strict).rgb
        if rgb.shape[1:] != (self.info.height, self.info.width):
            size = f"{rgb.shape[2]}x{rgb.shape[1]}"
            raise MediaError(f"frame is {size}, the sequence is {self.info.width}x{self.info.height}",
                             self.files[index])
        return rgb

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, Tensor]]:
        start, stop = self.check_range(start, stop)
        for index in range(start, stop):
            yield index, self.frame(index)


def _contiguous(numbered: list[tuple[int, Path]], what: Path) -> list[Path]:
    """Files sorted by number; a gap in the numbering is a MediaError naming the first hole."""
    numbered.sort()
    for (a, _), (b, _) in itertools.pairwise(numbered):
        if b != a + 1:
            missing = f"{a + 1}" if b == a + 2 else f"{a + 1}-{b - 1}"
            raise MediaError(f"frames {missing} are missing from the sequence", what)
    return [p for _, p in numbered]


def find_sequence_files(pattern: Path) -> list[Path]:
    """The files a '%04d' or '####' pattern names, in frame order."""
    name = pattern.name
    match = _PATTERN.search(name)
    if match is None or _PATTERN.search(name, match.end()):
        raise MediaError("a sequence pattern needs exactly one '%0Nd' or '#...#' field", pattern)
    pad = int(match.group(1) or 1) if match.group(2) is None else len(match.group(2))
    regex = re.compile(re.escape(name[: match.start()]) + r"(\d+)" + re.escape(name[match.end() :]) + "$")
    folder = pattern.parent
    if not folder.is_dir():
        raise MediaError("no such folder", folder)
    numbered = []
    for entry in folder.iterdir():
        m = regex.match(entry.name)
        # '%04d' writes 0042 and 12345 but never 042 or 00042: keep only names the pattern makes.
        if m and m.group(1) == f"{int(m.group(1)):0{pad}d}" and entry.is_file():
            numbered.append((int(m.group(1)), entry))
    if not numbered:
        raise MediaError("no files match the sequence pattern", pattern)
    return _contiguous(numbered, pattern)


def open_sequence(pattern: Path, *, strict: bool = True) -> ImageSequenceClip:
    return ImageSequenceClip(find_sequence_files(pattern), pattern, strict)


def open_directory(folder: Path, *, strict: bool = True) -> ImageSequenceClip:
    """A folder holding one numbered EXR sequence (other files are ignored)."""
    groups: dict[tuple[str, str], list[tuple[int, Path]]] = {}
    for entry in folder.iterdir():
        m = _NUMBERED_EXR.match(entry.name)
        if m and entry.is_file():
            groups.setdefault((m.group(1), m.group(3)), []).append((int(m.group(2)), entry))
    if not groups:
        raise MediaError("the folder holds no numbered EXR frames", folder)
    if len(groups) > 1:
        names = ", ".join(sorted(f"{prefix}#{suffix}" for prefix, suffix in groups))
        raise MediaError(f"the folder holds several EXR sequences ({names}); open one by pattern", folder)
    return ImageSequenceClip(_contiguous(next(iter(groups.values())), folder), folder, strict)


def open_still(path: Path, *, strict: bool = True) -> ImageSequenceClip:
    """A single image as a one-frame clip."""
    return ImageSequenceClip([path], path, strict)


def sequence_pattern_of(frame: Path) -> Path | None:
    """The '%0Nd' pattern of the numbered EXR sequence `frame` belongs to ('shot.0012.exr' ->
    'shot.%04d.exr'), or None when no other frame of it lies beside it."""
    m = _NUMBERED_EXR.match(frame.name)
    if m is None or not frame.is_file():
        return None
    prefix, digits, suffix = m.groups()
    pattern = frame.with_name(f"{prefix}%0{len(digits)}d{suffix}")
    siblings = [e for e in frame.parent.iterdir()
                if e != frame and (n := _NUMBERED_EXR.match(e.name)) is not None
                and (n.group(1), len(n.group(2)), n.group(3)) == (prefix, len(digits), suffix)]
    return pattern if siblings else None
