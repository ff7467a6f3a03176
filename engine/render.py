"""Streaming render jobs: a frame range through the Pipeline into a deliverable.

Memory stays bounded: frames are decoded, graded and encoded one at a time. Progress goes to a
callback per stage, a CancelToken stops the job between frames, and the output appears only
when complete (engine.io.atomic); a cancelled or failed job leaves nothing behind.

HDR10 needs MaxCLL and MaxFALL (CTA-861.3) before x265 writes its first SEI, and they must be
measured from the frames actually rendered, so an HDR10 render makes an analysis pass first.
On the stage path that pass keeps the encoder's code planes in an anonymous spool file beside
the output (within a disk budget), so the encode pass only encodes; past the budget, and always
for the per-pixel processor (cheaper than the spool's write and read), it renders again.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from engine.color.primaries import PRIMARIES
from engine.deliverables import DELIVERABLES
from engine.errors import FormatError, GradeError, OutputError
from engine.finite import all_finite
from engine.grade import Grade
from engine.io.clip import Clip
from engine.io.encode import VideoTarget, VideoWriter, open_frame_writer
from engine.io.hdr_metadata import ContentLightLevel, LightLevelMeter, MasteringDisplay
from engine.io.open import open_clip
from engine.io.timecode import timecode_at
from engine.jobs import CancelToken, ProgressFn
from engine.pipeline import Pipeline
from engine.prefetch import prefetched
from engine.processor.formats import TargetFormat
from engine.processor.grade_processor import GradeProcessor

SPOOL_MAX_BYTES = 8 << 30  # and at most a quarter of the free space of the output's disk


class _PlaneSpool:
    """Encoder-ready planes of the analysis pass, in an unnamed file that vanishes on close."""

    def __init__(self, folder: Path) -> None:
        self.budget = min(SPOOL_MAX_BYTES, shutil.disk_usage(folder).free // 4)
        # Closed by the render's `finally`; an unnamed file leaves nothing even after a crash.
        self._file = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115
        self._layout: list[tuple[tuple[int, ...], np.dtype]] = []
        self.complete = True

    def append(self, planes: list[np.ndarray]) -> None:
        if not self.complete:
            return
        size = sum(p.nbytes for p in planes)
        try:
            if self._file.tell() + size > self.budget:
                raise OSError("spool budget reached")
            for plane in planes:
                self._file.write(np.ascontiguousarray(plane).data)  # the buffer itself, no copy
        except OSError:
            self.complete = False  # the encode pass renders again instead
            self._file.truncate(0)
            return
        self._layout = [(p.shape, p.dtype) for p in planes]

    def replay(self, count: int) -> Iterator[list[np.ndarray]]:
        self._file.seek(0)
        for _ in range(count):
            yield [np.frombuffer(self._file.read(int(np.prod(shape)) * dtype.itemsize), dtype).reshape(shape)
                   for shape, dtype in self._layout]

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True)
class RenderSummary:
    """What a finished render reports (the CLI's --json and the GUI's export summary)."""

    output: str
    format: str
    frames: int
    fps: float
    seconds: float
    max_cll: float
    max_fall: float
    device: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_frame_range(text: str | None, frame_count: int, path: Path | None = None) -> tuple[int, int]:
    """'START:END' (END exclusive, either side optional) -> a checked [start, stop) range."""
    if not text:
        return 0, frame_count
    head, sep, tail = text.partition(":")
    try:
        start = int(head) if head else 0
        stop = int(tail) if sep and tail else (frame_count if sep else start + 1)
    except ValueError:
        raise GradeError(f"frame range {text!r} is not START:END", path) from None
    if not 0 <= start < stop <= frame_count:
        raise GradeError(f"frame range {text!r} is outside the clip's 0:{frame_count}", path)
    return start, stop


def _stage_progress(progress: ProgressFn | None) -> Callable[[str, float], None] | None:
    """Adapt the temporal reconstructor's (stage, fraction) reports to (stage, done, total)."""
    if progress is None:
        return None
    return lambda stage, fraction: progress(stage, round(fraction * 1000), 1000)


