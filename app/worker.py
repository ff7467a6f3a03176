"""The bridge from the GUI to the engine: frame requests, stale-result dropping, a frame cache.

The GUI thread never waits on the engine. It asks for a frame; a cached frame comes back at
once, otherwise one worker thread renders it through the Pipeline and the result arrives as
a queued signal. Every request carries the revision of the Grade it was made for (napari's
asynchronous slicing works the same way): a job whose revision or frame is no longer wanted
is skipped before it starts, and a result for an old revision is dropped on arrival.

Besides the graded frame the worker sends what the preview cannot compute per pixel: the
engine's tone-mapped SDR frame when the tone mapper is spatial or when a compare side shows a
saved version of the grade (then each side is rendered through its own grade), and the temporal
stage's clue map.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from torch import Tensor

from app.panels.scope_data import ScopeData, compute_scopes
from app.versions import CURRENT, SOURCE
from engine.color.luminance import luminance
from engine.display import sdr_view
from engine.errors import LumigradeError
from engine.grade import Grade
from engine.io.clip import Clip
from engine.masks import ClueMap, clipped_map
from engine.operators.base import CurveOperator
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


def clue_image(clues: ClueMap) -> np.ndarray:
    """(H, W, 2) uint8: the ClueSource label, and the confidence in [0, 1] as 0..255."""
    confidence = (clues.confidence.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8)
    return torch.cat([clues.labels, confidence], 0).permute(1, 2, 0).cpu().contiguous().numpy()


Side = Literal["source", "current"] | Grade
"""What a compare side shows, resolved: the source, the current grade or a saved version's Grade."""


@dataclass(frozen=True)
class SidePicture:
    """One compare side of a frame: cd/m² for the HDR views, the engine's SDR signal for 'sdr'."""

    nits: np.ndarray  # (H, W, 3) float16 cd/m²
    sdr: np.ndarray  # (H, W, 3) float16 BT.1886 signal of the SDR output stage (BT.709)


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
    clues: np.ndarray | None = None  # (H, W, 2) uint8, see clue_image; temporal mode only
    # A and B when the SDR view needs the engine's tone mapping (a spatial TMO, or a side on a
    # saved version); None when A is the source and B the graded frame through the preview's curve.
    sides: tuple[SidePicture, SidePicture] | None = None

    @property
    def nbytes(self) -> int:
        arrays = [self.signal, self.source, self.hdr, self.mask]
        arrays += [self.clues] if self.clues is not None else []
        for side in self.sides or ():
            arrays += [side.nits, side.sdr]
        unique = {id(a): a for a in arrays}  # sides share the source and graded arrays
        return sum(a.nbytes for a in unique.values()) + self.scopes.nbytes


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
        self._sides: tuple[Side, Side] = (SOURCE, CURRENT)
        self._revision = 0
        self._wanted: set[int] = set()
        self._queued: set[tuple[int, int]] = set()
        self._pipeline: Pipeline | None = None  # used on the worker thread only
        self._pipeline_revision = -1
        self._version_pipelines: list[Pipeline] = []  # of the saved versions shown, worker thread only
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

    def set_sides(self, a: Side, b: Side) -> None:
        """What compare A and B show; set_grade with a new revision must follow."""
        with self._lock:
            self._sides = (a, b)

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
            clip, grade, sides = self._clip, self._grade, self._sides
        if stale or clip is None:
            self._finished.emit((revision, index, None))
            return
        try:
            result: Any = self._render(clip, grade, sides, index, revision)
        except LumigradeError as exc:
            result = exc
        except Exception as exc:
            # An engine bug must not leave the preview waiting forever: report it and log it.
            log.exception("rendering frame %d failed", index)
            result = LumigradeError(f"frame {index}: internal engine error ({type(exc).__name__}: {exc})",
                                    clip.info.path)
        self._finished.emit((revision, index, result))

    def _render(self, clip: Clip, grade: Grade, sides: tuple[Side, Side], index: int,
                revision: int) -> FrameResult:
        if self._pipeline is None or self._pipeline_revision != revision or self._pipeline.clip is not clip:
            self._pipeline = Pipeline(grade, clip)
            self._pipeline_revision = revision
            versions = [side for side in sides if isinstance(side, Grade)]
            self._version_pipelines = [p for p in self._version_pipelines
                                       if p.clip is clip and p.grade in versions]
        pipeline = self._pipeline
        self.jobs_run += 1
        with torch.inference_mode():
            signal = clip.frame(index).to(pipeline.device, torch.float32)
            source = pipeline.source(index, signal)
            hdr = pipeline.hdr(index, signal)
            clues = pipeline.temporal.clue_map(index) if pipeline.temporal is not None else None
            half_source, half_hdr = to_half_image(source), to_half_image(hdr)
            pictures = None
            if not isinstance(pipeline.tmo, CurveOperator) or any(isinstance(s, Grade) for s in sides):
                made: dict[int, SidePicture] = {}
                pictures = tuple(self._side_picture(side, pipeline, index, signal, (source, half_source),
                                                    (hdr, half_hdr), made) for side in sides)
            return FrameResult(
                index=index,
                revision=revision,
                signal=to_half_image(signal),
                source=half_source,
                hdr=half_hdr,
                mask=overlay_masks(signal, hdr, grade.peak_nits),
                scopes=compute_scopes(hdr),
                keyframes=tuple(pipeline.temporal.keyframes()) if pipeline.temporal is not None else (),
                clues=clue_image(clues) if clues is not None else None,
                sides=pictures,  # type: ignore[arg-type]
            )

    def _side_picture(self, side: Side, pipeline: Pipeline, index: int, signal: Tensor,
                      source: tuple[Tensor, np.ndarray], hdr: tuple[Tensor, np.ndarray],
                      made: dict[int, SidePicture]) -> SidePicture:
        """A side's frame in cd/m² and through its grade's SDR output stage (the SDR export's)."""
        key = id(side)
        if key in made:
            return made[key]
        if side == SOURCE:
            # The source as delivered: display-relative light (reference white = SDR peak),
            # encoded as the SDR export encodes, so an SDR source shows its own code values.
            relative = source[0] / pipeline.grade.reference_white
            picture = SidePicture(source[1], to_half_image(sdr_view(None).apply(relative)))
        elif side == CURRENT:
            picture = SidePicture(hdr[1], to_half_image(pipeline.output(index, hdr[0], "sdr")))
        else:
            assert isinstance(side, Grade)
            other = self._version_pipeline(side, pipeline.clip)
            nits = other.hdr(index, signal)
            picture = SidePicture(to_half_image(nits), to_half_image(other.output(index, nits, "sdr")))
        made[key] = picture
        return picture

    def _version_pipeline(self, grade: Grade, clip: Clip) -> Pipeline:
        for pipeline in self._version_pipelines:
            if pipeline.grade == grade and pipeline.clip is clip:
                return pipeline
        pipeline = Pipeline(grade, clip)
        self._version_pipelines.append(pipeline)
        return pipeline

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
