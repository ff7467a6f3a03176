"""The bridge from the GUI to the engine: frame requests, cancellation, proxies, a frame cache.

The GUI thread never waits on the engine and does no numeric work. It asks for a frame; a
cached frame comes back at once, otherwise one worker thread renders it through the Pipeline
and the result arrives as a queued signal, with everything the window draws for it already
computed: half-float frames, masks, scopes (from a reduced frame) and the baked display
transform of the view (engine.processor.glsl.PreviewDisplay: the DisplayTransform, LUTs
included, folded into the export processor's display ops and their generated shader).

Every request carries the revision of the Grade it was made for (napari's asynchronous slicing
works the same way). A job whose revision or frame is no longer wanted is skipped before it
starts; a running full-resolution job of an old revision is *cancelled*: its CancelToken is set
and the Pipeline stops before its next stage (Pipeline.hdr checks it), so the worker is free
for the new grade at once. A full-resolution result that still arrives for an old revision is
dropped.

Proxy rendering (as Resolve and Nuke do): while the hand is on a grade slider the feed asks
for frames at a proxy scale; the source is reduced before the engine runs, so a first picture
comes quickly, and the full-resolution frame replaces it once the hand stops. A running proxy
is let finish when a newer edit arrives: cancelling it on every edit of a drag would leave the
screen without any picture until the hand stops, when the engine is slower than the edits.
Queued proxies of superseded edits are still skipped, so the newest edit starts next, and the
finished proxy of an older edit is delivered (the newest picture there is; the feed shows it
if it has nothing newer). Proxies are shown, never cached. Each result carries the seconds its
render took, from which the feed picks the proxy scale. A second single-thread lane bakes
display transforms for display-only edits, so they never wait behind a render.

Besides the graded frame the worker sends what the preview cannot compute per pixel: the
engine's tone-mapped SDR frame when the tone mapper is spatial or when a compare side shows a
saved version of the grade (then each side is rendered through its own grade, at the job's
scale, and the CancelToken is checked between sides), the temporal stage's clue map, and the
no-reference quality estimate of the graded frame (app.panels.quality_estimate). In
the SDR view such frames are the export's encoded signal and their baked display transform is
the identity (engine.display.encoded_view).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from torch import Tensor
from torch.nn.functional import interpolate

from app.panels.quality_estimate import QualityScorer
from app.panels.scope_data import ScopeData, compute_scopes
from app.panels.signal_scope_data import PARADE_MAX_COLUMNS, SignalScopes, compute_signal_scopes
from app.versions import CURRENT, SOURCE
from engine.color.luminance import luminance
from engine.display import DisplayTransform, encoded_view, sdr_view
from engine.errors import LumigradeError, RenderCancelled
from engine.grade import Grade
from engine.io.clip import Clip
from engine.jobs import CancelToken
from engine.masks import ClueMap, clipped_map
from engine.operators.base import CurveOperator
from engine.pipeline import Pipeline
from engine.processor.glsl import PreviewDisplay, preview_display

log = logging.getLogger(__name__)
HALF_MAX = 65504.0  # the largest float16: brighter pixels would become inf in the texture
DEFAULT_CACHE_BYTES = 1 << 30
FULL_RESOLUTION = 1.0
SCOPE_MAX_WIDTH = 480  # scopes read a frame reduced to about this width: 256 waveform columns at most
# Two pixels per parade column; the vectorscope is a distribution, so more pixels would add
# time (the display transform of each), not detail.
SIGNAL_SCOPE_MAX_WIDTH = 2 * PARADE_MAX_COLUMNS


def to_half_image(frame: Tensor) -> np.ndarray:
    """(3, H, W) -> (H, W, 3) float16 on the CPU: the layout the preview's textures take."""
    return frame.clamp(-HALF_MAX, HALF_MAX).permute(1, 2, 0).to("cpu", torch.float16).contiguous().numpy()


def reduced(frame: Tensor, max_width: int = SCOPE_MAX_WIDTH) -> Tensor:
    """A (3, H, W) frame subsampled to about `max_width` columns, for the scopes."""
    step = max(1, math.ceil(frame.shape[-1] / max_width))
    return frame[:, ::step, ::step]


