"""The synthetic camera's video encoder: 8-bit 4:2:0 BT.709 H.264 or HEVC at a given CRF.

H.264 is the SDR deliverable's writer (engine.io.encode); HEVC, which phones and action cameras
record, is the same writer with libx265 in place of libx264, single-threaded (no thread pools,
one frame thread) so that a seed gives the same clip every time, as the H.264 path does. x265
needs a frame of at least one 64x64 coding tree unit: a smaller one aborted the whole process
later, from x265's own threads, so it is refused up front.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
from av.video.reformatter import ColorRange

from engine.io.encode import VideoTarget, VideoWriter, open_video_writer

CODECS = ("h264", "hevc")
HEVC_MIN_SIDE = 64  # x265's largest coding tree unit
_HEVC_PARAMS = ("colorprim=bt709:transfer=bt709:colormatrix=bt709:range=limited:chromaloc=1:"
                "pools=none:frame-threads=1:log-level=error")


class _HevcRecording(VideoWriter):
    """The SDR writer with an x265 stream instead of x264."""

    def _add_video_stream(self, container: av.container.OutputContainer, format_name: str,
                          mastering: object, light_level: object) -> av.VideoStream:
        stream = container.add_stream("libx265", rate=self.fps)
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        context = stream.codec_context
        context.time_base = 1 / self.fps
        tags = self.target.tags
        context.color_primaries, context.color_trc = tags.primaries, tags.transfer
        context.colorspace, context.color_range = tags.colorspace, ColorRange.MPEG
        stream.options = {"crf": str(self.target.crf), "preset": self.target.preset,
                          "x265-params": _HEVC_PARAMS}
        if format_name != "matroska":
            context.codec_tag = "hvc1"
        return stream


def open_recording(path: Path, codec: str, crf: int, preset: str, width: int, height: int,
                   fps: float) -> VideoWriter:
    """A writer for the camera's clip at `path` (.mp4): `codec` 'h264' or 'hevc'."""
    if codec not in CODECS:
        raise ValueError(f"unknown camera codec {codec!r}; expected one of {', '.join(CODECS)}")
    rate = Fraction(fps).limit_denominator(1001)
    target = VideoTarget(kind="sdr", crf=crf, preset=preset)
    if codec == "h264":
        return open_video_writer(path, target, width, height, rate)
    if min(width, height) < HEVC_MIN_SIDE:
        raise ValueError(f"HEVC recording needs frames of at least {HEVC_MIN_SIDE}x{HEVC_MIN_SIDE}, "
                         f"got {width}x{height}")
    return _HevcRecording(Path(path), target, width, height, rate, None, 0.0, None, None)
