"""A clip: frame count, rate, colour tags and random access by frame index, whatever the source.

The types every reader shares: ClipInfo (what a clip holds), the Clip protocol and ClipBase
(index checks, context management). engine.io.open picks the reader for a path.
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
from engine.io.tags import ChromaLocation, ColorTags


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
    timecode: str | None = None  # SMPTE ST 12-1 timecode of frame 0 (engine.io.timecode), when tagged

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable fields (fractions as 'num/den' strings)."""
        return {
            "path": str(self.path), "width": self.width, "height": self.height,
            "frame_count": self.frame_count, "fps": str(self.fps), "time_base": str(self.time_base),
            "tags": self.tags.to_dict(), "bit_depth": self.bit_depth, "pixel_format": self.pixel_format,
            "codec": self.codec, "rotation": self.rotation, "has_audio": self.has_audio,
            "white_luminance": self.white_luminance,
            "chroma_location": None if self.chroma_location is None else self.chroma_location.ffmpeg_name,
            "timecode": self.timecode,
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
