"""Progress of long commands (`render`, `batch`): frames done, fps and ETA, per track and overall.

One reporter serves both commands. A track is one thing that advances (a render stage, a batch
job, the whole batch); the reporter keeps each track's frames done and total and derives the
rate from the frames done since the track started (frames a resumed queue found finished do
not count as speed). It shows them as rich progress bars on a terminal, or as JSON lines:

    {"event": "progress", "track": "sh010", "stage": null, "done": 120, "total": 480,
     "fps": 31.2, "eta_s": 11.5}

Other events (a finished task or deliverable) pass through as JSON lines in JSON mode and as a
line above the bars on a terminal.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO

from engine.jobs import ProgressFn

Mode = Literal["rich", "json", "none"]
_JSON_INTERVAL_S = 0.5  # at most two progress lines a second per track
OVERALL = "overall"


@dataclass
class _Track:
    total: int
    stage: str | None = None
    done: int = 0
    base: int = 0  # frames already done when the track started
    started: float = field(default_factory=time.monotonic)
    emitted: float = 0.0
    bar: Any = None

    def fps(self, now: float) -> float:
        elapsed = now - self.started
        return (self.done - self.base) / elapsed if elapsed > 0 else 0.0

    def eta(self, now: float) -> float | None:
        rate = self.fps(now)
        return (self.total - self.done) / rate if rate > 0 else None


class ProgressReporter:
    """Tracks of frames done, shown by rich (`mode='rich'`), as JSON lines or not at all."""

    def __init__(self, mode: Mode, stream: TextIO | None = None) -> None:
        self.mode = mode
        self.stream = stream or (sys.stdout if mode == "json" else sys.stderr)
        self.tracks: dict[str, _Track] = {}
        self.jobs: dict[str, int] = {}  # a batch's jobs and their frames of work
        self.job_done: dict[str, int] = {}
        self._rich: Any = None
        if mode == "rich":
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._rich = Progress(
                TextColumn("{task.description:>16}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[fps]:>7.1f} fps"), TextColumn("ETA {task.fields[eta]:>8}"),
                console=Console(file=self.stream), transient=False,
            )
            self._rich.start()

    @classmethod
    def for_terminal(cls, json_lines: bool) -> ProgressReporter:
        """JSON lines on stdout when asked, bars when stderr is a terminal, else nothing."""
        return cls("json" if json_lines else "rich" if sys.stderr.isatty() else "none")

    def update(self, name: str, done: int, total: int, stage: str | None = None) -> None:
        """Track `name` has `done` of `total` frames; a new stage starts the track over."""
        now = time.monotonic()
        track = self.tracks.get(name)
        if track is None or track.stage != stage or track.total != total:
            if track is not None and self._rich is not None:
                self._rich.remove_task(track.bar)
            track = self.tracks[name] = _Track(total, stage, done, done)
            if self._rich is not None:
                label = name if stage is None else f"{name} {stage}"
                track.bar = self._rich.add_task(label, total=total, completed=done, fps=0.0, eta="")
        track.done = done
        eta = track.eta(now)
        if self._rich is not None:
            self._rich.update(track.bar, completed=done, fps=track.fps(now),
                              eta="" if eta is None else _clock(eta))
        elif self.mode == "json" and (done >= total or now - track.emitted >= _JSON_INTERVAL_S
                                      or track.emitted == 0.0):
            track.emitted = now
            self.event({"event": "progress", "track": name, "stage": stage, "done": done, "total": total,
                        "fps": round(track.fps(now), 2), "eta_s": None if eta is None else round(eta, 1)})

    def event(self, event: dict[str, Any]) -> None:
        """A JSON line in JSON mode; a short line above the bars on a terminal."""
        if self.mode == "json":
            self.stream.write(json.dumps(event) + "\n")
            self.stream.flush()
        elif self._rich is not None and event.get("event") == "output":
            self._rich.console.print(f"wrote {event['path']}")

    def render_progress(self, name: str = "render") -> ProgressFn:
        """The engine's (stage, done, total) callback of a job, as one track per stage."""
        return lambda stage, done, total: self.update(name, done, total, stage)

    def batch_event(self, event: dict[str, Any]) -> None:
        """An engine.batch.run event: job tracks and the overall track from its progress events."""
        kind = event.get("event")
        if kind == "plan":
            self.event(event)
            self.jobs = dict(event["jobs"])
            self.job_done = dict.fromkeys(self.jobs, 0)
        elif kind == "progress":
            job = event["job"]
            self.job_done[job] = event["done"]
            self.update(job, event["done"], event["total"])
            self.update(OVERALL, sum(self.job_done.values()), sum(self.jobs.values()))
        elif kind in ("task", "task_done", "task_reused", "output"):
            self.event(event)

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
