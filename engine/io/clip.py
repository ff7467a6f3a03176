"""A clip: frame count, rate, colour tags and random access by frame index, whatever the source.

open_clip dispatches on the path: a video file (PyAV), an image or EXR sequence pattern
('shot.%04d.exr' or 'shot.####.exr'), a folder of EXR frames, or a single still (EXR, Radiance
.hdr, PNG, TIFF, JPEG, DPX), which is a one-frame clip.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from torch import Tensor

from engine.errors import MediaError
from engine.io.siting import ChromaLocation
from engine.io.tags import ColorTags

STILL_SUFFIXES = frozenset({".exr", ".hdr", ".pic", ".png", ".tif", ".tiff", ".jpg", ".jpeg", ".dpx"})


@dataclass(frozen=True)
class ClipInfo:
    """What a clip holds. width/height and the frames are after `rotation` (clockwise degrees)."""

    path: Path
    width: int
    height: int
    frame_count: int
    fps: Fraction
    time_base: Fraction
    tags: ColorTags
    bit_depth: int
    pixel_format: str
    codec: str
    rotation: int
    has_audio: bool
    white_luminance: float | None  # cd/m² per 1.0 of linear sources (EXR whiteLuminance)
    chroma_location: ChromaLocation | None  # what an H.264/HEVC SPS signals; None: the format's default

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable fields (fractions as 'num/den' strings)."""
        return {
            "path": str(self.path), "width": self.width, "height": self.height,
            "frame_count": self.frame_count, "fps": str(self.fps), "time_base": str(self.time_base),
            "tags": self.tags.to_dict(), "bit_depth": self.bit_depth, "pixel_format": self.pixel_format,
            "codec": self.codec, "rotation": self.rotation, "has_audio": self.has_audio,
            "white_luminance": self.white_luminance,
            "chroma_location": None if self.chroma_location is None else self.chroma_location.ffmpeg_name,
        }


@runtime_checkable
class Clip(Protocol):
    """Frames by index: (3, H, W) float32 on the CPU.

    Video and 8 to 16-bit images give non-linear R'G'B' in [0, 1] (decode with info.tags);
    EXR and Radiance give linear BT.2020 values (1.0 = info.white_luminance cd/m² when known).
    """

    info: ClipInfo

    def frame(self, index: int) -> Tensor: ...

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, Tensor]]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Clip: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class ClipBase:
    """Shared index checks and context management for the concrete clips."""

    info: ClipInfo

    def check_range(self, start: int, stop: int | None) -> tuple[int, int]:
        """Validate [start, stop) against frame_count; stop=None means to the end."""
        count = self.info.frame_count
        stop = count if stop is None else stop
        if not 0 <= start <= stop <= count:
            raise MediaError(f"frame range {start}..{stop} outside the clip's {count} frames", self.info.path)
        return start, stop

    def check_index(self, index: int) -> None:
        if not 0 <= index < self.info.frame_count:
            count = self.info.frame_count
            raise MediaError(f"frame {index} outside the clip's {count} frames", self.info.path)

    def close(self) -> None:
        """Release file handles; nothing to release by default."""

    def __enter__(self) -> ClipBase:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def is_sequence_pattern(path: str | Path) -> bool:
    """'%d', '%04d' (printf) or '####' (one # per digit) in the file name."""
    name = Path(path).name
    return "#" in name or ("%" in name and "d" in name.split("%", 1)[1])


def open_clip(path: str | Path, *, strict: bool = True) -> Clip:
    """Open a video, image sequence, EXR folder or still as a Clip.

    `strict` refuses EXR frames holding NaN or Inf with a FormatError (a render must not invent
    pixels); strict=False replaces them (NaN -> 0, +Inf -> the largest finite value).
    """
    # Imported here: the readers import ClipBase and ClipInfo from this module.
    from engine.io.sequence import open_directory, open_sequence, open_still
    from engine.io.video import VideoClip

    p = Path(path)
    if is_sequence_pattern(p):
        return open_sequence(p, strict=strict)
    if p.is_dir():
        return open_directory(p, strict=strict)
    if not p.exists():
        raise MediaError("no such file", p)
    if p.suffix.lower() in STILL_SUFFIXES:
        return open_still(p, strict=strict)
    return VideoClip(p)
