"""Open any source as a Clip: the reader is chosen from the path.

A video file (PyAV), an image or EXR sequence pattern ('shot.%04d.exr' or 'shot.####.exr'), a
folder of EXR frames, or a single still (EXR, Radiance .hdr, PNG, TIFF, JPEG, DPX), which is a
one-frame clip.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import MediaError
from engine.io.clip import Clip
from engine.io.sequence import open_directory, open_sequence, open_still
from engine.io.video import VideoClip

STILL_SUFFIXES = frozenset({".exr", ".hdr", ".pic", ".png", ".tif", ".tiff", ".jpg", ".jpeg", ".dpx"})


def is_sequence_pattern(path: str | Path) -> bool:
    """'%d', '%04d' (printf) or '####' (one # per digit) in the file name."""
    name = Path(path).name
    return "#" in name or ("%" in name and "d" in name.split("%", 1)[1])


def open_clip(path: str | Path, *, strict: bool = True) -> Clip:
    """Open a video, image sequence, EXR folder or still as a Clip.

    `strict` refuses EXR frames holding NaN or Inf with a FormatError (a render must not invent
    pixels); strict=False replaces them (NaN -> 0, +Inf -> the largest finite value).
    """
    p = Path(path)
    if is_sequence_pattern(p):
        return open_sequence(p, strict=strict)
    kind = _kind(p)
    if kind == "dir":
        return open_directory(p, strict=strict)
    if kind == "missing":
        raise MediaError("no such file", p)
    if kind == "other":  # a pipe or a device: a reader would block or read forever
        raise MediaError("not a regular file (a device, pipe or socket)", p)
    if p.suffix.lower() in STILL_SUFFIXES:
        return open_still(p, strict=strict)
    return VideoClip(p)


def _kind(p: Path) -> str:
    """'dir', 'file', 'missing' or 'other'; a path the OS refuses (too long, a NUL byte) is a
    MediaError naming it."""
    try:
        if p.is_dir():
            return "dir"
        if not p.exists():
            return "missing"
        return "file" if p.is_file() else "other"
    except (OSError, ValueError) as exc:
        raise MediaError(f"not a usable path ({exc})", p) from None
