"""Saved versions of the grade and what the compare's A and B sides show.

A colourist compares versions of a grade, not only the source against the result: DaVinci
Resolve keeps "gallery stills" of earlier grades to wipe against the current one. Here a
GradeVersion is a named Grade kept in the session and the project file, and each compare side
shows the source, the current grade or one saved version.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.grade import Grade

SOURCE = "source"
CURRENT = "current"
SIDE_LABELS = {SOURCE: "Source", CURRENT: "Current grade"}


@dataclass(frozen=True)
class GradeVersion:
    """A saved grade, by a name unique within the session."""

    name: str
    grade: Grade


@dataclass(frozen=True)
class CompareSides:
    """What A and B show: SOURCE, CURRENT or the name of a saved version."""

    a: str = SOURCE
    b: str = CURRENT

    @property
    def holds_version(self) -> bool:
        """Whether a side shows a saved version, so the engine renders a second grade."""
        return any(side not in SIDE_LABELS for side in (self.a, self.b))


def side_names(sides: CompareSides, default: tuple[str, str]) -> tuple[str, str]:
    """What A and B are called in the compare labels: `default` for the source and the current
    grade on their usual sides, a version's name for a version, the side's label otherwise."""
    def name(side: str, usual: str, usual_name: str) -> str:
        return usual_name if side == usual else SIDE_LABELS.get(side, side)

    return name(sides.a, SOURCE, default[0]), name(sides.b, CURRENT, default[1])


def side_label(side: str) -> str:
    """What a side choice is called in the controls."""
    return SIDE_LABELS.get(side, f"Version: {side}")


def find_version(versions: tuple[GradeVersion, ...], name: str) -> GradeVersion | None:
    return next((v for v in versions if v.name == name), None)


def next_version_name(versions: tuple[GradeVersion, ...]) -> str:
    """'Version N' with the smallest N not taken."""
    taken = {v.name for v in versions}
    return next(f"Version {n}" for n in range(1, len(taken) + 2) if f"Version {n}" not in taken)
