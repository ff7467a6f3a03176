"""The queue runner: plans every job's chunks, runs them on an executor, joins the deliverables.

For each deliverable of each job: an HDR10 deliverable first measures MaxCLL/MaxFALL chunk by
chunk (the analysis pass, in parallel); once every chunk of it is measured, the figures of the
whole clip (the largest of each) go to every chunk's encode, so all parts carry the same
CTA-861.3 and ST 2086 SEI. Other formats encode at once. When the last part of a deliverable is
in, it is joined (engine.batch.join) into the output, atomically, and its work folder removed.

Every finished task is recorded in the QueueState; a run over the same queue skips what is
recorded and still valid, so a queue stopped by a crash, a killed worker or Ctrl-C resumes.
Events (plain dicts) report the plan, each task's frames, each finished task and deliverable.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.batch.executors import Executor
from engine.batch.join import assemble_exr, join_video, part_path, verify_part
from engine.batch.plan import Chunk, Job, Output, plan_chunks
from engine.batch.state import QueueState, fingerprint, input_identity
from engine.batch.tasks import Task, TaskResult
from engine.deliverables import DELIVERABLES
from engine.errors import OutputError, RenderCancelled
from engine.io.hdr_metadata import ContentLightLevel
from engine.io.open import open_clip
from engine.jobs import CancelToken

EventFn = Callable[[dict[str, Any]], None]
_POLL_S = 0.2


class WorkerLost(RuntimeError):
    """A worker process died (killed, out of memory); finished chunks stay recorded for a resume."""


@dataclass(frozen=True)
class BatchSummary:
    """What a queue run did: deliverables written or already there, tasks run or reused."""

    written: tuple[str, ...]
    already_done: tuple[str, ...]
    tasks_run: tuple[str, ...]
    tasks_reused: tuple[str, ...]
    frames: int
    seconds: float
    executor: str
    workers: int

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


@dataclass
class _Deliverable:
    """One output of one job while the queue runs."""

    job: Job
    number: int
    output: Output
    chunks: list[Chunk]
    audio: bool
    fps: float
    identity: list[Any]
    measured: dict[int, ContentLightLevel] = field(default_factory=dict)
    encoded: set[int] = field(default_factory=set)

    @property
    def key(self) -> str:
        return f"{self.job.name}/{self.number}"

    @property
    def hdr10(self) -> bool:
        return self.output.format == "hdr10"

    @property
    def work(self) -> Path:
        """The parts' folder, beside the output on the same (shared) storage."""
        target = self.output.path.absolute()
        return target.parent / f".{target.name}.lumigrade-batch"

    @property
    def print_(self) -> str:
        ranges = [(c.start, c.stop) for c in self.chunks]
        target = str(self.output.path.absolute())
        return fingerprint(self.identity, self.output.grade.to_dict(), target, ranges)

    @property
    def light(self) -> ContentLightLevel | None:
        """MaxCLL/MaxFALL of the whole range once every chunk is measured (CTA-861.3: maxima)."""
        if not self.hdr10 or len(self.measured) < len(self.chunks):
            return None
        levels = self.measured.values()
        return ContentLightLevel(max(x.max_cll for x in levels), max(x.max_fall for x in levels))

    def work_frames(self) -> int:
        return self.job.frame_count * (2 if self.hdr10 else 1)

    def task(self, chunk: Chunk, kind: str) -> tuple[Task, str]:
        grade = self.output.grade.to_dict()
        if kind == "measure":
            return (Task(chunk, "measure", self.job.input, self.output.grade),
                    fingerprint("measure", self.identity, grade, chunk.start, chunk.stop))
        light = self.light
        part = part_path(self.work, self.output.format, self.output.path, chunk.index)
        levels = None if light is None else [light.max_cll, light.max_fall]
        return (Task(chunk, "encode", self.job.input, self.output.grade, part, light),
                fingerprint("encode", self.identity, grade, chunk.start, chunk.stop, levels, part.name))


