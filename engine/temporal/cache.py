"""A least-recently-used cache of frame-indexed entries within a byte budget.

The temporal reconstructor keeps two: decoded frames (a keyframe's references are scattered over
the shot, and random access into a long-GOP video costs several times a sequential decode) and
rebuilt keyframes (every frame between two keyframes propagates from both).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

Entry = TypeVar("Entry")


class LruCache(Generic[Entry]):
    """Entries by frame index; the least recently used go first past `budget` bytes, but the
    newest entry always stays, whatever its size."""

    def __init__(self, budget: int, nbytes: Callable[[Entry], int]) -> None:
        self.budget = budget
        self._size = nbytes
        self._entries: OrderedDict[int, Entry] = OrderedDict()
        self._nbytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        return self._nbytes

    def keys(self) -> tuple[int, ...]:
        """The cached indices, least recently used first."""
        return tuple(self._entries)

    def get(self, index: int) -> Entry | None:
        entry = self._entries.get(index)
        if entry is not None:
            self._entries.move_to_end(index)
        return entry

    def put(self, index: int, entry: Entry) -> None:
        old = self._entries.pop(index, None)
        if old is not None:
            self._nbytes -= self._size(old)
        self._entries[index] = entry
        self._nbytes += self._size(entry)
        while self._nbytes > self.budget and len(self._entries) > 1:
            _, evicted = self._entries.popitem(last=False)
            self._nbytes -= self._size(evicted)

    def clear(self) -> None:
        self._entries.clear()
        self._nbytes = 0
