"""The exposure a still's Exif metadata records: shutter time, f-number and ISO.

Exif 2.32 (CIPA DC-008-2019): the metadata is a TIFF structure (TIFF 6.0, Adobe 1992: a byte-order
mark, IFDs of 12-byte entries) carried in a JPEG's APP1 segment after "Exif\\0\\0", in a PNG's eXIf
chunk (PNG 1.2 extensions, 2017), or, in a TIFF file, in the file's own structure. The tags read
are ExposureTime (0x829A), FNumber (0x829D) and PhotographicSensitivity (0x8827, the ISO), from the
Exif IFD that IFD0's tag 0x8769 points to, or from IFD0 itself where a writer put them there.
"""

from __future__ import annotations

import math
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

from engine.errors import MediaError

_EXIF_IFD = 0x8769
_EXPOSURE_TIME = 0x829A
_F_NUMBER = 0x829D
_ISO = 0x8827
# TIFF field types: their byte size and struct code (RATIONAL is two LONGs).
_SHORT, _LONG, _RATIONAL = 3, 4, 5
_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_MAX_ENTRIES = 4096  # an IFD claiming more is corrupt; real ones hold tens
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8"


@dataclass(frozen=True)
class Exposure:
    """A still's exposure settings, as its camera recorded them."""

    seconds: float
    f_number: float | None
    iso: float | None


def read_exposure(path: Path) -> Exposure | None:
    """The exposure recorded in `path`'s Exif metadata, or None where it records no ExposureTime.

    A JPEG, PNG or TIFF; other formats carry no Exif here and give None. Metadata that is not a
    well-formed TIFF structure raises MediaError naming the file.
    """
    try:
        with open(path, "rb") as handle:
            if handle.seek(0, 2) == 0:
                return None
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                tiff = _tiff_of(bytes(data[:8]), data, path)
                if tiff is None:
                    return None
                try:
                    return _exposure(tiff)
                except (struct.error, IndexError, ValueError) as exc:
                    raise MediaError(f"its Exif metadata is corrupt ({exc})", path) from None
                finally:
                    tiff.release()  # the map cannot close while a view of it is held
    except OSError as exc:
        raise MediaError(f"cannot be read ({exc.strerror})", path) from None


def _tiff_of(head: bytes, data: mmap.mmap, path: Path) -> memoryview | None:
    """The TIFF structure that holds the file's Exif, or None where there is none."""
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return memoryview(data)
    if head[:2] == _JPEG_SOI:
        return _jpeg_app1(data, path)
    if head == _PNG_SIGNATURE:
        return _png_exif(data, path)
    return None


def _jpeg_app1(data: mmap.mmap, path: Path) -> memoryview | None:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise MediaError(f"its JPEG markers break off at byte {position}", path)
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # TEM, RSTn, SOI: markers without a length
            position += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no metadata after the header
            return None
        length = struct.unpack(">H", data[position + 2:position + 4])[0]
        body = position + 4
        if length < 2 or body + length - 2 > len(data):
            raise MediaError(f"its JPEG segment at byte {position} runs past the end of the file", path)
        if marker == 0xE1 and data[body:body + 6] == b"Exif\x00\x00":
            return memoryview(data)[body + 6:body + length - 2]
        position = body + length - 2
    return None


def _png_exif(data: mmap.mmap, path: Path) -> memoryview | None:
    position = len(_PNG_SIGNATURE)
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = position + 8
        if body + length + 4 > len(data):
            raise MediaError(f"its PNG chunk {kind!r} at byte {position} runs past the end of the file", path)
        if kind == b"eXIf":
            return memoryview(data)[body:body + length]
        if kind == b"IEND":
            return None
        position = body + length + 4  # the chunk's CRC follows its data
    return None


