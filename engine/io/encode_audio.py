"""The source's audio into a rendered video: packets copied untouched, or AAC when the container refuses.

A grade never changes sound, so audio is copied packet for packet (no generation loss) and
interleaved with the video as frames arrive. Only when the output container cannot carry the
source codec is it decoded and encoded to AAC (ISO/IEC 14496-3), and the writer reports that.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.stream

from engine.errors import MediaError

# FFmpeg 7 can put PCM in MP4 (ISO/IEC 23003-5), but readers older than that, ffmpeg 5.1 among
# them, cannot read it back; PCM therefore goes to AAC in .mp4 and is copied into .mov and .mkv.
_REFUSED_BY_FORMAT = {"mp4": ("pcm_",)}
_AAC_BITRATE_PER_CHANNEL = 128_000
# WAV and raw PCM often leave the channel order unspecified ('2 channels'), which FFmpeg's AAC
# encoder refuses; these are its layouts (ISO/IEC 14496-3 channel configurations 1-7) by count.
_AAC_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "4.0", 5: "5.0", 6: "5.1", 8: "7.1"}


def _can_copy(output: av.container.OutputContainer, format_name: str, codec: str) -> bool:
    refused = _REFUSED_BY_FORMAT.get(format_name, ())
    return codec in output.supported_codecs and not codec.startswith(refused)


class AudioTrack:
    """Every audio stream of `source`, muxed into `output` from `offset` seconds of the source on."""

    def __init__(
        self,
        source: Path,
        output: av.container.OutputContainer,
        format_name: str,
        offset: float = 0.0,
    ) -> None:
        try:
            self._input = av.open(str(source))
        except (av.FFmpegError, OSError) as exc:
            raise MediaError(f"cannot read the audio source ({exc})", source) from None
        self._output = output
        self._offset = offset
        self.notes: list[str] = []
        self._routes: dict[int, tuple[av.stream.Stream, bool]] = {}  # source index -> (output, copied)
        for stream in self._input.streams.audio:
            codec = stream.codec_context.name
            if _can_copy(output, format_name, codec):
                self._routes[stream.index] = (output.add_stream_from_template(stream), True)
                continue
            layout = _AAC_LAYOUTS.get(stream.channels, stream.layout.name)
            aac = output.add_stream("aac", rate=stream.rate, layout=layout)
            aac.bit_rate = _AAC_BITRATE_PER_CHANNEL * stream.channels
            # The container opens every encoder before the first packet; AAC needs its clock by then.
            aac.codec_context.time_base = Fraction(1, stream.rate)
            self._routes[stream.index] = (aac, False)
            self.notes.append(
                f"{source}: audio stream {stream.index} ({codec}) cannot be copied into "
                f"{format_name}; transcoded to AAC at {aac.bit_rate // 1000} kb/s"
            )
        self._packets = self._timed_packets()
        self._pending: tuple[float, av.Packet] | None = None

    @property
    def has_audio(self) -> bool:
        return bool(self._routes)

    def _timed_packets(self) -> Iterator[tuple[float, av.Packet]]:
        """Source packets with their start in output seconds, those over before the offset dropped."""
        streams = [s for s in self._input.streams.audio if s.index in self._routes]
        for packet in self._input.demux(streams):
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None or packet.time_base is None:
                continue  # the demuxer's end-of-stream marker
            start = float(stamp * packet.time_base) - self._offset
            # A packet that ends after the offset is kept even when it starts before it (AAC's
            # priming packet has a negative time): the muxer's edit list trims what is early.
            if start + float((packet.duration or 0) * packet.time_base) < 0.0:
                continue
            if self._offset:
                shift = round(Fraction(self._offset).limit_denominator(1 << 20) / packet.time_base)
                packet.pts = stamp - shift
                packet.dts = None if packet.dts is None else packet.dts - shift
            yield start, packet

    def _mux(self, packet: av.Packet) -> None:
        target, copied = self._routes[packet.stream.index]
        if copied:
            packet.stream = target
            self._output.mux(packet)
            return
        for frame in packet.decode():
            frame.pts = None  # the encoder counts samples from the first one it is given
            self._output.mux(target.encode(frame))

    def pump(self, until: float) -> None:
        """Mux the packets that start before `until` seconds of output."""
        while True:
            if self._pending is None:
                self._pending = next(self._packets, None)
                if self._pending is None:
                    return
            start, packet = self._pending
            if start >= until:
                return
            self._pending = None
            self._mux(packet)

    def finish(self, end: float) -> None:
        """Mux what starts before `end` (the video's length), drop the rest, flush the encoders."""
        self.pump(end)
        for target, copied in self._routes.values():
            if not copied:
                self._output.mux(target.encode(None))

    def close(self) -> None:
        self._input.close()
