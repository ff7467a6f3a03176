"""What a long job shares with whoever started it: a progress callback and a cancel flag.

Render, synthesis and evaluation jobs report (stage, done, total) and stop between frames when
their CancelToken is set; the GUI, the CLI and tests hold the other end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from engine.errors import RenderCancelled

ProgressFn = Callable[[str, int, int], None]  # (stage, frames done, frames in stage)


class CancelToken:
    """Thread-safe cancellation flag, checked by the job between frames."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self, path: Path | None = None) -> None:
        if self._event.is_set():
            raise RenderCancelled("render cancelled; partial output removed", path)
