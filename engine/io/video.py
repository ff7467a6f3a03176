"""Video files through PyAV: frame-accurate random access and exact Y'CbCr -> R'G'B'.

Decoded planes are converted here rather than by swscale, so the arithmetic is the one of
engine.color.ycbcr (ITU-R BT.601/709/2020 matrices, BT.2100 Table 9 quantisation) at any bit
depth. Chroma is upsampled bilinearly at the stream's sample positions: the ChromaSampleLocType
its H.264/HEVC SPS signals (engine.io.siting), else the format's default: co-sited horizontally
(BT.601/ST 274 4:2:2 and the MPEG-2/H.264/HEVC "left" 4:2:0 default) and midway between rows
vertically for 4:2:0; JPEG-range ('yuvj') formats use centred JFIF siting.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np
import torch
import torch.nn.functional as tnf
from torch import Tensor

from engine.color.ycbcr import MATRICES, YCbCrMatrix, quantization_scale, ycbcr_to_rgb
from engine.errors import FormatError, MediaError
from engine.io.clip import ClipBase, ClipInfo
from engine.io.siting import ChromaLocation, read_chroma_location
from engine.io.tags import ColorTags, tags_from_stream

# Matrices FFmpeg decodes that engine.color.ycbcr does not list (H.273 Table 4 Kr, Kb).
_EXTRA_MATRICES = {
    "fcc": YCbCrMatrix("fcc", 0.30, 0.11),
    "smpte240m": YCbCrMatrix("smpte240m", 0.212, 0.087),
}
_PLANAR_YUV = re.compile(r"^yuva?j?4(44|22|20|40|11|10)p((9|10|12|14|16)le)?$")
_SUBSAMPLING = {(1, 1): "444", (2, 1): "422", (2, 2): "420", (4, 1): "411", (1, 2): "440", (4, 4): "410"}
# Containers whose index gives an exact frame count (MP4/MOV sample tables, MXF index tables).
_INDEXED_CONTAINERS = ("mov", "mp4", "mxf")
# A jump this short forward decodes through rather than seeks (a seek lands on a keyframe).
_DECODE_AHEAD = 12


def _plane_array(plane: av.video.plane.VideoPlane, dtype: type) -> np.ndarray:
    """A plane's pixels without the line padding, as a (height, width) array view."""
    itemsize = np.dtype(dtype).itemsize
    rows = np.frombuffer(plane, dtype=dtype).reshape(plane.height, plane.line_size // itemsize)
    return rows[:, : plane.width]


def _bits(fmt: av.VideoFormat) -> int:
    return max(c.bits for c in fmt.components)


def _linear_axis(c: Tensor, dim: int, n_out: int, factor: int, phase: float) -> Tensor:
    """Upsample axis `dim` of (n, h', w') chroma to n_out samples by linear interpolation.

    Chroma sample k sits on luma position factor*k + phase*(factor - 1): phase 0 is co-sited
    with the first luma sample of its group, 1/2 centred, 1 on the last. Luma samples beyond
    the first or last chroma sample take the edge value.
    """
    if factor == 1:
        return c
    n_in = c.shape[dim]
    out = torch.arange(n_out, dtype=torch.float32, device=c.device)
    pos = ((out - phase * (factor - 1)) / factor).clamp(0.0, n_in - 1)
    i0 = pos.floor().long()
    i1 = (i0 + 1).clamp_max(n_in - 1)
    shape = [1] * c.ndim
    shape[dim] = n_out
    w = (pos - i0).view(shape)
    return c.index_select(dim, i0) * (1.0 - w) + c.index_select(dim, i1) * w


def _double_axis(x: Tensor, dim: int, n_out: int, phase: float) -> Tensor:
    """Upsample axis `dim` (2 or 3) of (1, n, h', w') chroma by 2, sample k on luma 2k + phase.

    torch's kernels sample exactly there: align_corners=False onto 2n' is centred (phase 1/2),
    and align_corners=True onto 2n' - 1 puts sample k on 2k; the one luma sample left over
    repeats the edge, after the last chroma sample (phase 0) or before the first (phase 1).
    Odd sizes are the 2n' result cropped, which keeps the factor exactly 2.
    """
    n = x.shape[dim]
    size = list(x.shape[2:])
    if phase == 0.5:
        size[dim - 2] = 2 * n
        return tnf.interpolate(x, size=size, mode="bilinear", align_corners=False).narrow(dim, 0, n_out)
    size[dim - 2] = 2 * n - 1
    cosited = tnf.interpolate(x, size=size, mode="bilinear", align_corners=True)
    if phase == 0.0:
        doubled = torch.cat((cosited, cosited.narrow(dim, 2 * n - 2, 1)), dim)
    else:
        doubled = torch.cat((cosited.narrow(dim, 0, 1), cosited), dim)
    return doubled.narrow(dim, 0, n_out)


def _upsample_chroma(c: Tensor, height: int, width: int, siting: ChromaLocation) -> Tensor:
    """(n, h', w') chroma -> (n, height, width), bilinear at `siting`'s sample positions.

    The siting's vertical part is ignored without vertical subsampling (4:2:2), and both parts
    scale to the group size of 4:1:1 / 4:1:0 chroma.
    """
    fy = -(-height // c.shape[1])
    fx = -(-width // c.shape[2])
    phase_x, phase_y = siting.phase
    if fy in (1, 2) and fx in (1, 2):
        x = c.unsqueeze(0)
        if fy == 2:
            x = _double_axis(x, 2, height, phase_y)
        if fx == 2:
            x = _double_axis(x, 3, width, phase_x)
        return x[0]
    c = _linear_axis(c, 1, height, fy, phase_y)
    return _linear_axis(c, 2, width, fx, phase_x)


def _ycbcr_linear(matrix: YCbCrMatrix, bits: int, full_range: bool) -> tuple[Tensor, float, float]:
    """(A, luma offset, chroma offset): R'G'B' = A @ (codes - offsets), dequantisation folded in.

    Offsets are taken off the integer codes first, so black and neutral grey decode to exact
    zeros and the float32 product has nothing to cancel.
    """
    luma_scale, luma_offset, chroma_scale, chroma_offset = quantization_scale(bits, full_range)
    steps = torch.tensor([1.0 / luma_scale, 1.0 / chroma_scale, 1.0 / chroma_scale], dtype=torch.float64)
    a = ycbcr_to_rgb(torch.diag(steps).view(3, 3, 1), matrix)[:, :, 0]
    return a.float(), luma_offset, chroma_offset


def _matrix(name: str, path: Path) -> YCbCrMatrix:
    matrix = MATRICES.get(name) or _EXTRA_MATRICES.get(name)
    if matrix is None:
        raise FormatError(f"unsupported Y'CbCr matrix {name!r}", path)
    return matrix


def _canonical_format(fmt: av.VideoFormat) -> str:
    """The planar little-endian format a decoded frame is read from (often its own)."""
    bits = _bits(fmt)
    deep = "" if bits <= 8 else f"{min(max(bits, 9), 16)}le"
    if fmt.name.startswith(("rgbf", "gbrpf", "grayf")):
        return "gbrpf32le"
    if fmt.is_rgb or fmt.has_palette:
        return f"gbrp{deep}"
    if len(fmt.components) <= 2:  # grey, grey + alpha
        return f"gray{deep}"
    if _PLANAR_YUV.match(fmt.name):
        return fmt.name
    factors = (fmt.width // max(fmt.chroma_width(), 1), fmt.height // max(fmt.chroma_height(), 1))
    sub = _SUBSAMPLING.get(factors)
    return f"yuv{sub or '444'}p{deep}"


def frame_to_rgb(
    frame: av.VideoFrame, tags: ColorTags, path: Path, chroma_location: ChromaLocation | None = None
) -> Tensor:
    """A decoded frame -> (3, H, W) float32 non-linear R'G'B' in [0, 1] (linear for float RGB).

    Y'CbCr is dequantised with the tags' range and bit depth, then the tags' matrix is inverted.
    chroma_location: the siting the bitstream signals; None takes the format's default (JFIF
    centring for 'yuvj' formats, else type 0: horizontally co-sited, vertically centred).
    """
    target = _canonical_format(frame.format)
    if target != frame.format.name:
        try:
            frame = frame.reformat(format=target)
        except (ValueError, av.error.FFmpegError) as exc:
            raise FormatError(f"unsupported pixel format {frame.format.name!r}", path) from exc
    fmt = frame.format
    bits = _bits(fmt)
    if target == "gbrpf32le":
        g, b, r = (_plane_array(p, np.float32) for p in frame.planes[:3])
        return torch.from_numpy(np.stack([r, g, b]))
    dtype = np.uint8 if bits <= 8 else np.dtype("<u2")
    if target.startswith("gbrp"):
        g, b, r = (_plane_array(p, dtype) for p in frame.planes[:3])
        rgb = np.stack([r, g, b]).astype(np.float32)
        rgb *= 1.0 / (2**bits - 1)
        return torch.from_numpy(rgb)
    a, luma_offset, chroma_offset = _ycbcr_linear(_matrix(tags.matrix, path), bits, tags.full_range)
    y = torch.from_numpy(_plane_array(frame.planes[0], dtype).astype(np.float32)).sub_(luma_offset)
    h, w = y.shape
    if target.startswith("gray"):
        chroma = torch.zeros(2, h, w)
    else:
        cbcr = np.stack([_plane_array(p, dtype) for p in frame.planes[1:3]])
        planes = torch.from_numpy(cbcr.astype(np.float32)).sub_(chroma_offset)
        if chroma_location is None:
            chroma_location = ChromaLocation.CENTER if "j" in fmt.name else ChromaLocation.LEFT
        chroma = _upsample_chroma(planes, h, w, chroma_location)
    # One matrix product for the chroma terms and one fused multiply-add for luma.
    rgb = torch.mm(a[:, 1:], chroma.reshape(2, -1)).addcmul_(a[:, :1], y.reshape(1, -1))
    # Y'CbCr outside the nominal range (super-whites, illegal chroma) decodes outside [0, 1].
    return rgb.clamp_(0.0, 1.0).view(3, h, w)


def _rotate(rgb: Tensor, clockwise: int) -> Tensor:
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
            bit_depth=_bits(fmt),
            pixel_format=fmt.name,
            codec=stream.codec_context.name,
            rotation=rotation,
            has_audio=bool(container.streams.audio),
            white_luminance=None,
            chroma_location=_chroma_location(self.path, stream),
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

    def _read(self, index: int) -> Tensor:
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
            rgb = frame_to_rgb(frame, self.tags, self.path, self.info.chroma_location)
            return _rotate(rgb, self.info.rotation)
        self._cursor = None
        raise MediaError(
            f"frame {index} of {self.info.frame_count} could not be decoded (truncated file?)", self.path
        )

    def frame(self, index: int) -> Tensor:
        """Frame `index` as (3, H, W) non-linear R'G'B' in [0, 1]."""
        self.check_index(index)
        if self._last is not None and self._last[0] == index:
            return self._last[1]
        rgb = self._read(index)
        self._last = (index, rgb)
        return rgb

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, Tensor]]:
        """Frames start..stop-1 in order; one seek at most, then sequential decoding."""
        start, stop = self.check_range(start, stop)
        for index in range(start, stop):
            yield index, self.frame(index)

    def close(self) -> None:
        self._cursor = None
        self._container.close()