def _plan(jobs: list[Job]) -> list[_Deliverable]:
    deliverables = []
    for job in jobs:
        with open_clip(job.input) as clip:
            chunks = plan_chunks(job, clip)
            audio, fps = clip.info.has_audio, float(clip.info.fps)
        identity = input_identity(job.input)
        for number, output in enumerate(job.outputs):
            mine = [c for c in chunks if c.output == number]
            deliverables.append(_Deliverable(job, number, output, mine, audio, fps, identity))
    return deliverables


class _Runner:
    def __init__(self, deliverables: list[_Deliverable], executor: Executor, state: QueueState,
                 emit: EventFn) -> None:
        self.deliverables, self.executor, self.state, self.emit = deliverables, executor, state, emit
        self.pending: dict[Future[TaskResult], tuple[_Deliverable, Task, str]] = {}
        self.done: dict[str, int] = {}  # task key -> frames done
        self.job_of: dict[str, str] = {}
        self.totals: dict[str, int] = {}
        self.tasks_run: list[str] = []
        self.tasks_reused: list[str] = []
        self.written: list[str] = []
        self.already: list[str] = []

    # -- starting ---------------------------------------------------------------------------
    def start(self, d: _Deliverable) -> None:
        """Submit what `d` still needs; count what a previous run finished as done."""
        self.totals[d.job.name] = self.totals.get(d.job.name, 0) + d.work_frames()
        if self.state.output_done(d.key, d.print_) and d.output.path.exists():
            self.already.append(str(d.output.path))
            self.done[f"output:{d.key}"] = d.work_frames()
            self.job_of[f"output:{d.key}"] = d.job.name
            return
        d.work.mkdir(exist_ok=True)
        for stale in d.work.glob(".*"):  # a killed worker's unfinished temporaries
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        if d.hdr10:
            for chunk in d.chunks:
                task, print_ = d.task(chunk, "measure")
                light = self.state.task_light(task.key, print_)
                if light is None:
                    self.submit(d, task, print_)
                else:
                    d.measured[chunk.index] = light
                    self.reuse(d, task)
            if d.light is None:
                return
        self.start_encodes(d)

    def start_encodes(self, d: _Deliverable) -> None:
        for chunk in d.chunks:
            task, print_ = d.task(chunk, "encode")
            assert task.part is not None
            record = self.state.task(task.key, print_)
            if record is not None and self._still_there(task.part, d.output.format, chunk, record):
                d.encoded.add(chunk.index)
                self.reuse(d, task)
                continue
            self.state.forget_task(task.key)
            if task.part.is_dir():
                shutil.rmtree(task.part)
            task.part.unlink(missing_ok=True)
            self.submit(d, task, print_)
        if len(d.encoded) == len(d.chunks):
            self.finish(d)

    @staticmethod
    def _still_there(part: Path, fmt: str, chunk: Chunk, record: dict[str, Any]) -> bool:
        try:
            return verify_part(part, fmt, chunk.frames) == record.get("bytes")
        except OutputError:
            return False

    def submit(self, d: _Deliverable, task: Task, print_: str) -> None:
        self.job_of[task.key] = d.job.name
        self.done[task.key] = 0
        self.pending[self.executor.submit(task)] = (d, task, print_)

    def reuse(self, d: _Deliverable, task: Task) -> None:
        self.job_of[task.key] = d.job.name
        self.done[task.key] = task.chunk.frames
        self.tasks_reused.append(task.key)
        self.emit({"event": "task_reused", "key": task.key, "frames": task.chunk.frames})

    # -- running ----------------------------------------------------------------------------
    def progress(self, job: str) -> None:
        done = sum(n for key, n in self.done.items() if self.job_of[key] == job)
        self.emit({"event": "progress", "job": job, "done": done, "total": self.totals[job]})

    def loop(self, cancel: CancelToken) -> None:
        while self.pending:
            if cancel.cancelled:
                raise RenderCancelled("queue stopped; finished chunks are kept for a resume")
            finished, _ = wait(self.pending, timeout=_POLL_S, return_when=FIRST_COMPLETED)
            touched = set()
            for event in self.executor.drain():
                if event.get("key") in self.done:
                    self.done[event["key"]] = max(self.done[event["key"]], int(event["done"]))
                    touched.add(self.job_of[event["key"]])
                    self.emit(event)
            for future in finished:
                d, task, print_ = self.pending.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    raise WorkerLost(f"a worker process died while running {task.key}; finished chunks are "
                                     "recorded, run the queue again to resume") from None
                self.completed(d, task, print_, result)
                touched.add(d.job.name)
            for job in sorted(touched):
                self.progress(job)

    def completed(self, d: _Deliverable, task: Task, print_: str, result: TaskResult) -> None:
        self.done[task.key] = task.chunk.frames
        self.tasks_run.append(task.key)
        self.emit({"event": "task_done", "key": task.key, "frames": result.frames,
                   "seconds": round(result.seconds, 3), "pid": result.pid, "host": result.host})
        if task.kind == "measure":
            assert result.light is not None
            self.state.finish_task(task.key, print_, result.frames, None, result.light)
            d.measured[task.chunk.index] = result.light
            if d.light is not None:
                self.start_encodes(d)
            return
        assert task.part is not None
        size = verify_part(task.part, d.output.format, task.chunk.frames)
        self.state.finish_task(task.key, print_, result.frames, size, task.light)
        d.encoded.add(task.chunk.index)
        if len(d.encoded) == len(d.chunks):
            self.finish(d)

    def finish(self, d: _Deliverable) -> None:
        """Join the parts into the output and retire the deliverable's records and work folder."""
        chunks = sorted(d.chunks, key=lambda c: c.index)
        parts = [d.task(c, "encode")[0].part for c in chunks]
        assert all(p is not None for p in parts)
        if DELIVERABLES[d.output.format].writer == "exr":
            assemble_exr(parts, d.output.path)  # type: ignore[arg-type]
        else:
            start = d.job.frames[0]
            join_video(parts, d.output.path, d.job.input if d.audio else None, start / d.fps)  # type: ignore[arg-type]
        keys = [d.task(c, kind)[0].key for c in chunks for kind in ("measure", "encode")]
        self.state.finish_output(d.key, d.print_, keys)
        shutil.rmtree(d.work, ignore_errors=True)
        self.written.append(str(d.output.path))
        self.emit({"event": "output", "job": d.job.name, "path": str(d.output.path),
                   "format": d.output.format})


