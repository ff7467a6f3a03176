"""Chunks back into one deliverable: video parts joined by stream copy, EXR parts renumbered.

Video parts are encoded with the same settings (and, for HDR10, the same ST 2086 display and
the same MaxCLL/MaxFALL measured over the whole clip), each starting on an IDR picture, so
their packets can follow each other untouched: the join copies them into one container, shifts
each part's timestamps by the length of the parts before it, and takes the stream's parameters
(colour tags, codec tag, extradata) from the first part. Nothing is decoded or re-encoded. The
source's audio is copied once, over the job's whole range, by the writer's own AudioTrack.

A part counts as finished only once `verify_part` has read it back: a video part must hold
exactly its frames' packets, an EXR part exactly its frames' files.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av

from engine.deliverables import DELIVERABLES, MUXERS
from engine.errors import OutputError
from engine.io.atomic import AtomicOutput
from engine.io.encode_audio import AudioTrack
from engine.io.encode_exr import sequence_layout
from engine.io.timecode import start_timecode


def part_path(work: Path, fmt: str, output: Path, index: int) -> Path:
    """Where chunk `index` of a deliverable is written inside the job's work folder."""
    name = f"chunk-{index:04d}"
    writer = DELIVERABLES[fmt]
    return work / (name if writer.writer == "exr" else name + output.suffix.lower())


def verify_part(part: Path, fmt: str, frames: int) -> int:
    """The part's size in bytes once it is shown to hold `frames` frames; OutputError otherwise."""
    if DELIVERABLES[fmt].writer == "exr":
        folder, pattern = sequence_layout(part)
        names = [pattern % i for i in range(frames)]
        if not folder.is_dir() or sorted(p.name for p in folder.iterdir()) != sorted(names):
            raise OutputError(f"chunk does not hold its {frames} frames", part)
        return sum((folder / n).stat().st_size for n in names)
    try:
        with av.open(str(part)) as container:
            stream = container.streams.video[0]
            count = sum(1 for p in container.demux(stream) if p.size)
    except (av.FFmpegError, OSError, IndexError) as exc:
        raise OutputError(f"chunk cannot be read back ({exc})", part) from None
    if count != frames:
        raise OutputError(f"chunk holds {count} frames, expected {frames}", part)
    return part.stat().st_size


def assemble_exr(parts: list[Path], output: Path) -> Path:
    """Move the parts' frames, renumbered from 0 in order, into the output sequence at once."""
    folder, pattern = sequence_layout(output)
    target = AtomicOutput(folder, directory=True)
    try:
        number = 0
        for part in parts:
            part_folder, part_pattern = sequence_layout(part)
            count = sum(1 for _ in part_folder.iterdir())
            for i in range(count):
                os.replace(part_folder / (part_pattern % i), target.temp / (pattern % number))
                number += 1
    except BaseException:
        target.discard()
        raise
    return target.commit()


def join_video(parts: list[Path], output: Path, audio_source: Path | None, audio_offset: float) -> Path:
    """Concatenate encoded parts into `output` by packet copy; audio from `audio_source` once."""
    target = AtomicOutput(output)
    format_name = MUXERS[output.suffix.lower()]
    try:
        with av.open(str(target.temp), "w", format=format_name) as container:
            audio: AudioTrack | None = None
            stream: av.VideoStream | None = None
            offset = 0
            last_dts: int | None = None
            time_base: Fraction | None = None
            for number, part in enumerate(parts):
                with av.open(str(part)) as source:
                    video = source.streams.video[0]
                    if stream is None:
                        stream = container.add_stream_from_template(video)
                        stream.time_base = time_base = video.time_base
                        # The muxer picks 'hev1' for a copied stream; the renders write 'hvc1'.
                        stream.codec_tag = video.codec_context.codec_tag
                        # The first part starts where the clip does: its start timecode is the
                        # joined file's (a tmcd track or a TIMECODE tag is not a copied stream).
                        timecode = start_timecode(
                            [video.metadata, *(s.metadata for s in source.streams), source.metadata],
                            Fraction(video.average_rate or video.guessed_rate or 24))
                        if timecode is not None:
                            stream.metadata["timecode"] = timecode
                            # MOV's muxer makes the tmcd track only for a stream with a frame rate.
                            stream.codec_context.framerate = video.average_rate
                        if audio_source is not None:
                            audio = AudioTrack(audio_source, container, format_name, audio_offset)
                    if video.time_base != time_base:
                        raise OutputError(f"chunk {number} has time base {video.time_base}, "
                                          f"the first has {time_base}", part)
                    end = offset
                    for packet in source.demux(video):
                        if packet.pts is None:
                            continue  # the demuxer's end-of-stream marker
                        end = max(end, offset + packet.pts + (packet.duration or 0))
                        packet.pts += offset
                        packet.dts = packet.pts if packet.dts is None else packet.dts + offset
                        if last_dts is not None and packet.dts <= last_dts:
                            raise OutputError(f"chunk {number} would decode before the one ahead of it", part)
                        last_dts = packet.dts
                        packet.stream = stream
                        if audio is not None:
                            audio.pump(float(packet.pts * time_base))
                        container.mux(packet)
                    offset = end
            if audio is not None:
                assert time_base is not None
                audio.finish(float(offset * time_base))
                audio.close()
    except BaseException as exc:
        target.discard()
        if isinstance(exc, av.FFmpegError):
            raise OutputError(f"cannot join the chunks ({exc})", output) from None
        raise
    return target.commit()
