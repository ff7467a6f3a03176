"""The GUI's render queue: add the open clip and its grade to a queue file, and run a queue.

`append_to_queue` writes the same queue file `lumigrade batch` reads (app.batch_queue), with
the grade inline, so a queue built in the GUI can run overnight from the command line or on a
Ray cluster. The QueueDialog runs a queue on the local process pool in a QThread (the GUI
thread only draws), shows each job's and the whole queue's frames, fps and ETA, and stops
between chunks on Cancel; finished chunks stay recorded, so Start resumes. It never imports
Ray: the cluster is a command-line matter.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from app.batch_queue import QUEUE_SCHEMA_VERSION, load_queue
from app.export_dialog import format_eta
from engine.batch.plan import Job
from engine.batch.run import WorkerLost, run_queue
from engine.batch.state import QueueState
from engine.errors import GradeError, LumigradeError
from engine.grade import Grade, parse_json, read_text
from engine.io.atomic import AtomicOutput
from engine.jobs import CancelToken

OVERALL = "whole queue"


def append_to_queue(queue: Path, source: Path, grade: Grade, output: Path) -> str:
    """Add a job rendering `source` through `grade` to `output` (the grade's format) to the queue
    file, creating it if needed; returns the job's name. The queue is validated before and after."""
    taken: set[str] = set()
    if queue.exists():
        taken = {job.name for job in load_queue(queue)}
        data = parse_json(read_text(queue, "queue file"), queue)
    else:
        data = {"lumigrade_queue": QUEUE_SCHEMA_VERSION, "jobs": []}
    name, number = source.stem, 1
    while name in taken:
        number += 1
        name = f"{source.stem}-{number}"
    data["jobs"].append({"name": name, "input": str(source.absolute()), "grade": grade.to_dict(),
                         "outputs": [{"format": grade.output.format, "path": str(output.absolute())}]})
    with AtomicOutput(queue) as temp:
        temp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    try:
        load_queue(queue)
    except GradeError:
        data["jobs"].pop()
        with AtomicOutput(queue) as temp:
            temp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        raise
    return name


class QueueThread(QThread):
    """engine.batch.run_queue on the local pool, its events as queued signals."""

    event = Signal(object)  # an engine.batch.run event (dict)
    finished_with = Signal(str, bool)  # message, succeeded

    def __init__(self, queue: Path, jobs: list[Job], workers: int | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue, self.jobs, self.workers = queue, jobs, workers
        self.cancel_token = CancelToken()

    def run(self) -> None:
        from engine.batch.executors import LocalExecutor

        executor = LocalExecutor(self.workers)
        try:
            summary = run_queue(self.jobs, executor, QueueState(self.queue.with_suffix(".state.json")),
                                self.event.emit, self.cancel_token)
        except (LumigradeError, WorkerLost) as exc:
            self.finished_with.emit(str(exc), False)
        else:
            message = (f"{len(summary.written)} deliverables written, "
                       f"{len(summary.already_done)} already done, in {summary.seconds:.1f} s")
            self.finished_with.emit(message, True)
        finally:
            executor.close()


class QueueDialog(QDialog):
    """A queue file's jobs with a progress bar each and one for the whole queue; Start and Cancel."""

    def __init__(self, queue: Path, workers: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Render queue: {queue.name}")
        self.queue, self.workers = queue, workers
        self.jobs = load_queue(queue)  # GradeError for a bad queue: the caller shows it
        self.thread_: QueueThread | None = None
        self.succeeded: bool | None = None
        self.bars: dict[str, QProgressBar] = {}
        self.labels: dict[str, QLabel] = {}
        self._started: dict[str, tuple[float, int]] = {}
        self._totals: dict[str, int] = {}
        self._done: dict[str, int] = {}
        form = QFormLayout()
        for name in [job.name for job in self.jobs] + [OVERALL]:
            bar, label = QProgressBar(), QLabel("waiting")
            bar.setRange(0, 1000)
            self.bars[name], self.labels[name] = bar, label
            column = QVBoxLayout()
            column.addWidget(bar)
            column.addWidget(label)
            form.addRow(name, column)
        self.status = QLabel("Ready")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.reject)
        self.cancel_button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

    @property
    def running(self) -> bool:
        return self.thread_ is not None and self.thread_.isRunning()

    def start(self) -> None:
        if self.running:
            return
        self.succeeded = None
        self.thread_ = QueueThread(self.queue, self.jobs, self.workers, self)
        self.thread_.event.connect(self._event)
        self.thread_.finished_with.connect(self._finished)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText("Starting the workers…")
        self.thread_.start()

    def cancel(self) -> None:
        if self.thread_ is not None:
            self.thread_.cancel_token.cancel()
            self.status.setText("Stopping after the running chunks…")

    def _event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "plan":
            self._totals = {**event["jobs"], OVERALL: sum(event["jobs"].values())}
            self.status.setText(f"Running on {event['workers']} local workers")
        elif kind == "progress":
            self._done[event["job"]] = event["done"]
            self._show(event["job"], event["done"])
            self._show(OVERALL, sum(self._done.values()))
        elif kind == "output":
            self.status.setText(f"Wrote {event['path']}")

    def _show(self, name: str, done: int) -> None:
        total = max(self._totals.get(name, 1), 1)
        now = time.perf_counter()
        started, base = self._started.setdefault(name, (now, done))
        rate = (done - base) / (now - started) if now > started else 0.0
        eta = f", {format_eta((total - done) / rate)} left" if rate > 0 else ""
        self.bars[name].setValue(round(1000 * done / total))
        self.labels[name].setText(f"{done} of {total} frames, {rate:.1f} fps{eta}")

    def _finished(self, message: str, succeeded: bool) -> None:
        self.succeeded = succeeded
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.status.setText(message if succeeded else f"Stopped: {message}")

    def reject(self) -> None:
        if self.running:
            self.cancel()
            assert self.thread_ is not None
            self.thread_.wait()
        super().reject()

