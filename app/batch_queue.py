"""The render queue file (`lumigrade batch QUEUE.json`) and OpenTimelineIO cuts, validated whole.

A queue is versioned JSON (docs/batch.md has the format):

    {"lumigrade_queue": 1, "chunk_frames": 240,
     "jobs": [{"name": "sh010", "input": "clips/sh010.mov", "grade": "sh010.lumigrade",
               "frames": "0:480", "outputs": [{"format": "hdr10", "path": "out/sh010.mp4"},
                                              {"format": "exr", "path": "out/sh010_exr"}]},
              {"timeline": "cut.otio", "grade": "look.json",
               "outputs": [{"format": "hlg", "path": "out/{index:03d}_{clip}.mp4"}]}]}

Relative paths are relative to the queue file. "grade" is a grade file, a .lumigrade project,
or a grade's JSON object written inline (what the GUI's "Add to Render Queue" writes). A
"timeline" entry becomes one job per clip of the timeline: the clip's media reference is the
input and its source range the frames; output paths are templates of {clip} (the clip's name)
and {index} (its place in the timeline).

Everything is checked before anything starts: keys and types, inputs that open, frame ranges
inside the clips, grades and projects that load, formats and containers, output folders that
exist and can be written, and no two outputs on one path. The first problem raises GradeError
naming the queue, the job and the reason.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from engine.batch.plan import DEFAULT_CHUNK_FRAMES, Job, Output
from engine.deliverables import DELIVERABLES
from engine.errors import GradeError, LumigradeError
from engine.grade import Grade, JsonValidator, parse_json, read_text
from engine.io.encode_exr import sequence_layout
from engine.io.open import open_clip
from engine.render import parse_frame_range

QUEUE_SCHEMA_VERSION = 1
_QUEUE_KEYS = {"lumigrade_queue", "chunk_frames", "jobs"}
_JOB_KEYS = {"name", "input", "timeline", "grade", "frames", "chunk_frames", "outputs"}
_OUTPUT_KEYS = {"path", "format"}
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def load_grade(path: Path) -> Grade:
    """A grade JSON file, or the grade of a .lumigrade project."""
    from app.project import PROJECT_SUFFIX, Project

    return Project.load(path).grade if path.suffix == PROJECT_SUFFIX else Grade.load(path)


class _QueueParser(JsonValidator):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.base = path.absolute().parent
        self.grades: dict[Path, Grade] = {}

    def local(self, text: Any, where: str) -> Path:
        if not isinstance(text, str) or not text:
            raise self.fail(f"{where}: expected a path")
        return self.base / os.path.expanduser(text)

    def count(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(f"{where}: expected a whole number of frames above 0")
        return value

    def queue(self, data: Any) -> list[Job]:
        data = self.mapping(data, "queue", _QUEUE_KEYS)
        if data.get("lumigrade_queue") != QUEUE_SCHEMA_VERSION:
            raise self.fail(f"not a lumigrade queue (expected \"lumigrade_queue\": {QUEUE_SCHEMA_VERSION})")
        chunk_frames = self.count(data.get("chunk_frames", DEFAULT_CHUNK_FRAMES), "chunk_frames")
        entries = data.get("jobs")
        if not isinstance(entries, list) or not entries:
            raise self.fail("jobs: expected a list of at least one job")
        jobs: list[Job] = []
        for number, entry in enumerate(entries, 1):
            name = entry.get("name") if isinstance(entry, Mapping) else None
            label = f"job {number}" + (f" ({name})" if isinstance(name, str) else "")
            try:
                jobs += self.entry(entry, label, chunk_frames)
            except LumigradeError as exc:
                if exc.path == self.path:
                    raise
                raise self.fail(f"{label}: {exc}") from None
        self.check_unique(jobs)
        return jobs

    def entry(self, entry: Any, label: str, chunk_frames: int) -> list[Job]:
        entry = self.mapping(entry, label, _JOB_KEYS)
        if ("input" in entry) == ("timeline" in entry):
            raise self.fail(f"{label}: give either \"input\" or \"timeline\"")
        grade = self.grade(entry.get("grade"), label)
        chunk_frames = self.count(entry.get("chunk_frames", chunk_frames), f"{label}: chunk_frames")
        outputs = entry.get("outputs")
        if not isinstance(outputs, list) or not outputs:
            raise self.fail(f"{label}: outputs: expected a list of at least one deliverable")
        if "timeline" in entry:
            if "frames" in entry or "name" in entry:
                raise self.fail(f"{label}: a timeline's clips give the names and frames")
            return [self.job(name, path, frames, outputs, grade, chunk_frames, label, fields)
                    for name, path, frames, fields in timeline_clips(self.local(entry["timeline"], label))]
        source = self.local(entry["input"], f"{label}: input")
        name = entry.get("name", source.stem)
        if not isinstance(name, str) or not name or _UNSAFE_NAME.search(name):
            raise self.fail(f"{label}: name: expected letters, digits, '.', '_' or '-'")
        frames = entry.get("frames")
        if frames is not None and not isinstance(frames, str):
            raise self.fail(f"{label}: frames: expected \"START:END\"")
        return [self.job(name, source, frames, outputs, grade, chunk_frames, label, {})]

    def grade(self, value: Any, label: str) -> Grade:
        """A grade file, a project, or the grade's JSON written in the queue itself."""
        if value is None:
            return Grade()
        if isinstance(value, Mapping):
            try:
                return Grade.from_dict(value, self.path)
            except GradeError as exc:
                raise self.fail(f"{label}: grade: {exc.problem}") from None
        path = self.local(value, f"{label}: grade")
        if path not in self.grades:
            self.grades[path] = load_grade(path)
        return self.grades[path]

    def job(self, name: str, source: Path, frames: str | tuple[int, int] | None, outputs: list[Any],
            grade: Grade, chunk_frames: int, label: str, fields: dict[str, Any]) -> Job:
        label = f"{label} ({name})" if "(" not in label else label
        with open_clip(source) as clip:
            count = clip.info.frame_count
            width, height = clip.info.width, clip.info.height
        if isinstance(frames, tuple):
            start, stop = frames
            if not 0 <= start < stop <= count:
                raise self.fail(f"{label}: {source}: frames {start}:{stop} lie outside the clip's 0:{count}")
        else:
            start, stop = parse_frame_range(frames, count, source)
        made = tuple(self.output(o, f"{label}: output {i}", grade, fields, (width, height))
                     for i, o in enumerate(outputs, 1))
        return Job(name, source.absolute(), (start, stop), made, chunk_frames)

    def output(self, value: Any, label: str, grade: Grade, fields: dict[str, Any],
               size: tuple[int, int]) -> Output:
        value = self.mapping(value, label, _OUTPUT_KEYS)
        fmt = value.get("format", grade.output.format)
        if not isinstance(fmt, str) or fmt not in DELIVERABLES:
            raise self.fail(f"{label}: unknown format {fmt!r} (one of {', '.join(DELIVERABLES)})")
        template = value.get("path")
        if not isinstance(template, str) or not template:
            raise self.fail(f"{label}: path: expected a path")
        try:
            text = template.format(**fields) if fields else template
        except (KeyError, IndexError, ValueError) as exc:
            raise self.fail(f"{label}: path {template!r}: unknown field {exc}") from None
        path = self.local(text, label).absolute()
        deliverable = DELIVERABLES[fmt]
        if deliverable.writer == "video":
            if path.suffix.lower() not in deliverable.containers:
                raise self.fail(f"{label}: {path}: {fmt} needs a {' or '.join(deliverable.containers)} file")
            if deliverable.subsample and (size[0] % 2 or size[1] % 2):
                raise self.fail(f"{label}: {fmt} cannot encode {size[0]}x{size[1]} (4:2:0 needs even sizes)")
            folder = path.parent
        else:
            folder = sequence_layout(path)[0].parent
        if not folder.is_dir():
            raise self.fail(f"{label}: {folder}: output folder does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise self.fail(f"{label}: {folder}: output folder is not writable")
        settings = grade.output.__class__(**{**grade.output.__dict__, "format": fmt})
        return Output(path, grade.replace(output=settings))

    def check_unique(self, jobs: list[Job]) -> None:
        names: set[str] = set()
        paths: dict[Path, str] = {}
        inputs = {job.input for job in jobs}
        for job in jobs:
            if job.name in names:
                raise self.fail(f"job name {job.name!r} is used twice; give each job its own \"name\"")
            names.add(job.name)
            for output in job.outputs:
                if output.path in paths:
                    raise self.fail(f"jobs {paths[output.path]} and {job.name} write the same output "
                                    f"{output.path}")
                if output.path in inputs:
                    raise self.fail(f"job {job.name} would overwrite an input, {output.path}")
                paths[output.path] = job.name


def timeline_clips(path: Path) -> list[tuple[str, Path, tuple[int, int], dict[str, Any]]]:
    """(job name, media file, frame range, template fields) of every clip of an OTIO timeline."""
    import opentimelineio as otio

    if not path.is_file():
        raise GradeError("timeline not found", path)
    try:
        timeline = otio.adapters.read_from_file(str(path))
    except Exception as exc:  # OTIO raises its own exception types, and ValueError, for bad files
        raise GradeError(f"not a readable OpenTimelineIO timeline ({exc})", path) from None
    clips = list(timeline.find_clips()) if hasattr(timeline, "find_clips") else []
    if not clips:
        raise GradeError("timeline holds no clips", path)
    result = []
    for index, clip in enumerate(clips):
        where = f"clip {index} ({clip.name})"
        reference = clip.media_reference
        if not isinstance(reference, otio.schema.ExternalReference) or not reference.target_url:
            raise GradeError(f"{where} has no media file", path)
        url = urlparse(reference.target_url)
        media = Path(unquote(url.path) if url.scheme == "file" else reference.target_url)
        media = media if media.is_absolute() else path.absolute().parent / media
        with open_clip(media) as opened:
            rate = float(opened.info.fps)
        used = clip.trimmed_range()
        origin = reference.available_range.start_time if reference.available_range else None
        first = used.start_time - origin if origin is not None else used.start_time
        start = round(first.to_frames(rate))
        frames = (start, start + round(used.duration.to_frames(rate)))
        safe = _UNSAFE_NAME.sub("_", clip.name or media.stem).strip("_") or media.stem
        name = f"{path.stem}-{index:03d}-{safe}"
        result.append((name, media, frames, {"clip": safe, "index": index}))
    return result


def load_queue(path: Path) -> list[Job]:
    """The jobs of a queue file (.json) or of an OpenTimelineIO timeline given as a queue entry."""
    return _QueueParser(path).queue(parse_json(read_text(path, "queue file"), path))


def timeline_queue(timeline: Path, formats: list[str], folder: Path, grade: Path | None) -> dict[str, Any]:
    """The queue that renders every clip of `timeline` to `formats` in `folder` (CLI shortcut)."""
    outputs = []
    for fmt in formats:
        suffix = DELIVERABLES[fmt].extension if fmt in DELIVERABLES else ""
        name = f"{{index:03d}}_{{clip}}_{fmt}{suffix}"
        outputs.append({"format": fmt, "path": str(folder.absolute() / name)})
    job: dict[str, Any] = {"timeline": str(timeline.absolute()), "outputs": outputs}
    if grade is not None:
        job["grade"] = str(grade.absolute())
    return {"lumigrade_queue": QUEUE_SCHEMA_VERSION, "jobs": [job]}


def jobs_from_data(data: Any, path: Path) -> list[Job]:
    """Validated jobs of queue data that did not come from a file (`path` names it in errors)."""
    return _QueueParser(path).queue(data)
