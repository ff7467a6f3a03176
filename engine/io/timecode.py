"""SMPTE ST 12-1 start timecode: read from a clip's tags, counted forward, written to outputs.

FFmpeg exposes a source's start timecode as a `timecode` tag on the video stream (MXF, MP4/MOV
after a tmcd track is read, Matroska's TIMECODE), on a QuickTime tmcd data stream, or in the
container's global metadata; it writes one back from the video stream's `timecode` metadata
(a tmcd track in MOV/MP4, a TIMECODE tag in Matroska). Counting is the `timecode` package's,
drop-frame included: a ';' before the frame field marks drop-frame (29.97 and 59.94 fps drop
frame numbers 0 and 1, or 0 to 3, at each minute but every tenth, ST 12-1 clause 5.2.2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from fractions import Fraction

from timecode import Timecode

_PATTERN = re.compile(r"^(\d{2}):([0-5]\d):([0-5]\d)([:;.,])(\d{2})$")


def parse_timecode(text: str, fps: Fraction) -> Timecode | None:
    """`text` ('HH:MM:SS:FF', ';' or ',' or '.' before FF for drop-frame) at `fps`, or None when
    it is not a timecode of that rate (a frame field past the rate, a malformed string)."""
    match = _PATTERN.match(text.strip())
    if match is None or fps <= 0:
        return None
    nominal = round(fps)
    if int(match.group(5)) >= nominal:
        return None
    drop = match.group(4) != ":"
    try:
        return Timecode(f"{fps.numerator}/{fps.denominator}", text.strip(), force_non_drop_frame=not drop)
    except ValueError:
        return None


def start_timecode(tag_sets: Iterable[Mapping[str, str]], fps: Fraction) -> str | None:
    """The first valid `timecode` tag (any case) of `tag_sets`, in their order, as a string."""
    for tags in tag_sets:
        for key, value in tags.items():
            if key.lower() == "timecode":
                parsed = parse_timecode(value, fps)
                if parsed is not None:
                    return str(parsed)
    return None


def timecode_at(start: str, fps: Fraction, frames: int) -> str:
    """The timecode `frames` frames after `start` (frame 0 of a clip is `start` itself)."""
    parsed = parse_timecode(start, fps)
    if parsed is None:
        raise ValueError(f"{start!r} is not a timecode at {fps} fps")
    return str(parsed + frames) if frames else str(parsed)
