"""Dolby Vision configuration records in MP4 / QuickTime files.

A Dolby Vision stream announces itself in the video sample entry with a `dvcC` (profiles up to
7), `dvvC` (8 to 10) or `dvwC` (above 10) box holding the DOVIDecoderConfigurationRecord of
Dolby's "Dolby Vision Streams within the ISO Base Media File Format" (version 2.x): 8 bits
major version, 8 bits minor, 7 bits profile, 6 bits level, the RPU, enhancement layer and base
layer present flags, 4 bits base-layer signal compatibility id. FFmpeg reads it into stream
side data, which PyAV does not expose, so this module walks the ISO BMFF boxes itself (moov
only: the media data is never read).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
_VISUAL_SAMPLE_ENTRY = 78  # ISO/IEC 14496-12 VisualSampleEntry fields before its child boxes
_STSD_HEADER = 8  # version/flags, entry_count
_DOVI_BOXES = {b"dvcC", b"dvvC", b"dvwC"}
_MAX_MOOV = 64 << 20  # a movie header is metadata: far below this even for feature-length files


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes in data[start:end]."""
    end = len(data) if end is None else end
    found = []
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1 and pos + 16 <= end:
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            break
        found.append((kind, pos + header, pos + size))
        pos += size
    return found


def _read_moov(stream: BinaryIO) -> bytes | None:
    """The top-level moov box's payload, found by skipping the other top-level boxes."""
    while True:
        head = stream.read(8)
        if len(head) < 8:
            return None
        size, kind = struct.unpack(">I4s", head)
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", stream.read(8))[0], 16
        if kind == b"moov":
            if size == 0 or size - header > _MAX_MOOV:
                return None
            return stream.read(size - header)
        if size < header:
            return None
        stream.seek(size - header, 1)


def parse_dovi_record(record: bytes) -> dict[str, Any] | None:
    """A DOVIDecoderConfigurationRecord as a dict, or None when it is too short."""
    if len(record) < 5:
        return None
    major, minor, bits, compat = struct.unpack_from(">BBHB", record)
    return {
        "version": f"{major}.{minor}",
        "profile": bits >> 9,
        "level": (bits >> 3) & 0x3F,
        "rpu_present": bool(bits & 0x4),
        "el_present": bool(bits & 0x2),
        "bl_present": bool(bits & 0x1),
        "bl_signal_compatibility_id": compat >> 4,
    }


def dolby_vision_config(path: str | Path) -> dict[str, Any] | None:
    """The first video track's Dolby Vision configuration record, None when there is none (or the
    file is not ISO BMFF)."""
    with open(path, "rb") as stream:
        moov = _read_moov(stream)
    if moov is None:
        return None
    pending = [(kind, s, e) for kind, s, e in _boxes(moov)]
    while pending:
        kind, start, end = pending.pop(0)
        if kind in _CONTAINERS:
            pending = _boxes(moov, start, end) + pending
        elif kind == b"stsd":
            for _entry, entry_start, entry_end in _boxes(moov, start + _STSD_HEADER, end):
                children = _boxes(moov, entry_start + _VISUAL_SAMPLE_ENTRY, entry_end)
                for child, child_start, child_end in children:
                    if child in _DOVI_BOXES:
                        record = parse_dovi_record(moov[child_start:child_end])
                        if record is not None:
                            return {"box": child.decode(), **record}
    return None
