"""Video files through PyAV: demuxing, decoding and frame-accurate random access.

Each decoded frame becomes R'G'B' in engine.io.pixels, at the chroma siting the stream's SPS
signals (engine.io.sps).
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.error
import torch
from torch import Tensor

from engine.errors import FormatError, MediaError
from engine.io.clip import ClipBase, ClipInfo
from engine.io.pixels import Planes, format_bits, frame_planes, frame_to_rgb
from engine.io.sps import read_chroma_location
from engine.io.tags import ChromaLocation, tags_from_stream
from engine.io.timecode import start_timecode

# Containers whose index gives an exact frame count (MP4/MOV sample tables, MXF index tables).
_INDEXED_CONTAINERS = ("mov", "mp4", "mxf")
# A jump this short forward decodes through rather than seeks (a seek lands on a keyframe).
_DECODE_AHEAD = 12


def _rotate(rgb: Tensor, clockwise: int) -> Tensor:
    """Turn a decoded frame upright by the display matrix's clockwise angle (a multiple of 90°)."""
    return torch.rot90(rgb, -(clockwise // 90), dims=(1, 2)) if clockwise else rgb


def _open_container(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise MediaError("no such file", path)
    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaError(f"not a readable video ({exc.__class__.__name__})", path) from exc


def _video_packets(path: Path) -> Iterator[bytes]:
    """The first video stream's packets, from a demuxer of their own so the decoder's is untouched."""
    try:
        with av.open(str(path), metadata_errors="ignore") as demuxer:
            for packet in demuxer.demux(demuxer.streams.video[0]):
                if packet.size:
                    yield bytes(packet)
    except av.error.FFmpegError:
        # The siting then stays unsignalled; decoding reports what is wrong with the file.
        return


def _chroma_location(path: Path, stream: av.VideoStream) -> ChromaLocation | None:
    """What the stream's SPS signals; packets are demuxed only when the extradata has no SPS."""
    context = stream.codec_context
    packets = _video_packets(path)
    try:
        return read_chroma_location(context.name, context.extradata, packets)
    finally:
        packets.close()


class VideoClip(ClipBase):
    """A video file's first video stream as a Clip.

    Random access seeks to the keyframe at or before the target and decodes forward; asking
    for the frame after the last one continues decoding without a seek. Frame indices are
    derived from presentation timestamps at the stream's average rate (constant frame rate).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._container = _open_container(self.path)
        try:
            self._setup()
        except BaseException:
            self._container.close()
            raise

    def _setup(self) -> None:
        container = self._container
        if not container.streams.video:
            raise MediaError("not a video: it has no video stream", self.path)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        self._stream = stream
        rate = stream.average_rate or stream.guessed_rate or stream.codec_context.framerate
        if not rate:
            raise MediaError("the video stream has no frame rate", self.path)
        self._fps = Fraction(rate)
        self._time_base = Fraction(stream.time_base)
        self._start_pts: int | None = None
        self._cursor: Iterator[tuple[int, av.VideoFrame]] | None = None
        self._pending: tuple[int, av.VideoFrame] | None = None  # decoded, not yet consumed
        self._next_index = 0
        self._last: tuple[int, Tensor] | None = None
        self._previous: av.VideoFrame | None = None  # the last frame taken from the cursor

        first = self._first_frame()
        fmt = first.format
        rotation = (-first.rotation) % 360  # FFmpeg's display matrix angle is counter-clockwise
        if rotation % 90:
            raise FormatError(f"unsupported display rotation {first.rotation}°", self.path)
        width, height = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
        self.tags = tags_from_stream(first)
        self.info = ClipInfo(
            path=self.path,
            width=width,
            height=height,
            frame_count=self._frame_count(),
            fps=self._fps,
            time_base=self._time_base,
            tags=self.tags,
            bit_depth=format_bits(fmt),
            pixel_format=fmt.name,
            codec=stream.codec_context.name,
            rotation=rotation,
            has_audio=bool(container.streams.audio),
            white_luminance=None,
            chroma_location=_chroma_location(self.path, stream),
            timecode=start_timecode(
                [stream.metadata, *(d.metadata for d in container.streams.data), container.metadata],
                self._fps,
            ),
        )
        if self.info.frame_count == 0:
            raise MediaError("the video stream holds no frames", self.path)

    def _first_frame(self) -> av.VideoFrame:
        """Decode frame 0 (its timestamp anchors the indices) and keep the cursor after it."""
        self._cursor = self._decode(from_start=True)
        try:
            index, frame = next(self._cursor)
        except StopIteration:
            raise MediaError("the video stream holds no frames", self.path) from None
        self._pending = (index, frame)
        return frame

    def _frame_count(self) -> int:
        """Frames on the constant-rate timeline: the container's count when it has an index,
        otherwise one pass of demuxing (no decoding) to the last packet's timestamp."""
        stream = self._stream
        if stream.frames > 0 and any(n in self._container.format.name for n in _INDEXED_CONTAINERS):
            return int(stream.frames)
        try:
            with av.open(str(self.path), metadata_errors="ignore") as demuxer:
                packets = [p.pts for p in demuxer.demux(demuxer.streams.video[0]) if p.size]
        except av.error.FFmpegError as exc:
            raise MediaError(f"unreadable packets ({exc})", self.path) from exc
        stamps = [pts for pts in packets if pts is not None]
        if self._start_pts is None or len(stamps) < len(packets):
            return len(packets)
        return round((max(stamps) - self._start_pts) * self._time_base * self._fps) + 1

    def _decode(self, from_start: bool) -> Iterator[tuple[int, av.VideoFrame]]:
        """Decode forward from the current position, yielding (index, frame).

        Indices come from presentation timestamps; frames without one can only be counted,
        which is valid when decoding from the start.
        """
        counted = 0
        try:
            for frame in self._container.decode(self._stream):
                if from_start and counted == 0:
                    self._start_pts = frame.pts
                if frame.pts is not None and self._start_pts is not None:
                    index = round((frame.pts - self._start_pts) * self._time_base * self._fps)
                elif from_start:
                    index = counted
                else:
                    raise MediaError("frames without timestamps cannot be sought", self.path)
                counted += 1
                yield index, frame
        except av.error.FFmpegError as exc:
            raise MediaError(f"corrupt video data ({exc})", self.path) from exc

    def _seek(self, index: int) -> None:
        """Position the decoder at the keyframe at or before `index` (stepping back if needed)."""
        back = 0
        while True:
            target = max(index - back, 0)
            try:
                if self._start_pts is None:
                    self._container.seek(0)
                else:
                    pts = self._start_pts + round(Fraction(target) / self._fps / self._time_base)
                    self._container.seek(pts, stream=self._stream, backward=True)
            except av.error.FFmpegError as exc:
                raise MediaError(f"cannot seek to frame {index} ({exc})", self.path) from exc
            cursor = self._decode(from_start=self._start_pts is None)
            first = next(cursor, None)
            if first is not None and 0 <= first[0] <= index:
                self._cursor, self._pending = cursor, first
                self._previous = None
                self._next_index = first[0]
                return
            if target == 0:
                raise MediaError(f"cannot seek to frame {index}", self.path)
            # The demuxer landed after the target (sparse or imprecise index): step further back.
            back = max(2 * back, 16)

    def _next_decoded(self) -> tuple[int, av.VideoFrame] | None:
        item, self._pending = self._pending, None
        if item is None and self._cursor is not None:
            item = next(self._cursor, None)
        return item

    def _read(self, index: int) -> av.VideoFrame:
        """The decoded picture shown at frame `index`."""
        if self._cursor is None or not self._next_index <= index <= self._next_index + _DECODE_AHEAD:
            self._seek(index)
        assert self._cursor is not None
        while (item := self._next_decoded()) is not None:
            found, frame = item
            if found < index:
                self._previous = frame
                continue
            if found > index:
                if self._previous is None:
                    break
                # A hole in the timestamps (AVI drop frames, VFR): the previous picture stays on
                # screen, as in FFmpeg's constant-rate output; the frame found is still next.
                self._pending = item
                frame = self._previous
            self._previous = frame
            self._next_index = index + 1
            return frame
        self._cursor = None
        raise MediaError(
            f"frame {index} of {self.info.frame_count} could not be decoded (truncated file?)", self.path
        )

    def frame(self, index: int) -> Tensor:
        """Frame `index` as (3, H, W) non-linear R'G'B' in [0, 1]."""
        self.check_index(index)
        if self._last is not None and self._last[0] == index:
            return self._last[1]
        rgb = frame_to_rgb(self._read(index), self.tags, self.path, self.info.chroma_location)
        rgb = _rotate(rgb, self.info.rotation)
        self._last = (index, rgb)
        return rgb

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, Tensor]]:
        """Frames start..stop-1 in order; one seek at most, then sequential decoding."""
        start, stop = self.check_range(start, stop)
        for index in range(start, stop):
            yield index, self.frame(index)

    def planes(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, Planes]]:
        """Frames start..stop-1 as decoded Y'CbCr code planes (engine.io.pixels.frame_planes), for
        a clip whose pixel format reads_as_planes and with no rotation; decoded like frames()."""
        if self.info.rotation:
            raise FormatError("a rotated clip has no upright planes", self.path)
        start, stop = self.check_range(start, stop)
        for index in range(start, stop):
            self.check_index(index)
            yield index, frame_planes(self._read(index), self.tags, self.path, self.info.chroma_location)

    def close(self) -> None:
        self._cursor = None
        self._container.close()