def _exposure(tiff: memoryview) -> Exposure | None:
    order = {b"II": "<", b"MM": ">"}.get(bytes(tiff[:2]))
    if order is None:
        raise ValueError("no TIFF byte-order mark")
    magic, first = struct.unpack(order + "HI", tiff[2:8])
    if magic != 42:
        raise ValueError(f"TIFF magic {magic}, not 42")
    tags = _ifd(tiff, order, first)
    if _EXIF_IFD in tags:
        tags = {**tags, **_ifd(tiff, order, int(_values(tiff, order, *tags[_EXIF_IFD])[0]))}
    if _EXPOSURE_TIME not in tags:
        return None
    seconds = _positive(tiff, order, tags[_EXPOSURE_TIME], "ExposureTime")
    if seconds is None:
        raise ValueError("ExposureTime is not a positive number")
    f_number = _positive(tiff, order, tags[_F_NUMBER], "FNumber") if _F_NUMBER in tags else None
    iso = _positive(tiff, order, tags[_ISO], "ISO") if _ISO in tags else None
    return Exposure(seconds, f_number, iso)


Entry = tuple[int, int, int]  # field type, count, offset of the value (inline or pointed to)


def _ifd(tiff: memoryview, order: str, offset: int) -> dict[int, Entry]:
    count = struct.unpack(order + "H", tiff[offset:offset + 2])[0]
    if count > _MAX_ENTRIES:
        raise ValueError(f"an IFD of {count} entries")
    entries: dict[int, Entry] = {}
    for i in range(count):
        start = offset + 2 + 12 * i
        tag, kind, n = struct.unpack(order + "HHI", tiff[start:start + 8])
        size = _SIZES.get(kind, 1) * n
        # Values of four bytes or less sit in the entry itself; longer ones at the offset it holds.
        where = start + 8 if size <= 4 else struct.unpack(order + "I", tiff[start + 8:start + 12])[0]
        if where + size > len(tiff):
            raise ValueError(f"tag 0x{tag:04X} points past the metadata's end")
        entries[tag] = (kind, n, where)
    return entries


def _values(tiff: memoryview, order: str, kind: int, count: int, where: int) -> list[float]:
    if kind == _SHORT:
        return list(struct.unpack(order + f"{count}H", tiff[where:where + 2 * count]))
    if kind == _LONG:
        return list(struct.unpack(order + f"{count}I", tiff[where:where + 4 * count]))
    if kind == _RATIONAL:
        pairs = struct.unpack(order + f"{2 * count}I", tiff[where:where + 8 * count])
        return [a / b if b else math.nan for a, b in zip(pairs[::2], pairs[1::2], strict=True)]
    raise ValueError(f"a field of TIFF type {kind} where a number was expected")


def _positive(tiff: memoryview, order: str, entry: Entry, name: str) -> float | None:
    """The tag's first value where it is a positive finite number; None where the camera wrote 0
    (Exif's 'unknown')."""
    values = _values(tiff, order, *entry)
    if not values:
        raise ValueError(f"{name} holds no value")
    value = float(values[0])
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f"{name} reads {value}")
    return value if value > 0.0 else None


def relative_stops(exposures: list[Exposure], paths: list[Path]) -> list[float]:
    """Each still's exposure in stops, log2(seconds x ISO / f-number^2), relative to the first.

    An f-number or ISO counts only if every still records it: one missing from some stills but not
    others leaves their exposures unknown, which raises MediaError naming a still without it.
    """
    for name in ("f_number", "iso"):
        missing = [p for e, p in zip(exposures, paths, strict=True) if getattr(e, name) is None]
        if missing and len(missing) < len(paths):
            label = {"f_number": "FNumber", "iso": "ISO"}[name]
            raise MediaError(f"records no Exif {label} where other stills of the bracket do", missing[0])
    stops = []
    for e in exposures:
        ev = math.log2(e.seconds)
        if e.iso is not None:
            ev += math.log2(e.iso)
        if e.f_number is not None:
            ev -= 2.0 * math.log2(e.f_number)
        stops.append(ev)
    return [s - stops[0] for s in stops]