def run_queue(jobs: list[Job], executor: Executor, state: QueueState,
              on_event: EventFn | None = None, cancel: CancelToken | None = None) -> BatchSummary:
    """Render every deliverable of `jobs` on `executor`, resuming from `state`.

    `cancel` stops the queue between tasks: running chunks finish on their own (and are
    recorded by the next run), nothing more is submitted, and RenderCancelled is raised.
    """
    started = time.perf_counter()
    emit = on_event or (lambda event: None)
    deliverables = _plan(jobs)
    folders = {d.output.path.absolute().parent for d in deliverables}
    executor.check_paths([*{job.input for job in jobs}, *folders])
    runner = _Runner(deliverables, executor, state, emit)
    emit({"event": "plan", "executor": executor.name, "workers": executor.workers,
          "jobs": {job.name: sum(d.work_frames() for d in deliverables if d.job is job) for job in jobs},
          "chunks": {d.key: [[c.start, c.stop] for c in d.chunks] for d in deliverables}})
    try:
        for d in deliverables:
            runner.start(d)
        for job in jobs:
            runner.progress(job.name)
        runner.loop(cancel or CancelToken())
    finally:
        for future in runner.pending:
            future.cancel()
    return BatchSummary(
        written=tuple(runner.written), already_done=tuple(runner.already),
        tasks_run=tuple(runner.tasks_run), tasks_reused=tuple(runner.tasks_reused),
        frames=sum(job.frame_count for job in jobs), seconds=time.perf_counter() - started,
        executor=executor.name, workers=executor.workers,
    )