def scopes_of(hdr: Tensor) -> ScopeData:
    """Scopes of a reduced frame: the waveform has at most 256 columns and the histogram and
    chromaticities are distributions, so the full frame adds time, not detail."""
    return compute_scopes(reduced(hdr))


def signal_scopes_of(display: DisplayTransform, shown: Tensor) -> SignalScopes:
    """Parade and vectorscope of the signal `display` makes of the reduced frame `shown` (cd/m²,
    or the engine's encoded SDR when `display` is the identity)."""
    return compute_signal_scopes(display.apply(reduced(shown, SIGNAL_SCOPE_MAX_WIDTH)), display.kind)


def shown_b(hdr: Tensor, sides: tuple[SidePicture, SidePicture] | None, encoded: bool) -> Tensor:
    """The graded frame the signal scopes read: B's engine-encoded SDR when that is shown."""
    if encoded and sides is not None:
        return torch.from_numpy(sides[1].sdr).permute(2, 0, 1).float()
    return hdr


def proxy_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """(H, W) of a frame reduced by `scale`, at least 1x1."""
    return max(1, round(height * scale)), max(1, round(width * scale))


class DisplayBaker:
    """Bakes display transforms for one thread: a Pipeline per display Grade, without the
    temporal stage (the output transform never reads it), so a display-only edit costs no
    temporal analysis. An SDR curve TMO's statistics follow the frames baked in sequence."""

    def __init__(self) -> None:
        self._pipeline: Pipeline | None = None

    def bake(self, clip: Clip, grade: Grade, view: str, index: int, hdr: Tensor,
             encoded: bool = False) -> PreviewDisplay:
        """The transform for frame `index` in `view`; `encoded`: the frames shown are the engine's
        encoded SDR (see engine_encoded), so nothing is left to do but show them."""
        if encoded:
            return preview_display(encoded_view("sdr"))
        pipeline = self._pipeline
        if pipeline is None or pipeline.clip is not clip or pipeline.grade != grade.replace(temporal=False):
            pipeline = self._pipeline = Pipeline(grade.replace(temporal=False), clip)
        if view == "sdr" and not isinstance(pipeline.tmo, CurveOperator):
            # A spatial tone mapper has no curve: until the engine's SDR frame arrives, the
            # frame shown is light in cd/m², so it is shown in PQ.
            view = "pq"
        needs_frame = view == "sdr" and pipeline.tmo.needs_stats
        return pipeline.preview_display(view, hdr if needs_frame else None, index)


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


def engine_encoded(sides: tuple[SidePicture, SidePicture] | None, view: str) -> bool:
    """Whether the preview shows the sides' engine-encoded SDR signal: in the SDR view of a
    frame that carries sides. Its display transform is then the identity."""
    return sides is not None and view == "sdr"


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
    scale: float = FULL_RESOLUTION  # < 1 for a proxy: the source was reduced before the engine ran
    display: PreviewDisplay | None = None  # baked on the worker for `display_revision`
    display_revision: int = -1
    signal_scopes: SignalScopes | None = None  # of the signal `display` gives
    render_seconds: float = 0.0  # the job's time on the worker, decode to baked display
    quality: float | None = None  # no-reference PU21-PSNR estimate of `hdr` (app.panels.quality_estimate)
    # (256,) float32: the gain the temporal mode measured on the source transfer's top, if it did
    measured_top: np.ndarray | None = None

    @property
    def is_proxy(self) -> bool:
        return self.scale < FULL_RESOLUTION

    @property
    def nbytes(self) -> int:
        arrays = [self.signal, self.source, self.hdr, self.mask]
        arrays += [self.clues] if self.clues is not None else []
        for side in self.sides or ():
            arrays += [side.nits, side.sdr]
        unique = {id(a): a for a in arrays}  # sides share the source and graded arrays
        signal_scopes = self.signal_scopes.nbytes if self.signal_scopes is not None else 0
        return sum(a.nbytes for a in unique.values()) + self.scopes.nbytes + signal_scopes


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


def _measured_top(pipeline: Pipeline) -> np.ndarray | None:
    top = pipeline.temporal.measured_top() if pipeline.temporal is not None else None
    return top.cpu().numpy() if top is not None else None


