"""What a render queue asks for, and how each deliverable is cut into chunks for the workers.

A Job is one input clip (a frame range of it) and one or more deliverables, each a path and a
Grade whose output settings say the format. Each deliverable is rendered in chunks: consecutive
frame ranges that workers render independently and a join puts back together.

Where a chunk may start depends on the grade. A single-frame grade (a curve or spatial ITM with
no frame statistics) renders every frame from that frame alone, so any frame range will do. The
temporal mode reconstructs a frame from others of its shot, and operators that read stabilised
frame statistics carry them from frame to frame until a scene cut resets them; for those, a
chunk holds whole shots, found by the histogram cut detector of engine.temporal.cuts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from engine.deliverables import DELIVERABLES
from engine.grade import Grade
from engine.io.clip import Clip
from engine.operators.catalogue import operator_class

DEFAULT_CHUNK_FRAMES = 240  # ten seconds at 24 fps: long enough that joins and startup stay small


@dataclass(frozen=True)
class Output:
    """One deliverable of a job: where it goes and the grade (with its format) it is rendered with."""

    path: Path
    grade: Grade

    @property
    def format(self) -> str:
        return self.grade.output.format


@dataclass(frozen=True)
class Job:
    """One input clip, a frame range [start, stop) of it, and its deliverables."""

    name: str
    input: Path
    frames: tuple[int, int]
    outputs: tuple[Output, ...]
    chunk_frames: int = DEFAULT_CHUNK_FRAMES

    @property
    def frame_count(self) -> int:
        return self.frames[1] - self.frames[0]


@dataclass(frozen=True)
class Chunk:
    """Frames [start, stop) of output `output` of job `job`, rendered by one task."""

    job: str
    output: int
    index: int
    start: int
    stop: int

    @property
    def key(self) -> str:
        return f"{self.job}/{self.output}/{self.index}"

    @property
    def frames(self) -> int:
        return self.stop - self.start


def needs_whole_shots(grade: Grade) -> bool:
    """True when a frame's result depends on earlier frames of its shot: the temporal mode, or an
    operator that reads stabilised frame statistics (engine.stats), which a cut resets."""
    if grade.temporal or operator_class("itm", grade.itm.name).needs_stats:
        return True
    sdr = DELIVERABLES[grade.output.format].view == "sdr"
    return sdr and operator_class("tmo", grade.tmo.name).needs_stats


def frame_chunks(start: int, stop: int, chunk_frames: int) -> list[tuple[int, int]]:
    """[start, stop) as near-equal consecutive ranges of at most `chunk_frames` frames."""
    count = -(-(stop - start) // chunk_frames)
    bounds = [start + (stop - start) * i // count for i in range(count + 1)]
    return list(itertools.pairwise(bounds))


def shot_chunks(shots: list[range], chunk_frames: int) -> list[tuple[int, int]]:
    """Consecutive whole shots packed into chunks of about `chunk_frames` frames; a longer shot is
    a chunk of its own."""
    chunks: list[tuple[int, int]] = []
    first: int | None = None
    for shot in shots:
        if first is None:
            first = shot.start
        if shot.stop - first >= chunk_frames:
            chunks.append((first, shot.stop))
            first = None
    if first is not None:
        chunks.append((first, shots[-1].stop))
    return chunks


def detect_shots(clip: Clip, grade: Grade, start: int, stop: int) -> list[range]:
    """The shots of frames [start, stop), from log-luminance histograms of the input's linear
    light (engine.temporal.cuts); a histogram cut is a superset of the motion-confirmed cuts the
    temporal analysis keeps, so a chunk never splits a shot that analysis sees whole."""
    # Imported here: the temporal package pulls in OpenCV, which frame-range chunking never needs.
    from engine.pipeline import Pipeline
    from engine.temporal.analysis import thumbnail
    from engine.temporal.cuts import centred_log_histogram, detect_cuts, histogram_distance, shots_from_cuts
    from engine.temporal.params import TemporalParams

    pipeline = Pipeline(grade, clip, "cpu")
    histograms = [centred_log_histogram(thumbnail(pipeline.source(i, signal)))
                  for i, signal in clip.frames(start, stop)]
    distances = [histogram_distance(a, b) for a, b in itertools.pairwise(histograms)]
    floor = TemporalParams(**dict(grade.temporal_params)).cut_threshold
    return [range(s.start + start, s.stop + start)
            for s in shots_from_cuts(detect_cuts(distances, floor=floor), stop - start)]


def plan_chunks(job: Job, clip: Clip) -> list[Chunk]:
    """Every chunk of every deliverable of `job`; the ranges are shared by its deliverables."""
    start, stop = job.frames
    ranges_by_mode: dict[bool, list[tuple[int, int]]] = {}
    chunks: list[Chunk] = []
    for number, output in enumerate(job.outputs):
        whole_shots = needs_whole_shots(output.grade)
        if whole_shots not in ranges_by_mode:
            ranges_by_mode[whole_shots] = (
                shot_chunks(detect_shots(clip, output.grade, start, stop), job.chunk_frames)
                if whole_shots else frame_chunks(start, stop, job.chunk_frames)
            )
        chunks += [Chunk(job.name, number, i, a, b) for i, (a, b) in enumerate(ranges_by_mode[whole_shots])]
    return chunks
