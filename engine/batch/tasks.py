"""The work a batch worker does: one chunk's analysis pass or its encode, as a plain function.

The same `run_task` runs in a local process (engine.batch.executors.LocalExecutor) and as a Ray
task (RayExecutor); it takes and returns small picklable records. Progress goes to a sink, any
object with `put(event)`: a multiprocessing queue locally, a ray.util.queue.Queue on a cluster.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from engine.batch.plan import Chunk
from engine.grade import Grade
from engine.io.hdr_metadata import ContentLightLevel
from engine.render import measure_light_levels, render

TaskKind = Literal["measure", "encode"]
_REPORT_INTERVAL_S = 0.25  # at most four progress events a second per task


class Sink(Protocol):
    def put(self, item: Any) -> None: ...


@dataclass(frozen=True)
class Task:
    """One chunk to measure (HDR10's MaxCLL/MaxFALL pass) or to encode into `part`."""

    chunk: Chunk
    kind: TaskKind
    input: Path
    grade: Grade
    part: Path | None = None
    light: ContentLightLevel | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.chunk.key}"


@dataclass(frozen=True)
class TaskResult:
    key: str
    frames: int
    seconds: float
    pid: int
    host: str
    light: ContentLightLevel | None


_sink: Sink | None = None  # a local worker's progress queue, set by init_local_worker


def init_local_worker(sink: Sink, threads: int, device: Any) -> None:
    """A local pool process: its progress queue, its share of the cores, and its GPU if any.

    `device` is a shared counter (multiprocessing.Value) when CUDA is present: each process takes
    the next GPU, so the pool runs one engine per GPU; None on a CPU machine.
    """
    global _sink
    _sink = sink
    import numba
    import torch

    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    if device is not None:
        with device.get_lock():
            index = device.value
            device.value += 1
        os.environ["LUMIGRADE_DEVICE"] = f"cuda:{index % torch.cuda.device_count()}"


def run_task(task: Task, sink: Sink | None = None) -> TaskResult:
    """Measure or encode one chunk, reporting frames done to `sink` (or the worker's queue)."""
    out = sink if sink is not None else _sink
    pid, host = os.getpid(), socket.gethostname()
    last = 0.0
    total = task.chunk.frames

    def progress(stage: str, done: int, count: int) -> None:
        nonlocal last
        now = time.monotonic()
        if out is not None and stage in ("analysis", "encode") and count == total and (
                done == count or now - last >= _REPORT_INTERVAL_S):
            last = now
            out.put({"event": "task", "key": task.key, "done": done, "total": total, "pid": pid})

    if out is not None:
        out.put({"event": "task", "key": task.key, "done": 0, "total": total, "pid": pid})
    started = time.perf_counter()
    frames = (task.chunk.start, task.chunk.stop)
    light: ContentLightLevel | None = None
    if task.kind == "measure":
        light = measure_light_levels(task.input, task.grade, frames=frames, progress=progress)
    else:
        assert task.part is not None
        render(task.input, task.part, task.grade, frames=frames, progress=progress,
               light_level=task.light, audio=False)
    return TaskResult(task.key, total, time.perf_counter() - started, pid, host, light)


def unseen_paths(paths: list[str]) -> tuple[str, list[str]]:
    """This machine's name and those of `paths` it cannot see (run on every node of a cluster)."""
    return socket.gethostname(), [p for p in paths if not os.path.exists(p)]
