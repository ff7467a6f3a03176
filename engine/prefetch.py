"""A bounded producer thread: the overlapped render loop's building block.

Decoding (PyAV), the per-pixel kernels (numba, nogil) and the encoders (x264/x265) release the
GIL, so a few threads joined by small queues keep them all busy at once while holding at most
`depth` items in flight per stage (memory stays bounded).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_POLL_S = 0.05  # how often a blocked producer looks whether the consumer has gone


def prefetched(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """`items`, produced by a thread of their own up to `depth` ahead of the consumer.

    An exception in the producer is raised in the consumer at the point it happened; closing
    the returned generator stops the producer after its current item and closes `items`.
    """
    slots: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                slots.put(entry, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((False, None))
        except BaseException as exc:  # handed to the consumer, which raises it
            put((False, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="lumigrade-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            more, item = slots.get()
            if not more:
                if isinstance(item, BaseException):
                    raise item
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
