"""The CLI's overwrite policy: never replace an existing output silently.

`-y` replaces it, `-n` refuses it; with neither, a run on a terminal asks and a run without one
(a script, a render farm) refuses, as ffmpeg does. Refusal is an OutputError, so the CLI prints
one line naming the file and exits with status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from engine.errors import OutputError

Policy = Literal["ask", "overwrite", "refuse"]


def output_exists(path: Path) -> bool:
    """Whether writing `path` would replace something: a file, a folder with content, or the
    first frame of a sequence pattern ('shot.%04d.exr')."""
    if "%" in path.name:
        try:
            return (path.parent / (path.name % 0)).exists()
        except (TypeError, ValueError):
            return False
    if path.is_dir():
        return any(path.iterdir())
    return path.exists()


def check_overwrite(path: Path, policy: Policy) -> None:
    """Return when `path` may be written under `policy`; raise OutputError otherwise."""
    if policy == "overwrite" or not output_exists(path):
        return
    if policy == "ask" and sys.stdin.isatty() and sys.stderr.isatty():
        sys.stderr.write(f"lumigrade: {path} exists. Overwrite? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() in ("y", "yes"):
            return
    raise OutputError("the output exists (pass -y to overwrite it)", path)


def policy_of(yes: bool, no: bool) -> Policy:
    """The policy of the `-y` / `-n` flags (argparse keeps them exclusive)."""
    return "overwrite" if yes else "refuse" if no else "ask"
