"""Interrupting a training run at a chosen step, for the resume tests of every network."""

from __future__ import annotations

import json
from collections.abc import Callable


class Killed(Exception):
    """Stands for the process being killed: raised from the training loop's log."""


def kill_at(step: int) -> Callable[[str], None]:
    """A training log that kills the run when it logs `step` (after that step's checkpoint)."""
    def log(line: str) -> None:
        if json.loads(line)["step"] == step:
            raise Killed

    return log