def render(
    source: str | Path | Clip,
    output: str | Path,
    grade: Grade,
    *,
    frames: tuple[int, int] | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    device: torch.device | str | None = None,
    light_level: ContentLightLevel | None = None,
    audio: bool = True,
) -> RenderSummary:
    """Render `frames` of `source` through `grade` into `output` in grade.output.format.

    light_level: MaxCLL/MaxFALL already measured over a larger whole (a clip rendered in chunks,
    engine.batch); an HDR10 render then writes them and skips its own analysis pass.
    audio: False leaves the source's audio out (chunks of a clip, whose join copies it once).
    """
    clip = open_clip(source) if isinstance(source, (str, Path)) else source
    try:
        return _render(clip, Path(output), grade, frames, progress, cancel or CancelToken(), device,
                       light_level, audio)
    finally:
        if isinstance(source, (str, Path)):
            clip.close()


@dataclass(frozen=True)
class _Rendered:
    """One rendered frame: the encoder's code planes (the processor, or the stage path for a
    spooled HDR10 pass) or the output signal (the stage path), and its light levels."""

    index: int
    planes: list[np.ndarray] | None
    signal: Tensor | None
    max_light: float
    mean_light: float


def _staged(pipeline: Pipeline, view: str, start: int, stop: int, meter: LightLevelMeter,
            target: VideoTarget | None, output: Path) -> Iterator[_Rendered]:
    """Frames through the stages; with `target`, as its code planes (checked finite first)."""
    for index, hdr in pipeline.iter_hdr(start, stop):
        signal = pipeline.output(index, hdr, view)
        levels = meter.levels(hdr)
        if target is None:
            yield _Rendered(index, None, signal, *levels)
            continue
        if not all_finite(hdr):
            raise FormatError(f"frame {index} holds NaN or Inf after grading", output)
        yield _Rendered(index, target.planes(signal), None, *levels)


def _processed(clip: Clip, processor: GradeProcessor, start: int, stop: int,
               light_only: bool) -> Iterator[_Rendered]:
    """Decoded planes through the processor: decoding runs a frame or two ahead in its own thread.
    light_only: the light levels alone, from a kernel that stops at the meter (no planes)."""
    for index, planes in prefetched(clip.planes(start, stop)):  # type: ignore[attr-defined]
        if light_only:
            yield _Rendered(index, None, None, *processor.light_levels(index, planes))
            continue
        done = processor(index, planes)
        yield _Rendered(index, done.planes, None, done.max_light, done.mean_light)


class _Graded:
    """The graded frames of one render: its pipeline, the encoder's target and, where the grade
    allows, the fused processor; shared by the render and its measure-only analysis pass."""

    def __init__(self, clip: Clip, output: Path, grade: Grade, frames: tuple[int, int] | None,
                 progress: ProgressFn | None, cancel: CancelToken, device: torch.device | str | None) -> None:
        self.clip, self.output = clip, output
        deliverable = DELIVERABLES[grade.output.format]
        self.view = deliverable.view
        self.pipeline = Pipeline(grade, clip, device)
        self.start, self.stop = frames if frames is not None else (0, clip.info.frame_count)
        if self.pipeline.temporal is not None:
            self.pipeline.temporal.analyse(_stage_progress(progress))
            cancel.check(output)
        self.target: VideoTarget | None = None
        self.processor: GradeProcessor | None = None
        if deliverable.writer == "video":
            settings = grade.output
            self.target = VideoTarget(settings.format, crf=settings.crf, preset=settings.preset)
            planes = TargetFormat(deliverable.bits, self.target.tags.matrix, False, deliverable.subsample,
                                  deliverable.chroma_siting)
            self.processor = self.pipeline.processor(self.view, planes)

    @property
    def total(self) -> int:
        return self.stop - self.start

    def rendered(self, meter: LightLevelMeter, as_planes: bool,
                 light_only: bool = False) -> Iterator[_Rendered]:
        """The frames in order, graded a frame or two ahead of the encoder in another thread.
        light_only: the processor may leave out the planes (a measure-only pass)."""
        if self.processor is not None:
            return prefetched(_processed(self.clip, self.processor, self.start, self.stop, light_only))
        staged = _staged(self.pipeline, self.view, self.start, self.stop, meter,
                         self.target if as_planes else None, self.output)
        # Temporal reconstruction stays on this thread: OpenCV's RANSAC draws from a per-thread
        # random generator, so another thread would give other (equally valid) motion fits.
        return staged if self.pipeline.temporal is not None else prefetched(staged)


