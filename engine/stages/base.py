"""What a pipeline stage is, and the check that a chain of them fits together.

A stage takes frames in one engine.frame.Space and gives them in another; the Pipeline checks
once, when it is built, that each stage takes the space the one before it gives.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from engine.frame import Frame, Space
from engine.operators.base import StageContext


class Stage(ABC):
    """One step from decoded code values to a deliverable's signal."""

    name: str
    takes: Space
    gives: Space

    @abstractmethod
    def __call__(self, frame: Frame, ctx: StageContext) -> Frame:
        """`frame` in `takes` -> the frame in `gives`."""

    def __repr__(self) -> str:
        return f"{self.name}: {self.takes.value} -> {self.gives.value}"


def check_chain(stages: Sequence[Stage], start: Space, end: Space) -> None:
    """Raise ValueError unless `stages` lead from `start` to `end`, each taking what the one
    before gives."""
    space = start
    for stage in stages:
        if stage.takes is not space:
            raise ValueError(f"pipeline stage {stage!r} cannot take frames in {space.value}")
        space = stage.gives
    if space is not end:
        raise ValueError(f"pipeline stages end in {space.value}, not {end.value}")
