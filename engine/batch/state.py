"""The queue's state file: which tasks finished, so a queue run again resumes where it stopped.

A task is recorded once its result is in and, for an encode, once its part has been read back
(engine.batch.join.verify_part). Each record carries a fingerprint of what the task depends on
(the input file's size and modification time, the grade, the frame range, the global light
levels of an HDR10 encode), so a changed input or grade makes the record stale and the task
runs again. On resume an encode record counts only if its part still reads back with the same
frame count and size. The file is rewritten atomically after every record, so a crash leaves
either the previous state or the new one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from engine.errors import GradeError
from engine.grade import parse_json, read_text
from engine.io.atomic import AtomicOutput
from engine.io.hdr_metadata import ContentLightLevel

STATE_SCHEMA_VERSION = 1


def fingerprint(*parts: Any) -> str:
    """A short digest of JSON-serialisable parts (paths and numbers as text)."""
    text = json.dumps([str(p) if isinstance(p, Path) else p for p in parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def input_identity(path: Path) -> list[Any]:
    """What identifies an input file's content cheaply: its absolute path, size and mtime."""
    stat = path.stat()
    return [str(path.absolute()), stat.st_size, stat.st_mtime_ns]


class QueueState:
    """Finished tasks and outputs of one queue, kept in a JSON file beside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tasks: dict[str, dict[str, Any]] = {}
        self.outputs: dict[str, str] = {}
        if path.exists():
            self._load()

    def _load(self) -> None:
        data = parse_json(read_text(self.path, "queue state file"), self.path)
        if (not isinstance(data, dict) or data.get("lumigrade_batch_state") != STATE_SCHEMA_VERSION
                or not isinstance(data.get("tasks"), dict) or not isinstance(data.get("outputs"), dict)):
            raise GradeError("not a lumigrade queue state file (delete it to start over)", self.path)
        self.tasks, self.outputs = data["tasks"], data["outputs"]

    def task(self, key: str, print_: str) -> dict[str, Any] | None:
        """The record of task `key` if it finished with this fingerprint."""
        record = self.tasks.get(key)
        return record if record is not None and record.get("fingerprint") == print_ else None

    def task_light(self, key: str, print_: str) -> ContentLightLevel | None:
        record = self.task(key, print_)
        return None if record is None or record.get("light") is None else ContentLightLevel(*record["light"])

    def finish_task(self, key: str, print_: str, frames: int, size: int | None,
                    light: ContentLightLevel | None) -> None:
        self.tasks[key] = {
            "fingerprint": print_, "frames": frames, "bytes": size,
            "light": None if light is None else [light.max_cll, light.max_fall],
        }
        self.save()

    def forget_task(self, key: str) -> None:
        if self.tasks.pop(key, None) is not None:
            self.save()

    def output_done(self, key: str, print_: str) -> bool:
        return self.outputs.get(key) == print_

    def finish_output(self, key: str, print_: str, task_keys: list[str]) -> None:
        """An output is complete: its tasks' records give way to one for the output."""
        for task_key in task_keys:
            self.tasks.pop(task_key, None)
        self.outputs[key] = print_
        self.save()

    def save(self) -> None:
        data = {"lumigrade_batch_state": STATE_SCHEMA_VERSION, "tasks": self.tasks, "outputs": self.outputs}
        with AtomicOutput(self.path) as temp:
            temp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
