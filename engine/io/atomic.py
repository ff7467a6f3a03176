"""Atomic outputs: write under a hidden temporary name in the target folder, rename when complete.

The temporary lives in the same folder as the target so the final os.replace is a rename on
one filesystem (atomic on POSIX), and it keeps the target's extension so muxers that choose
the container by name pick the right one. A failed or cancelled job removes what it created
and never touches files already on disk; an existing output is replaced only by the final
rename.

A process killed outright (SIGKILL, a power cut) cannot remove its temporary. The temporary's
name therefore carries its owner, host and PID, and the next job writing the same target removes
the temporaries of owners on this host that are no longer running. Owners on other hosts (a
render farm sharing the folder) are never judged from here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import socket
from pathlib import Path
from types import TracebackType

from engine.errors import OutputError

_DISK_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}
_HOST = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname()) or "host"


def _owner() -> str:
    """This process as a temporary's owner: host and PID (the PID changes in a forked worker)."""
    return f"{_HOST}-{os.getpid()}"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    return True


def remove_orphans(target: Path, directory: bool) -> list[Path]:
    """Remove temporaries for `target` left by processes of this host that are no longer running."""
    name = re.escape(target.name if directory else target.stem)
    suffix = "" if directory else re.escape(target.suffix)
    pattern = re.compile(rf"\.{name}\.{re.escape(_HOST)}-(\d+)-[0-9a-f]{{8}}\.partial{suffix}")
    removed = []
    with contextlib.suppress(OSError):
        for entry in target.parent.iterdir():
            match = pattern.fullmatch(entry.name)
            if match is None or _running(int(match.group(1))):
                continue
            with contextlib.suppress(OSError):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                removed.append(entry)
    return removed


def disk_full_reason(message: str) -> str | None:
    """The strerror of ENOSPC, EFBIG or EDQUOT when a library's error text holds one: bindings
    such as OpenEXR's report a failed write as text, without the errno."""
    return next((os.strerror(code) for code in _DISK_FULL if os.strerror(code) in message), None)


def output_error(exc: OSError, path: str | Path) -> OutputError:
    """The OutputError for an OSError met while writing `path`: disk full, not writable, or other."""
    reason = exc.strerror or str(exc)
    if exc.errno in _DISK_FULL:
        return OutputError(f"disk full while writing ({reason})", path)
    if exc.errno in _NOT_WRITABLE:
        return OutputError(f"cannot write here ({reason})", path)
    return OutputError(f"write failed ({reason})", path)


class AtomicOutput:
    """A file or a directory (an image sequence) that appears at `target` only when complete.

    Construction checks the folder and reserves the temporary (`temp`); then either `commit()`
    renames it into place or `discard()` removes it. As a context manager it yields `temp` and
    commits on success, discards on any exception (including cancellation), and turns a full
    disk into an OutputError.
    """

    def __init__(self, target: str | Path, *, directory: bool = False) -> None:
        self.target = Path(target).absolute()
        self.directory = directory
        self._committed = False
        self._discarded = False
        self.leftover: Path | None = None
        folder = self.target.parent
        if not folder.is_dir():
            raise OutputError("output folder does not exist", folder)
        if self.target.exists() and self.target.is_dir() != directory:
            kind = "a folder" if self.target.is_dir() else "a file"
            raise OutputError(f"the output exists and is {kind}", self.target)
        remove_orphans(self.target, directory)
        token = f"{_owner()}-{secrets.token_hex(4)}"
        name = self.target.name
        try:
            if directory:
                self.temp = folder / f".{name}.{token}.partial"
                self.temp.mkdir()
            else:
                self.temp = folder / f".{self.target.stem}.{token}.partial{self.target.suffix}"
                # O_EXCL both proves the folder writable and reserves the name for the muxer.
                os.close(os.open(self.temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except OSError as exc:
            if exc.errno in _NOT_WRITABLE:
                raise OutputError(f"output folder is not writable ({exc.strerror})", folder) from None
            raise output_error(exc, folder) from None

    def commit(self) -> Path:
        """Rename the finished temporary into place and return the target."""
        if self._committed or self._discarded:
            raise OutputError("output already committed or discarded", self.target)
        try:
            if self.directory and self.target.is_dir() and any(self.target.iterdir()):
                # A folder with content is not ours to delete: replace our files one by one.
                for item in sorted(self.temp.iterdir()):
                    os.replace(item, self.target / item.name)
                self.temp.rmdir()
            else:
                os.replace(self.temp, self.target)
        except OSError as exc:
            self.discard()
            error = output_error(exc, self.target)
            if self.leftover is not None:
                error = OutputError(f"{error.problem}; the partial output {self.leftover.name} could not be "
                                    "removed", self.target)
            raise error from None
        self._committed = True
        return self.target

    def discard(self) -> None:
        """Remove the temporary and everything in it; the target is left as it was. Idempotent.

        A folder that became read-only keeps the temporary: `leftover` then names it.
        """
        if self._committed or self._discarded:
            return
        self._discarded = True
        if self.directory:
            shutil.rmtree(self.temp, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                self.temp.unlink(missing_ok=True)
        self.leftover = self.temp if self.temp.exists() else None

    def __enter__(self) -> Path:
        return self.temp

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.commit()
            return
        self.discard()
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL | _NOT_WRITABLE:
            raise output_error(exc, self.target) from exc
