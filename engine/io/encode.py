"""Video deliverables: encoded R'G'B' frames -> limited-range Y'CbCr planes -> HEVC, ProRes or H.264.

Frames arrive one at a time as (3, H, W) non-linear R'G'B' in [0, 1], already through the
output transform (PQ, HLG or BT.1886 and the target primaries). The writer converts them to
Y'CbCr itself (BT.2020 NCL for HDR, BT.709 for SDR; ITU-R BT.2100-2 Table 9 narrow range),
fills the AVFrame planes directly, and never lets swscale touch colour.

4:2:0 chroma is downsampled at the deliverable's siting (engine.color.chroma_siting): top-left
(chroma_sample_loc_type 2, ITU-T H.273) for the BT.2020 deliverables, as UHD delivery
specifications ask, the centre of each 2x2 block (type 1) for SDR; the bitstream says which.

Every stream is tagged twice: on the codec context (read by muxers into colr / Colour
elements) and in the bitstream's VUI through the x26x parameters, so readers that trust either
one agree. HDR10 also carries ST 2086 and CTA-861.3 SEI messages (engine.io.hdr_metadata).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import av
import av.container
import numpy as np
from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc
from torch import Tensor

from engine.color.chroma_siting import CHROMA_LOC_TYPE, ChromaSiting, downsample_420
from engine.color.primaries import PRIMARIES
from engine.color.ycbcr import BT709, BT2020_NCL, YCbCrMatrix, quantize_chroma, quantize_luma, rgb_to_ycbcr
from engine.deliverables import DELIVERABLES, MUXERS, Deliverable
from engine.errors import FormatError, LumigradeError, OutputError
from engine.finite import all_finite
from engine.io.atomic import AtomicOutput, output_error
from engine.io.encode_audio import AudioTrack
from engine.io.encode_exr import open_exr_sequence_writer
from engine.io.hdr_metadata import ContentLightLevel, MasteringDisplay

if TYPE_CHECKING:
    from engine.grade import OutputSettings

log = logging.getLogger(__name__)

VideoKind = Literal["hdr10", "hlg", "prores", "sdr"]
SignalName = Literal["pq", "hlg", "sdr"]


@dataclass(frozen=True)
class SignalTags:
    """What the R'G'B' code values mean (ITU-T H.273 code points), and the Y'CbCr matrix to use."""

    primaries: ColorPrimaries
    transfer: ColorTrc
    colorspace: Colorspace
    matrix: YCbCrMatrix
    x26x: tuple[str, str, str]  # colorprim, transfer, colormatrix as x264/x265 spell them


SIGNALS: dict[str, SignalTags] = {
    # ITU-R BT.2100 PQ and HLG share BT.2020 primaries and the non-constant-luminance matrix.
    "pq": SignalTags(
        ColorPrimaries.BT2020, ColorTrc.SMPTE2084, Colorspace.BT2020, BT2020_NCL,
        ("bt2020", "smpte2084", "bt2020nc"),
    ),
    "hlg": SignalTags(
        ColorPrimaries.BT2020, ColorTrc.ARIB_STD_B67, Colorspace.BT2020, BT2020_NCL,
        ("bt2020", "arib-std-b67", "bt2020nc"),
    ),
    # BT.1886 content is tagged with the BT.709 transfer, as ITU-T H.273 and every player expect.
    "sdr": SignalTags(
        ColorPrimaries.BT709, ColorTrc.BT709, Colorspace.ITU709, BT709, ("bt709", "bt709", "bt709")
    ),
}


_MAX_REORDER_DEPTH = 16  # x265 and x264 allow at most 16 consecutive B-frames
_PRORES_4444 = "4"  # FFmpeg prores_ks profiles: 0 Proxy, 1 LT, 2 422, 3 HQ, 4 4444, 5 4444 XQ

# Frames above DCI 4K encode with x265's lookahead capped (docs/architecture.md, "Memory of large
# renders"): x265 holds about 70-110 MB per lookahead frame at 4096x4096, and the slower presets
# look 15-40 frames ahead. rc-lookahead per x265 preset, from x265's documentation (Presets).
LARGE_FRAME_PIXELS = 4096 * 2160
LARGE_FRAME_LOOKAHEAD = 10
_X265_PRESET_LOOKAHEAD = {"ultrafast": 5, "superfast": 10, "veryfast": 15, "faster": 15, "fast": 15,
                          "medium": 20, "slow": 25, "slower": 40, "veryslow": 40}


def x265_size_params(preset: str, width: int, height: int) -> list[str]:
    """The x265 settings that depend on the frame size: a lookahead of LARGE_FRAME_LOOKAHEAD frames
    (more than any preset's B-frame run, as x265 requires) above LARGE_FRAME_PIXELS, where the
    preset looks further ahead; nothing otherwise. bench/throughput.py gives its ffmpeg peer the
    same."""
    if width * height <= LARGE_FRAME_PIXELS or _X265_PRESET_LOOKAHEAD[preset] <= LARGE_FRAME_LOOKAHEAD:
        return []
    return [f"rc-lookahead={LARGE_FRAME_LOOKAHEAD}"]


@dataclass(frozen=True)
class VideoTarget:
    """A video deliverable and its encoder settings.

    kind: 'hdr10' (HEVC Main10, PQ), 'hlg' (HEVC Main10, HLG), 'prores' (ProRes 4444, .mov)
    or 'sdr' (H.264 High, 8-bit BT.709).
    signal: what the frames hold, 'pq', 'hlg' or 'sdr'; fixed by the kind except for ProRes,
    which defaults to PQ. crf and preset drive x264/x265 and are ignored by ProRes.
    """

    kind: VideoKind = "hdr10"
    crf: int = 18
    preset: str = "medium"
    signal: SignalName | None = None

    def __post_init__(self) -> None:
        if self.kind not in DELIVERABLES or DELIVERABLES[self.kind].writer != "video":
            videos = sorted(k for k, d in DELIVERABLES.items() if d.writer == "video")
            raise ValueError(f"unknown video kind {self.kind!r}; expected one of {videos}")
        allowed = DELIVERABLES[self.kind].signals
        if self.signal is not None and self.signal not in allowed:
            raise ValueError(f"{self.kind} cannot carry a {self.signal!r} signal; expected {allowed}")

    @property
    def tags(self) -> SignalTags:
        return SIGNALS[self.signal or DELIVERABLES[self.kind].view]

    def planes(self, frame: Tensor) -> list[np.ndarray]:
        """A (3, H, W) R'G'B' frame as this target's code planes (what the encoder is fed)."""
        codec = DELIVERABLES[self.kind]
        return encode_planes(frame, self.tags.matrix, codec.bits, codec.subsample, codec.chroma_siting)


def encode_planes(frame: Tensor, matrix: YCbCrMatrix, bits: int, subsample: bool,
                  siting: ChromaSiting = "center") -> list[np.ndarray]:
    """(3, H, W) R'G'B' in [0, 1] -> [Y', Cb, Cr] limited-range code planes (uint8/uint16, on CPU).

    Values outside [0, 1] are clipped in R'G'B' so Y'CbCr stays inside the nominal range. With
    `subsample`, chroma is downsampled at `siting` before quantisation.
    """
    ycc = rgb_to_ycbcr(frame.float().clamp(0.0, 1.0), matrix)
    chroma = downsample_420(ycc[1:], siting) if subsample else ycc[1:]
    codes = [quantize_luma(ycc[0], bits, full_range=False), *quantize_chroma(chroma, bits, full_range=False)]
    dtype = np.uint8 if bits == 8 else np.uint16
    return [c.cpu().numpy().astype(dtype) for c in codes]


def _x26x_params(target: VideoTarget, mastering: MasteringDisplay | None,
                 light_level: ContentLightLevel | None, size: tuple[int, int]) -> str:
    tags = target.tags
    colorprim, transfer, colormatrix = tags.x26x
    params = [f"colorprim={colorprim}", f"transfer={transfer}", f"colormatrix={colormatrix}",
              f"chromaloc={CHROMA_LOC_TYPE[DELIVERABLES[target.kind].chroma_siting]}", "log-level=error"]
    if target.kind == "sdr":
        # x264's macroblock-tree rate control makes the bitstream differ from run to run with the
        # bundled build, even on one thread; a render, and a synthetic camera's clip, must come
        # out the same every time. Camera encoders have no such lookahead either.
        return ":".join([*params, "range=tv", "mbtree=0"])
    # No pools / frame-threads: x265 then builds one thread pool per NUMA node over all its cores.
    # repeat-headers puts VPS/SPS/PPS (and the HDR SEI) before every keyframe for broadcast splicing.
    params += ["range=limited", "repeat-headers=1", *x265_size_params(target.preset, *size)]
    if target.kind == "hdr10":
        display = mastering or MasteringDisplay.p3_d65()
        params += ["hdr10=1", "hdr10-opt=1", f"master-display={display.x265_param()}"]
        if light_level is not None:
            params.append(f"max-cll={light_level.x265_param()}")
    else:
        # Alternative transfer characteristics SEI (H.265 D.2.38): BT.2020 10-bit for legacy decoders.
        params += ["atc-sei=18", "pic-struct=0"]
    return ":".join(params)


class FrameWriter(Protocol):
    """What a render job writes to: a video file or an image sequence."""

    def write(self, frame: Tensor) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


class VideoWriter:
    """Encodes frames one by one into a file that appears at `path` only when close() succeeds.

    `notes` lists what the writer did differently from a plain copy (audio transcoded).
    """

    def __init__(
        self,
        path: Path,
        target: VideoTarget,
        width: int,
        height: int,
        fps: Fraction,
        audio_source: Path | None,
        audio_offset: float,
        mastering: MasteringDisplay | None,
        light_level: ContentLightLevel | None,
        timecode: str | None = None,
    ) -> None:
        self.path = path
        self.target = target
        self.width, self.height, self.fps = width, height, fps
        self._codec: Deliverable = DELIVERABLES[target.kind]
        self._frames = 0
        self._audio: AudioTrack | None = None
        self._finished = False
        self._container: av.container.OutputContainer | None = None
        self._output_file = AtomicOutput(path)
        try:
            format_name = MUXERS[path.suffix.lower()]
            container = av.open(str(self._output_file.temp), "w", format=format_name)
            self._container = container
            self._stream = self._add_video_stream(container, format_name, mastering, light_level)
            if timecode is not None:
                # The muxers turn it into a tmcd track (MOV, MP4) or a TIMECODE tag (Matroska).
                self._stream.metadata["timecode"] = timecode
            if audio_source is not None:
                self._audio = AudioTrack(audio_source, container, format_name, audio_offset)
        except BaseException as exc:
            self.abort()
            raise self._translated(exc) from None
        self.notes: tuple[str, ...] = tuple(self._audio.notes) if self._audio else ()
        for note in self.notes:
            log.warning(note)

    def _add_video_stream(
        self,
        container: av.container.OutputContainer,
        format_name: str,
        mastering: MasteringDisplay | None,
        light_level: ContentLightLevel | None,
    ) -> av.VideoStream:
        stream = container.add_stream(self._codec.encoder, rate=self.fps)
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, self._codec.pix_fmt
        context = stream.codec_context
        context.time_base = 1 / self.fps
        tags = self.target.tags
        context.color_primaries, context.color_trc = tags.primaries, tags.transfer
        context.colorspace, context.color_range = tags.colorspace, ColorRange.MPEG
        if self._codec.encoder == "prores_ks":
            stream.options = {"profile": _PRORES_4444}
            return stream
        options = {"crf": str(self.target.crf), "preset": self.target.preset}
        key = "x265-params" if self._codec.encoder == "libx265" else "x264-params"
        options[key] = _x26x_params(self.target, mastering, light_level, (self.width, self.height))
        stream.options = options
        if self._codec.encoder == "libx265" and format_name != "matroska":
            # 'hvc1' (parameter sets in the sample entry) is what QuickTime and Apple devices play.
            context.codec_tag = "hvc1"
        return stream

    def _translated(self, exc: BaseException) -> BaseException:
        if isinstance(exc, LumigradeError):
            return exc
        if isinstance(exc, OSError):
            return output_error(exc, self.path)
        if isinstance(exc, av.FFmpegError):
            return OutputError(f"encoder failed ({exc})", self.path)
        return exc

    def _check(self, frame: Tensor) -> None:
        if frame.ndim != 3 or tuple(frame.shape) != (3, self.height, self.width):
            raise FormatError(
                f"frame {self._frames} is {tuple(frame.shape)}, expected (3, {self.height}, {self.width})",
                self.path,
            )
        if not all_finite(frame):
            raise FormatError(f"frame {self._frames} holds NaN or Inf", self.path)

    def _video_frame(self, planes: list[np.ndarray]) -> av.VideoFrame:
        video_frame = av.VideoFrame(self.width, self.height, self._codec.pix_fmt)
        for plane, codes in zip(video_frame.planes, planes, strict=True):
            # Planes may be padded to an aligned line size: write each row's first `width` samples.
            rows = np.frombuffer(plane, dtype=codes.dtype).reshape(plane.height, -1)
            rows[:, : plane.width] = codes
        tags = self.target.tags
        # Encoders such as prores_ks read the tags from the frame, not the context.
        video_frame.color_primaries, video_frame.color_trc = tags.primaries, tags.transfer
        video_frame.colorspace, video_frame.color_range = tags.colorspace, ColorRange.MPEG
        video_frame.pts = self._frames
        return video_frame

    def _mux_video(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            # x265 leaves the DTS uninitialised when a clip is shorter than its B-frame delay
            # (one or two frames with the default GOP); such clips come out in presentation
            # order, so DTS = PTS is exact. A real DTS lies within the reorder depth below PTS.
            pts, dts = packet.pts, packet.dts
            if pts is not None and (dts is None or not pts - _MAX_REORDER_DEPTH <= dts <= pts):
                packet.dts = pts
            self._container.mux(packet)

    def write(self, frame: Tensor) -> None:
        """Encode one (3, H, W) R'G'B' frame in [0, 1], on any device."""
        if self._finished:
            raise OutputError("the writer is closed", self.path)
        try:
            self._check(frame)
            planes = self.target.planes(frame)
        except BaseException as exc:
            self.abort()
            raise self._translated(exc) from None
        self.write_planes(planes)

    def write_planes(self, planes: list[np.ndarray]) -> None:
        """Encode one frame already turned into code planes by `target.planes`."""
        if self._finished:
            raise OutputError("the writer is closed", self.path)
        try:
            self._mux_video(self._stream.encode(self._video_frame(planes)))
            self._frames += 1
            if self._audio is not None:
                self._audio.pump(self._frames / self.fps)
        except BaseException as exc:
            self.abort()
            raise self._translated(exc) from None

    def close(self) -> None:
        """Flush the encoder, finish the file and rename it into place."""
        if self._finished:
            raise OutputError("the writer is closed", self.path)
        try:
            if self._frames == 0:
                raise OutputError("no frames were written", self.path)
            self._mux_video(self._stream.encode(None))
            if self._audio is not None:
                self._audio.finish(self._frames / self.fps)
                self._audio.close()
            self._container.close()
            self._output_file.commit()
        except BaseException as exc:
            self.abort()
            raise self._translated(exc) from None
        self._finished = True

    def abort(self) -> None:
        """Stop and remove everything written; the target is left as it was. Idempotent."""
        if self._finished:
            return
        self._finished = True
        # The file is being thrown away: a second failure while closing it changes nothing.
        if self._audio is not None:
            with contextlib.suppress(av.FFmpegError, OSError):
                self._audio.close()
        if self._container is not None:
            with contextlib.suppress(av.FFmpegError, OSError):
                self._container.close()
        self._output_file.discard()


