"""The bridge from the GUI to the engine: frame requests, stale-result dropping, a frame cache.

The GUI thread never waits on the engine. It asks for a frame; a cached frame comes back at
once, otherwise one worker thread renders it through the Pipeline and the result arrives as
a queued signal. Every request carries the revision of the Grade it was made for (napari's
asynchronous slicing works the same way): a job whose revision or frame is no longer wanted
is skipped before it starts, and a result for an old revision is dropped on arrival.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from torch import Tensor

from app.panels.scope_data import ScopeData, compute_scopes
from engine.color.luminance import luminance
from engine.errors import LumigradeError
from engine.grade import Grade
from engine.io.clip import Clip
from engine.masks import clipped_map
from engine.pipeline import Pipeline

log = logging.getLogger(__name__)
HALF_MAX = 65504.0  # the largest float16: brighter pixels would become inf in the texture
DEFAULT_CACHE_BYTES = 1 << 30


def to_half_image(frame: Tensor) -> np.ndarray:
    """(3, H, W) -> (H, W, 3) float16 on the CPU: the layout the preview's textures take."""
    return frame.clamp(-HALF_MAX, HALF_MAX).permute(1, 2, 0).to("cpu", torch.float16).contiguous().numpy()


def overlay_masks(signal: Tensor, hdr: Tensor, peak_nits: float) -> np.ndarray:
    """(H, W, 2) uint8: 255 where the source is clipped (any channel), and where Y > the peak."""
    clipped = clipped_map(signal)[0]
    over = luminance(hdr)[0] > peak_nits
    return (torch.stack([clipped, over], -1).to(torch.uint8) * 255).cpu().numpy()


@dataclass(frozen=True)
class FrameResult:
    """One rendered frame with everything the window shows for it."""

    index: int
    revision: int
    signal: np.ndarray  # (H, W, 3) float16 source code values
    source: np.ndarray  # (H, W, 3) float16 source placed in cd/m²
    hdr: np.ndarray  # (H, W, 3) float16 graded cd/m²
    mask: np.ndarray  # (H, W, 2) uint8, see overlay_masks
    scopes: ScopeData
    keyframes: tuple[int, ...] = ()  # the temporal reconstruction's keyframes, when it is on

    @property
    def nbytes(self) -> int:
        arrays = (self.signal, self.source, self.hdr, self.mask)
        return sum(a.nbytes for a in arrays) + self.scopes.nbytes


class FrameCache:
    """Least-recently-used frames, keyed by (revision, index), within a byte budget."""

    def __init__(self, budget_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._items: OrderedDict[tuple[int, int], FrameResult] = OrderedDict()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, revision: int, index: int) -> FrameResult | None:
        item = self._items.get((revision, index))
        if item is not None:
            self._items.move_to_end((revision, index))
        return item

    def put(self, result: FrameResult) -> None:
        key = (result.revision, result.index)
        old = self._items.pop(key, None)
        if old is not None:
            self.nbytes -= old.nbytes
        if result.nbytes > self.budget_bytes:
            return
        self._items[key] = result
        self.nbytes += result.nbytes
        while self.nbytes > self.budget_bytes:
            _, evicted = self._items.popitem(last=False)
            self.nbytes -= evicted.nbytes

    def keep_only(self, revision: int) -> None:
        """Drop every frame of another revision: they can never be shown again."""
        for key in [k for k in self._items if k[0] != revision]:
            self.nbytes -= self._items.pop(key).nbytes


class _RenderJob(QRunnable):
    def __init__(self, bridge: EngineBridge, index: int, revision: int) -> None:
        super().__init__()
        self.bridge = bridge
        self.index = index
        self.revision = revision

    def run(self) -> None:
        self.bridge._run_job(self.index, self.revision)