def _graded(pipeline: Pipeline, index: int, signal: Tensor, token: CancelToken) -> Tensor:
    """pipeline.hdr, cancellable inside the temporal analysis too: the first frame of a
    temporal grade reads the whole clip, which the stage checks between frames."""
    if pipeline.temporal is not None and not pipeline.temporal.analysed:
        pipeline.temporal.analyse(cancel=token)
    return pipeline.hdr(index, signal, cancel=token)


class _Job(QRunnable):
    """Runs a callable on a bridge's thread pool (QRunnable wants a subclass)."""

    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__()
        self.work = work

    def run(self) -> None:
        self.work()


@dataclass(frozen=True)
class DisplaySettings:
    """What the display transform is baked for: the Grade's display fields and the view."""

    grade: Grade
    view: str  # 'pq', 'hlg', 'sdr' or 'linear'
    revision: int


class EngineBridge(QObject):
    """Renders frames of one clip through the current Grade on a single worker thread."""

    # FrameResult of the current revision (full resolution ones cached), or a proxy of an older
    # revision that was let finish (FrameResult.revision says which)
    frame_ready = Signal(object)
    frame_failed = Signal(int, str)  # frame index, one-line message
    # display revision, FrameResult baked for, DisplayTransform, SignalScopes of its signal
    display_ready = Signal(int, object, object, object)
    _finished = Signal(object)  # from the worker thread, queued to the GUI thread

    def __init__(self, cache_bytes: int = DEFAULT_CACHE_BYTES, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = FrameCache(cache_bytes)
        # One thread: the Pipeline's statistics and the clip's decoder are not thread-safe.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        # Display bakes have their own thread and Pipeline, so they never wait behind a render.
        self._display_pool = QThreadPool(self)
        self._display_pool.setMaxThreadCount(1)
        self._display_baker = DisplayBaker()  # used on the display thread only
        self._render_baker = DisplayBaker()  # used on the worker thread only
        self._quality = QualityScorer()  # used on the worker thread only
        self._lock = threading.Lock()
        self._clip: Clip | None = None
        self._grade = Grade()
        self._sides: tuple[Side, Side] = (SOURCE, CURRENT)
        self._revision = 0
        self._display = DisplaySettings(Grade(), "pq", 0)
        self._wanted: set[tuple[int, float]] = set()
        self._queued: dict[tuple[int, int, float], CancelToken] = {}
        self._pipeline: Pipeline | None = None  # used on the worker thread only
        self._pipeline_revision = -1
        self._version_pipelines: list[Pipeline] = []  # of the saved versions shown, worker thread only
        self.jobs_run = 0
        self.jobs_cancelled = 0  # running jobs stopped early because their revision went stale
        self.results_dropped = 0
        self._finished.connect(self._deliver)

    @property
    def revision(self) -> int:
        return self._revision

    def set_clip(self, clip: Clip | None, grade: Grade, revision: int) -> None:
        """Switch clip (frames of the old one are dropped, running proxies too) and grade."""
        self.set_grade(grade, revision)
        with self._lock:
            for token in self._queued.values():
                token.cancel()
        self.wait_idle()
        with self._lock:
            self._clip = clip
            self._pipeline = None
            self._version_pipelines = []
        self.cache = FrameCache(self.cache.budget_bytes)

    def set_grade(self, grade: Grade, revision: int) -> None:
        """A new Grade: queued work for older revisions is skipped, running full-resolution work
        cancelled; a running proxy finishes (see the module's docstring)."""
        with self._lock:
            # A temporal grade renders its proxies at full size (see _render): those are cancelled.
            spare_proxies = not any(isinstance(g, Grade) and g.temporal for g in (self._grade, *self._sides))
            self._grade = grade
            self._revision = revision
            self._wanted.clear()
            for (job_revision, _, job_scale), token in self._queued.items():
                if job_revision != revision and (job_scale == FULL_RESOLUTION or not spare_proxies):
                    token.cancel()
        self.cache.keep_only(revision)

    def set_sides(self, a: Side, b: Side) -> None:
        """What compare A and B show; set_grade with a new revision must follow."""
        with self._lock:
            self._sides = (a, b)

    def set_display(self, grade: Grade, view: str, revision: int) -> None:
        """The display settings frames are baked for from now on (`revision` counts them)."""
        with self._lock:
            self._display = DisplaySettings(grade, view, revision)

    def request(self, index: int, prefetch: Iterable[int] = (), scale: float = FULL_RESOLUTION
                ) -> FrameResult | None:
        """The frame if cached at full resolution; otherwise None now and frame_ready later.

        `scale` < 1 asks for a proxy of `index` (prefetched frames are always full resolution).
        Replaces older wishes: queued jobs for frames no longer wanted are skipped.
        """
        ahead = [i for i in prefetch if self._clip is not None and 0 <= i < self._clip.info.frame_count]
        with self._lock:
            self._wanted = {(index, scale), *((i, FULL_RESOLUTION) for i in ahead)}
            revision = self._revision
        cached = self.cache.get(revision, index)
        jobs = ([] if cached else [(index, scale)]) + [(i, FULL_RESOLUTION) for i in ahead]
        for i, job_scale in jobs:
            key = (revision, i, job_scale)
            if job_scale == FULL_RESOLUTION and self.cache.get(revision, i) is not None:
                continue
            with self._lock:
                if key in self._queued:
                    continue
                token = self._queued[key] = CancelToken()
            self._pool.start(_Job(lambda key=key, token=token: self._run_job(key, token)))
        return cached

    def bake_display(self, result: FrameResult) -> None:
        """Bake the current display settings for `result` on the display thread: display_ready."""
        with self._lock:
            settings, clip = self._display, self._clip
        if clip is not None:
            self._display_pool.start(_Job(lambda: self._run_bake(clip, settings, result)))

    def wait_idle(self, timeout_ms: int = -1) -> bool:
        """Block until queued jobs finish (shutdown, tests and benchmarks; never the GUI)."""
        return self._pool.waitForDone(timeout_ms) and self._display_pool.waitForDone(timeout_ms)

    def shutdown(self) -> None:
        with self._lock:
            self._wanted.clear()
            for token in self._queued.values():
                token.cancel()
        self._pool.clear()
        self._display_pool.clear()
        self.wait_idle()

    # -- worker threads -------------------------------------------------------------------
    def _run_job(self, key: tuple[int, int, float], token: CancelToken) -> None:
        try:
            result = self._run(key, token)
        finally:
            with self._lock:
                self._queued.pop(key, None)
        # Skipped and cancelled jobs send nothing: the GUI has nothing to do for them.
        if result is not None:
            self._finished.emit((key, result))

    def _run(self, key: tuple[int, int, float], token: CancelToken) -> FrameResult | LumigradeError | None:
        revision, index, scale = key
        with self._lock:
            stale = revision != self._revision or (index, scale) not in self._wanted
            clip, grade, sides, display = self._clip, self._grade, self._sides, self._display
        if stale or clip is None:
            return None
        try:
            result: Any = self._render(clip, grade, sides, display, key, token)
        except RenderCancelled:
            self.jobs_cancelled += 1
            result = None
        except LumigradeError as exc:
            result = exc
        except Exception as exc:
            # An engine bug must not leave the preview waiting forever: report it and log it.
            log.exception("rendering frame %d failed", index)
            result = LumigradeError(f"frame {index}: internal engine error ({type(exc).__name__}: {exc})",
                                    clip.info.path)
        return result

    def _render(self, clip: Clip, grade: Grade, sides: tuple[Side, Side], display: DisplaySettings,
                key: tuple[int, int, float], token: CancelToken) -> FrameResult:
        revision, index, scale = key
        if self._pipeline is None or self._pipeline_revision != revision or self._pipeline.clip is not clip:
            self._pipeline = Pipeline(grade, clip)
            self._pipeline_revision = revision
            versions = [side for side in sides if isinstance(side, Grade)]
            self._version_pipelines = [p for p in self._version_pipelines
                                       if p.clip is clip and p.grade in versions]
        pipeline = self._pipeline
        if pipeline.temporal is not None or any(isinstance(s, Grade) and s.temporal for s in sides):
            scale = FULL_RESOLUTION  # the temporal stage decodes its neighbours at full size
        self.jobs_run += 1
        started = time.perf_counter()
        with torch.inference_mode():
            signal = clip.frame(index).to(pipeline.device, torch.float32)
            if scale < FULL_RESOLUTION:
                size = proxy_size(signal.shape[1], signal.shape[2], scale)
                signal = interpolate(signal[None], size=size, mode="area")[0]
            source = pipeline.source(index, signal)
            hdr = _graded(pipeline, index, signal, token)
            token.check()
            clues = pipeline.temporal.clue_map(index) if pipeline.temporal is not None else None
            half_source, half_hdr = to_half_image(source), to_half_image(hdr)
            pictures: tuple[SidePicture, SidePicture] | None = None
            if not isinstance(pipeline.tmo, CurveOperator) or any(isinstance(s, Grade) for s in sides):
                made: dict[int, SidePicture] = {}
                a, b = (self._side_picture(side, pipeline, index, signal, (source, half_source),
                                           (hdr, half_hdr), made, token) for side in sides)
                pictures = (a, b)
            encoded = engine_encoded(pictures, display.view)
            baked = self._render_baker.bake(clip, display.grade, display.view, index, hdr, encoded)
            signal_scopes = signal_scopes_of(baked.transform, shown_b(hdr, pictures, encoded))
            return FrameResult(
                index=index,
                revision=revision,
                signal=to_half_image(signal),
                source=half_source,
                hdr=half_hdr,
                mask=overlay_masks(signal, hdr, grade.peak_nits),
                scopes=scopes_of(hdr),
                keyframes=tuple(pipeline.temporal.keyframes()) if pipeline.temporal is not None else (),
                measured_top=_measured_top(pipeline),
                clues=clue_image(clues) if clues is not None else None,
                sides=pictures,
                scale=scale,
                display=baked,
                display_revision=display.revision,
                signal_scopes=signal_scopes,
                render_seconds=time.perf_counter() - started,
                # A proxy is shown only while the hand moves; scoring it would add its cost to
                # every drag edit and report a reduced frame's quality.
                quality=None if scale < FULL_RESOLUTION else self._quality.score(hdr, signal),
            )

    def _side_picture(self, side: Side, pipeline: Pipeline, index: int, signal: Tensor,
                      source: tuple[Tensor, np.ndarray], hdr: tuple[Tensor, np.ndarray],
                      made: dict[int, SidePicture], token: CancelToken) -> SidePicture:
        """A side's frame in cd/m² and through its grade's SDR output stage (the SDR export's),
        from `signal` at the job's scale. A stale job stops before each side (RenderCancelled)."""
        key = id(side)
        if key in made:
            return made[key]
        token.check()
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
            nits = _graded(other, index, signal, token)
            token.check()
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

    def _run_bake(self, clip: Clip, settings: DisplaySettings, result: FrameResult) -> None:
        try:
            with torch.inference_mode():
                hdr = torch.from_numpy(result.hdr).permute(2, 0, 1).float()
                encoded = engine_encoded(result.sides, settings.view)
                display = self._display_baker.bake(clip, settings.grade, settings.view, result.index, hdr,
                                                   encoded)
                signal_scopes = signal_scopes_of(display.transform, shown_b(hdr, result.sides, encoded))
        except LumigradeError as exc:
            self.frame_failed.emit(result.index, str(exc))
            return
        self.display_ready.emit(settings.revision, result, display, signal_scopes)

    # -- GUI thread -----------------------------------------------------------------------
    @Slot(object)
    def _deliver(self, message: tuple[tuple[int, int, float], FrameResult | LumigradeError]) -> None:
        key, result = message
        revision, index, _ = key
        if revision != self._revision:
            if isinstance(result, FrameResult) and result.is_proxy:
                self.frame_ready.emit(result)  # a proxy let finish: still the newest picture there may be
            else:
                self.results_dropped += 1
            return
        if isinstance(result, LumigradeError):
            self.frame_failed.emit(index, str(result))
            return
        if not result.is_proxy:
            self.cache.put(result)
        self.frame_ready.emit(result)