def open_video_writer(
    path: str | Path,
    target: VideoTarget,
    width: int,
    height: int,
    fps: Fraction,
    *,
    audio_source: Path | None = None,
    audio_offset: float = 0.0,
    mastering: MasteringDisplay | None = None,
    light_level: ContentLightLevel | None = None,
    timecode: str | None = None,
) -> VideoWriter:
    """Open a video deliverable at `path` (.mp4, .mov or .mkv; ProRes: .mov).

    audio_source: a media file whose audio streams are copied, from `audio_offset` seconds on.
    mastering: ST 2086 display for HDR10 (default P3-D65, 1000 cd/m²); light_level: MaxCLL and
    MaxFALL measured by the caller, since x265 writes them before the first frame. timecode: the
    start timecode of the first frame (engine.io.timecode), written as the stream's.
    """
    path = Path(path)
    codec = DELIVERABLES[target.kind]
    if path.suffix.lower() not in codec.containers:
        raise OutputError(f"{target.kind} needs a {' or '.join(codec.containers)} file", path)
    if width <= 0 or height <= 0 or (codec.subsample and (width % 2 or height % 2)):
        raise OutputError(f"{target.kind} cannot encode {width}x{height} (4:2:0 needs even sizes)", path)
    if fps <= 0:
        raise OutputError(f"frame rate {fps} is not positive", path)
    return VideoWriter(
        path, target, width, height, Fraction(fps), audio_source, audio_offset, mastering, light_level,
        timecode,
    )


def open_frame_writer(
    path: str | Path,
    settings: OutputSettings,
    *,
    width: int,
    height: int,
    fps: Fraction,
    audio_source: Path | None = None,
    audio_offset: float = 0.0,
    mastering: MasteringDisplay | None = None,
    light_level: ContentLightLevel | None = None,
    timecode: str | None = None,
) -> FrameWriter:
    """The writer for a Grade's output settings: an EXR sequence or a video file."""
    if DELIVERABLES[settings.format].writer == "exr":
        return open_exr_sequence_writer(
            path, compression=settings.exr_compression, nits_per_unit=settings.exr_nits_per_unit,
            primaries=PRIMARIES[settings.exr_primaries],
        )
    target = VideoTarget(settings.format, crf=settings.crf, preset=settings.preset)
    return open_video_writer(
        path, target, width, height, fps, audio_source=audio_source, audio_offset=audio_offset,
        mastering=mastering if settings.format == "hdr10" else None, light_level=light_level,
        timecode=timecode,
    )
