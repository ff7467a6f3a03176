"""Colour tags of a source (primaries, transfer, Y'CbCr matrix, range) and their defaults, and
the H.273 chroma sample location that says where its subsampled chroma sits.

FFmpeg reports the ISO/IEC 23091-2 (H.273) code points as AVColorPrimaries,
AVColorTransferCharacteristic, AVColorSpace and AVColorRange integers; this module names them the
way engine.color does. When a stream leaves them unspecified, the defaults are the ones players
use (FFmpeg's swscale, mpv, Resolve): the matrix follows the frame size (BT.601 for SD, BT.709
above), the primaries follow the matrix (BT.601 625 or 525 lines by height), the transfer is
BT.709 (decoded with the BT.1886 display EOTF) and Y'CbCr is narrow ("limited") range.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import IntEnum

import av

# H.273 ColourPrimaries -> engine.color.primaries names (FFmpeg names where engine.color has none).
_PRIMARIES = {
    1: "bt709", 4: "bt470m", 5: "bt601-625", 6: "bt601-525", 7: "bt601-525", 8: "film",
    9: "bt2020", 10: "xyz", 11: "p3-dci", 12: "p3-d65", 22: "ebu3213",
}
# H.273 TransferCharacteristics. BT.601, BT.2020 10/12-bit and SMPTE 240M share the BT.709 OETF
# and are displayed with BT.1886, so they collapse to 'bt709'.
_TRANSFERS = {
    1: "bt709", 4: "gamma22", 5: "gamma28", 6: "bt709", 7: "bt709", 8: "linear", 9: "log100",
    10: "log316", 11: "iec61966-2-4", 12: "bt1361", 13: "srgb", 14: "bt709", 15: "bt709",
    16: "smpte2084", 17: "smpte428", 18: "arib-std-b67",
}
# H.273 MatrixCoefficients.
_MATRICES = {
    0: "rgb", 1: "bt709", 4: "fcc", 5: "bt601", 6: "bt601", 7: "smpte240m", 8: "ycgco",
    9: "bt2020nc", 10: "bt2020c", 14: "ictcp",
}
_RANGE_FULL = 2  # AVCOL_RANGE_JPEG
_HDR_TRANSFERS = frozenset({"smpte2084", "arib-std-b67", "linear"})
_SD_MAX_HEIGHT = 576


@dataclass(frozen=True)
class ColorTags:
    """How to read a source's code values: colour primaries, transfer, Y'CbCr matrix and range."""

    primaries: str
    transfer: str
    matrix: str
    full_range: bool

    def is_hdr(self) -> bool:
        """PQ, HLG or linear (scene or absolute) data, as opposed to an SDR display signal."""
        return self.transfer in _HDR_TRANSFERS

    def to_dict(self) -> dict[str, str | bool]:
        return asdict(self)


class ChromaLocation(IntEnum):
    """ITU-T H.273 ChromaSampleLocType: where a 4:2:0 chroma sample sits in its 2x2 luma group.

    Positions as drawn in H.264 Figure E-1; LEFT is the MPEG-2, H.264 and HEVC default when the
    bitstream is silent.
    """

    LEFT = 0
    CENTER = 1
    TOP_LEFT = 2
    TOP = 3
    BOTTOM_LEFT = 4
    BOTTOM = 5

    @property
    def phase(self) -> tuple[float, float]:
        """(x, y) of the chroma sample across its luma group: 0 on the first luma sample, 1/2
        midway between the two, 1 on the second (the lower row)."""
        return _PHASES[self]

    @property
    def ffmpeg_name(self) -> str:
        """FFmpeg's name (av_chroma_location_name, ffprobe's chroma_location)."""
        return self.name.lower().replace("_", "")


_PHASES = {
    ChromaLocation.LEFT: (0.0, 0.5),
    ChromaLocation.CENTER: (0.5, 0.5),
    ChromaLocation.TOP_LEFT: (0.0, 0.0),
    ChromaLocation.TOP: (0.5, 0.0),
    ChromaLocation.BOTTOM_LEFT: (0.0, 1.0),
    ChromaLocation.BOTTOM: (0.5, 1.0),
}


def default_matrix(height: int) -> str:
    """The Y'CbCr matrix players assume when a stream has none: BT.601 for SD, else BT.709."""
    return "bt601" if height <= _SD_MAX_HEIGHT else "bt709"


def default_primaries(matrix: str, height: int) -> str:
    """Primaries implied by the matrix; SD picks 625-line (PAL, 576 rows) or 525-line (NTSC)."""
    if matrix == "bt601":
        return "bt601-625" if height == _SD_MAX_HEIGHT else "bt601-525"
    return {"bt2020nc": "bt2020", "bt2020c": "bt2020"}.get(matrix, "bt709")


def tags_from_codes(
    primaries: int, transfer: int, matrix: int, color_range: int, *, height: int, rgb: bool = False
) -> ColorTags:
    """ColorTags from FFmpeg's colour enums (H.273 code points), filling unspecified ones.

    `rgb` says the pixel format carries R'G'B' (no matrix, full range) whatever the tags say.
    """
    matrix_name = "rgb" if rgb else _MATRICES.get(matrix) or default_matrix(height)
    if matrix_name == "rgb" and not rgb:
        # An RGB matrix tag on a Y'CbCr pixel format is a muxer mistake; decode it as YCbCr.
        matrix_name = default_matrix(height)
    return ColorTags(
        primaries=_PRIMARIES.get(primaries) or default_primaries(matrix_name, height),
        transfer=_TRANSFERS.get(transfer, "bt709"),
        matrix=matrix_name,
        full_range=rgb or color_range == _RANGE_FULL,
    )


def tags_from_stream(frame: av.VideoFrame) -> ColorTags:
    """ColorTags of a decoded PyAV frame, with the usual defaults for what the stream leaves out.

    FFmpeg fills a frame's tags from the bitstream (VUI) or else the container. RGB and
    palette pixel formats carry R'G'B'; the JPEG ('yuvj') formats imply full range.
    """
    fmt = frame.format
    tags = tags_from_codes(
        int(frame.color_primaries),
        int(frame.color_trc),
        int(frame.colorspace),
        int(frame.color_range),
        height=frame.height,
        rgb=fmt.is_rgb or fmt.has_palette,
    )
    return replace(tags, full_range=True) if fmt.name.startswith("yuvj") else tags


SRGB_IMAGE = ColorTags("bt709", "srgb", "rgb", True)
LINEAR_BT2020 = ColorTags("bt2020", "linear", "rgb", True)
