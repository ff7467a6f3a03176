"""Describe a clip as a JSON-serialisable dict: geometry, rate, colour tags and HDR metadata.

HDR10 static metadata is read from the first decoded frame's side data, where FFmpeg puts the
HEVC SEI messages and the container's mdcv/clli (MP4) or MasteringMetadata (Matroska): FFmpeg's
AVMasteringDisplayMetadata (SMPTE ST 2086: r, g, b and white xy as rationals, min and max
luminance in cd/m²) and AVContentLightMetadata (CTA-861.3 MaxCLL and MaxFALL in cd/m²).
"""

from __future__ import annotations

import struct
from dataclasses import asdict
from pathlib import Path
from typing import Any

import av
import av.error
from av.sidedata.sidedata import SideData
from av.sidedata.sidedata import Type as SideDataType

from engine.errors import MediaError
from engine.io.clip import ClipInfo
from engine.io.dovi import dolby_vision_config
from engine.io.exr import compression_name, read_exr_header
from engine.io.hdr_metadata import ContentLightLevel, MasteringDisplay
from engine.io.open import is_sequence_pattern, open_clip
from engine.io.video import VideoClip

_RATIONALS = struct.Struct("<20i")  # 3 primaries + white (x, y), min, max luminance: num/den pairs
_HAS_FLAGS = struct.Struct("<2i")  # has_primaries, has_luminance
_LIGHT_LEVEL = struct.Struct("<2I")


def mastering_display_from_side_data(data: bytes) -> MasteringDisplay | None:
    """Parse FFmpeg's AVMasteringDisplayMetadata; None when it lacks primaries or luminance."""
    values = _RATIONALS.unpack_from(data)
    has_primaries, has_luminance = _HAS_FLAGS.unpack_from(data, _RATIONALS.size)
    if not (has_primaries and has_luminance):
        return None
    ratios = [num / den if den else 0.0 for num, den in zip(values[::2], values[1::2], strict=True)]
    red, green, blue, white = ((ratios[i], ratios[i + 1]) for i in range(0, 8, 2))
    try:
        return MasteringDisplay(red, green, blue, white, max_luminance=ratios[9], min_luminance=ratios[8])
    except ValueError:
        return None  # an inverted luminance range is as good as absent


def light_level_from_side_data(data: bytes) -> ContentLightLevel | None:
    """Parse FFmpeg's AVContentLightMetadata (MaxCLL, MaxFALL)."""
    max_cll, max_fall = _LIGHT_LEVEL.unpack_from(data)
    try:
        return ContentLightLevel(float(max_cll), float(max_fall))
    except ValueError:
        return None


def _video_details(path: Path) -> dict[str, Any]:
    """Container, audio streams and HDR side data, which ClipInfo does not carry."""
    with av.open(str(path), metadata_errors="ignore") as container:
        video = container.streams.video[0]
        details: dict[str, Any] = {
            "container": container.format.name,
            "audio": [
                {
                    "index": a.index,
                    "codec": a.codec_context.name,
                    "sample_rate": a.codec_context.sample_rate,
                    "channels": a.codec_context.layout.nb_channels,
                    "layout": a.codec_context.layout.name,
                    "language": a.metadata.get("language"),
                }
                for a in container.streams.audio
            ],
        }
        try:
            frame = next(container.decode(video), None)
        except av.error.FFmpegError as exc:
            raise MediaError(f"corrupt video data ({exc})", path) from exc
        details["hdr10_plus"] = False
        if frame is not None:
            for entry in frame.side_data:
                # PyAV 18.1.1 iterates a frame's side data by type, as a mapping does, where
                # 18.1.0 iterated the side data themselves (and could not look a type up).
                side = entry if isinstance(entry, SideData) else frame.side_data[entry]
                if side.type == SideDataType.MASTERING_DISPLAY_METADATA:
                    mastering = mastering_display_from_side_data(bytes(side))
                    if mastering is not None:
                        details["mastering_display"] = asdict(mastering)
                elif side.type == SideDataType.CONTENT_LIGHT_LEVEL:
                    light = light_level_from_side_data(bytes(side))
                    if light is not None:
                        details["content_light_level"] = asdict(light)
                elif side.type == SideDataType.DYNAMIC_HDR_PLUS:
                    details["hdr10_plus"] = True  # SMPTE ST 2094-40 metadata on the first frame
    dolby_vision = dolby_vision_config(path)
    if dolby_vision is not None:
        details["dolby_vision"] = dolby_vision
    return details


def _exr_details(path: Path) -> dict[str, Any]:
    header = read_exr_header(path)
    details: dict[str, Any] = {
        "container": "exr",
        "channels": [c.name for c in header.get("channels", [])],
        "compression": compression_name(header.get("compression")),
    }
    if "chromaticities" in header:
        details["chromaticities"] = [round(float(v), 5) for v in header["chromaticities"]]
    return details


def probe(path: str | Path) -> dict[str, Any]:
    """What a video file, image sequence, EXR folder or still holds, as plain JSON types.

    Keys: path, container, codec, width, height, frame_count, fps (string 'num/den'),
    fps_value, time_base, duration (seconds), pixel_format, bit_depth, tags, is_hdr, rotation,
    has_audio, white_luminance, chroma_location (FFmpeg's name of the siting an H.264/HEVC
    stream signals, else None), timecode (of frame 0, else None), audio (list of streams),
    hdr10_plus (whether the first frame carries SMPTE ST 2094-40 dynamic metadata); and
    mastering_display, content_light_level and dolby_vision (the MP4/MOV configuration record,
    engine.io.dovi) when the stream carries them; EXR adds channels, compression and
    chromaticities.
    """
    path = Path(path)
    with open_clip(path, strict=False) as clip:
        info: ClipInfo = clip.info
        is_video = isinstance(clip, VideoClip)
    result: dict[str, Any] = info.to_dict()
    result["fps_value"] = float(info.fps)
    result["duration"] = float(info.frame_count / info.fps)
    result["is_hdr"] = info.tags.is_hdr()
    result["audio"] = []
    if is_video:
        result.update(_video_details(path))
    elif is_sequence_pattern(path) or path.is_dir():
        result["container"] = "image sequence"
    elif path.suffix.lower() == ".exr":
        result.update(_exr_details(path))
    else:
        result["container"] = "image"
    return result