class EngineBridge(QObject):
    """Renders frames of one clip through the current Grade on a single worker thread."""

    frame_ready = Signal(object)  # FrameResult of the current revision, already cached
    frame_failed = Signal(int, str)  # frame index, one-line message
    _finished = Signal(object)  # from the worker thread, queued to the GUI thread

    def __init__(self, cache_bytes: int = DEFAULT_CACHE_BYTES, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = FrameCache(cache_bytes)
        # One thread: the Pipeline's statistics and the clip's decoder are not thread-safe.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._lock = threading.Lock()
        self._clip: Clip | None = None
        self._grade = Grade()
        self._revision = 0
        self._wanted: set[int] = set()
        self._queued: set[tuple[int, int]] = set()
        self._pipeline: Pipeline | None = None  # used on the worker thread only
        self._pipeline_revision = -1
        self.jobs_run = 0
        self.results_dropped = 0
        self._finished.connect(self._deliver)

    @property
    def revision(self) -> int:
        return self._revision

    def set_clip(self, clip: Clip | None, grade: Grade, revision: int) -> None:
        """Switch clip (frames of the old one are dropped) and grade."""
        self.wait_idle()
        with self._lock:
            self._clip = clip
        self.cache = FrameCache(self.cache.budget_bytes)
        self.set_grade(grade, revision)

    def set_grade(self, grade: Grade, revision: int) -> None:
        """A new Grade: queued work for older revisions becomes stale."""
        with self._lock:
            self._grade = grade
            self._revision = revision
            self._wanted.clear()
        self.cache.keep_only(revision)

    def request(self, index: int, prefetch: Iterable[int] = ()) -> FrameResult | None:
        """The frame if cached; otherwise None now and frame_ready later. Replaces older wishes."""
        ahead = [i for i in prefetch if self._clip is not None and 0 <= i < self._clip.info.frame_count]
        with self._lock:
            self._wanted = {index, *ahead}
            revision = self._revision
        cached = self.cache.get(revision, index)
        for i in ([] if cached else [index]) + ahead:
            if self.cache.get(revision, i) is None and (revision, i) not in self._queued:
                self._queued.add((revision, i))
                self._pool.start(_RenderJob(self, i, revision))
        return cached

    def wait_idle(self, timeout_ms: int = -1) -> bool:
        """Block until queued jobs finish (shutdown, tests and benchmarks; never the GUI)."""
        return self._pool.waitForDone(timeout_ms)

    def shutdown(self) -> None:
        with self._lock:
            self._wanted.clear()
        self._pool.clear()
        self._pool.waitForDone()

    # -- worker thread --------------------------------------------------------------------
    def _run_job(self, index: int, revision: int) -> None:
        with self._lock:
            stale = revision != self._revision or index not in self._wanted
            clip, grade = self._clip, self._grade
        if stale or clip is None:
            self._finished.emit((revision, index, None))
            return
        try:
            result: Any = self._render(clip, grade, index, revision)
        except LumigradeError as exc:
            result = exc
        except Exception as exc:
            # An engine bug must not leave the preview waiting forever: report it and log it.
            log.exception("rendering frame %d failed", index)
            result = LumigradeError(f"frame {index}: internal engine error ({type(exc).__name__}: {exc})",
                                    clip.info.path)
        self._finished.emit((revision, index, result))

    def _render(self, clip: Clip, grade: Grade, index: int, revision: int) -> FrameResult:
        if self._pipeline is None or self._pipeline_revision != revision or self._pipeline.clip is not clip:
            self._pipeline = Pipeline(grade, clip)
            self._pipeline_revision = revision
        pipeline = self._pipeline
        self.jobs_run += 1
        with torch.inference_mode():
            signal = clip.frame(index).to(pipeline.device, torch.float32)
            source = pipeline.source(index, signal)
            hdr = pipeline.hdr(index, signal)
            return FrameResult(
                index=index,
                revision=revision,
                signal=to_half_image(signal),
                source=to_half_image(source),
                hdr=to_half_image(hdr),
                mask=overlay_masks(signal, hdr, grade.peak_nits),
                scopes=compute_scopes(hdr),
                keyframes=tuple(pipeline.temporal.keyframes()) if pipeline.temporal is not None else (),
            )

    # -- GUI thread -----------------------------------------------------------------------
    @Slot(object)
    def _deliver(self, message: tuple[int, int, FrameResult | LumigradeError | None]) -> None:
        revision, index, result = message
        self._queued.discard((revision, index))
        if result is None:
            return
        if revision != self._revision:
            self.results_dropped += 1
            return
        if isinstance(result, LumigradeError):
            self.frame_failed.emit(index, str(result))
            return
        self.cache.put(result)
        self.frame_ready.emit(result)