def measure_light_levels(
    source: str | Path | Clip,
    grade: Grade,
    *,
    frames: tuple[int, int] | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    device: torch.device | str | None = None,
) -> ContentLightLevel:
    """MaxCLL and MaxFALL (CTA-861.3) of `frames` rendered through `grade`, nothing written: the
    HDR10 analysis pass alone, for a clip whose chunks are encoded apart (engine.batch)."""
    clip = open_clip(source) if isinstance(source, (str, Path)) else source
    try:
        cancel = cancel or CancelToken()
        graded = _Graded(clip, clip.info.path, grade, frames, progress, cancel, device)
        meter = LightLevelMeter(grade.peak_nits)
        report = progress or (lambda stage, done, n: None)
        for done, frame in enumerate(graded.rendered(meter, as_planes=True, light_only=True), 1):
            cancel.check(clip.info.path)
            meter.add_levels(frame.max_light, frame.mean_light)
            report("analysis", done, graded.total)
        return meter.result()
    finally:
        if isinstance(source, (str, Path)):
            clip.close()


def _render(
    clip: Clip,
    output: Path,
    grade: Grade,
    frames: tuple[int, int] | None,
    progress: ProgressFn | None,
    cancel: CancelToken,
    device: torch.device | str | None,
    light: ContentLightLevel | None,
    audio: bool,
) -> RenderSummary:
    started = time.perf_counter()
    fmt = grade.output.format
    graded = _Graded(clip, output, grade, frames, progress, cancel, device)
    start, total = graded.start, graded.total
    report = progress or (lambda stage, done, n: None)
    folder = output.absolute().parent
    if not folder.is_dir():
        raise OutputError("output folder does not exist", folder)
    meter = LightLevelMeter(grade.peak_nits)

    analyse = fmt == "hdr10" and light is None
    spool: _PlaneSpool | None = None
    if analyse and graded.processor is None:
        # The stages take far longer per frame than writing its planes out and reading them
        # back; the processor takes less (4.7 ms against about 11 ms for a 1080p frame on 2
        # cores), so its frames are computed again in the encode pass, alongside x265.
        spool = _PlaneSpool(folder)
    try:
        if analyse:
            # MaxCLL/MaxFALL go into x265's first SEI: measure every frame first.
            for done, frame in enumerate(graded.rendered(meter, True, light_only=spool is None), 1):
                cancel.check(output)
                meter.add_levels(frame.max_light, frame.mean_light)
                if spool is not None:
                    assert frame.planes is not None
                    spool.append(frame.planes)
                report("analysis", done, total)
            light = meter.result()
        writer = open_frame_writer(
            output,
            grade.output,
            width=clip.info.width,
            height=clip.info.height,
            fps=Fraction(clip.info.fps),
            audio_source=clip.info.path if clip.info.has_audio and audio else None,
            audio_offset=start / float(clip.info.fps),
            mastering=MasteringDisplay.from_primaries(
                PRIMARIES[grade.output.mastering_primaries], grade.peak_nits, grade.output.mastering_min_nits
            ),
            light_level=light,
            timecode=None if clip.info.timecode is None else timecode_at(clip.info.timecode, clip.info.fps,
                                                                          start),
        )
        try:
            if spool is not None and spool.complete and isinstance(writer, VideoWriter):
                for done, planes in enumerate(prefetched(spool.replay(total)), 1):
                    cancel.check(output)
                    writer.write_planes(planes)
                    report("encode", done, total)
            else:
                meter = LightLevelMeter(grade.peak_nits)
                as_planes = fmt == "hdr10"
                for done, frame in enumerate(graded.rendered(meter, as_planes), 1):
                    cancel.check(output)
                    meter.add_levels(frame.max_light, frame.mean_light)
                    if frame.planes is not None and isinstance(writer, VideoWriter):
                        writer.write_planes(frame.planes)
                    else:
                        assert frame.signal is not None
                        writer.write(frame.signal)
                    report("encode", done, total)
            cancel.check(output)
            writer.close()
        except BaseException:
            writer.abort()
            raise
    finally:
        if spool is not None:
            spool.close()
    measured = meter.result()
    return RenderSummary(
        output=str(output),
        format=fmt,
        frames=total,
        fps=float(clip.info.fps),
        seconds=time.perf_counter() - started,
        max_cll=measured.max_cll,
        max_fall=measured.max_fall,
        device=str(graded.pipeline.device),
    )
