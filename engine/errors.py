"""Typed errors raised by the engine.

Every message names the file (when there is one) and the problem in one line, so the CLI can
print it as is and the GUI can show it in a dialog.
"""

from __future__ import annotations

from pathlib import Path


class LumigradeError(Exception):
    """Base class of every error the engine raises on purpose."""

    def __init__(self, problem: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)


class MediaError(LumigradeError):
    """A media file is missing, unreadable, truncated or holds no usable frames."""


class FormatError(LumigradeError):
    """A file is readable but its layout is unsupported (channels, pixel format, values)."""


class GradeError(LumigradeError):
    """A grade or project file fails validation."""


class OutputError(LumigradeError):
    """An output cannot be written (permissions, full disk, encoder failure)."""


class RenderCancelled(LumigradeError):
    """A render job was cancelled; its partial output has been removed."""
