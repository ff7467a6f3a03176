"""Preview scheduling: proxies replaced by full-resolution frames, stale jobs cancelled, playback
that drops (and counts) frames when the engine is slower than the clip."""

from __future__ import annotations

import dataclasses
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

import app.worker
from app.main_window import MainWindow
from app.preview_feed import PROXY_BUDGET_S, REFINE_MS
from app.versions import CURRENT, SOURCE
from app.worker import EngineBridge, FrameResult
from engine.frame import Frame
from engine.grade import Grade
from engine.io.open import open_clip
from engine.operators.base import StageContext
from engine.pipeline import Pipeline
from engine.stages.base import Stage
from tests.app.helpers import open_window

pytestmark = pytest.mark.gui


class _Probe:
    """Wraps a stage: records each call, optionally waits first (a slow or held engine)."""

    def __init__(self, stage: Stage, calls: list[float], delay_s: float = 0.0,
                 gate: threading.Event | None = None) -> None:
        self.stage, self.calls, self.delay_s, self.gate = stage, calls, delay_s, gate
        self.takes, self.gives = stage.takes, stage.gives

    def __call__(self, frame: Frame, ctx: StageContext) -> Frame:
        self.calls.append(ctx.frame_index)
        if self.gate is not None:
            self.gate.wait(10)
        time.sleep(self.delay_s)
        return self.stage(frame, ctx)


@pytest.fixture
def window(gl_app: QApplication, qtbot: object, tmp_path: Path) -> Iterator[MainWindow]:
    w = open_window(qtbot, tmp_path)
    yield w
    w.feed.shutdown()


def test_a_proxy_is_replaced_by_the_full_resolution_frame_when_the_hand_stops(
    window: MainWindow, qtbot: object, tiny_clip: Path
) -> None:
    assert window.actions.open_clip(tiny_clip)  # 64x48
    qtbot.waitUntil(lambda: window.feed.result is not None, timeout=30000)  # type: ignore[attr-defined]
    window.feed.proxy_scale = 0.5
    shown: list[tuple[FrameResult, float]] = []
    window.feed.frame_shown.connect(lambda r: shown.append((r, time.monotonic())))
    edited = time.monotonic()
    window.session.propose_grade(window.session.grade.replace(exposure=1.0), "exposure")
    revision = window.session.revision
    qtbot.waitUntil(lambda: any(not r.is_proxy and r.revision == revision for r, _ in shown),  # type: ignore
                    timeout=30000)
    fresh = [(r, t) for r, t in shown if r.revision == revision]
    first, first_at = fresh[0]
    assert first.is_proxy and first.scale == 0.5 and first.hdr.shape == (24, 32, 3)
    full, full_at = next((r, t) for r, t in fresh if not r.is_proxy)
    assert full.hdr.shape == (48, 64, 3) and window.feed.result is full
    assert first_at < full_at and full_at - edited >= REFINE_MS / 1000.0
    assert window.viewer.image_size == (64, 48)  # the view's image coordinates never changed


def _hold_the_first_grade(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[list[float], list[float], threading.Event]:
    """Make the worker's pipelines record their first and last stages, with the first stage of
    the unedited grade (exposure 0) waiting for the returned gate."""
    first_calls: list[float] = []
    last_calls: list[float] = []
    gate = threading.Event()

    class HeldPipeline(Pipeline):
        def __init__(self, grade: Grade, *args: object, **kwargs: object) -> None:
            super().__init__(grade, *args, **kwargs)  # type: ignore[arg-type]
            held = gate if grade.exposure == 0.0 else None
            self.stages = (_Probe(self.stages[0], first_calls, gate=held), *self.stages[1:-1],
                           _Probe(self.stages[-1], last_calls))

    monkeypatch.setattr(app.worker, "Pipeline", HeldPipeline)
    return first_calls, last_calls, gate


def test_a_stale_render_is_cancelled_before_its_last_stage(
    gl_app: QApplication, qtbot: object, tiny_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_calls, last_calls, gate = _hold_the_first_grade(monkeypatch)
    clip = open_clip(tiny_clip)
    bridge = EngineBridge()
    bridge.set_clip(clip, Grade(), revision=1)
    bridge.request(0)
    qtbot.waitUntil(lambda: len(first_calls) == 1, timeout=10000)  # type: ignore[attr-defined]
    # The job for revision 1 is inside its first stage: a new grade makes it stale.
    bridge.set_grade(Grade(exposure=1.0), revision=2)
    with qtbot.waitSignal(bridge.frame_ready, timeout=20000) as blocker:  # type: ignore[attr-defined]
        bridge.request(0)
        gate.set()
    assert blocker.args[0].revision == 2
    bridge.wait_idle()
    # Two jobs started their first stage; only revision 2's reached the last one.
    assert len(first_calls) == 2 and len(last_calls) == 1
    assert bridge.jobs_cancelled == 1 and bridge.cache.get(1, 0) is None
    bridge.shutdown()
    clip.close()


def test_a_stale_render_is_cancelled_between_compare_sides(
    gl_app: QApplication, qtbot: object, tiny_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = Grade(exposure=2.0)
    first_calls: list[float] = []
    last_calls: list[float] = []
    gate = threading.Event()

    class HeldVersion(Pipeline):
        """The saved version's first stage waits for the gate; its last stage records that it ran."""

        def __init__(self, grade: Grade, *args: object, **kwargs: object) -> None:
            super().__init__(grade, *args, **kwargs)  # type: ignore[arg-type]
            if grade == version:
                self.stages = (_Probe(self.stages[0], first_calls, gate=gate), *self.stages[1:-1],
                               _Probe(self.stages[-1], last_calls))

    monkeypatch.setattr(app.worker, "Pipeline", HeldVersion)
    clip = open_clip(tiny_clip)
    bridge = EngineBridge()
    bridge.set_sides(CURRENT, version)
    bridge.set_clip(clip, Grade(), revision=1)
    bridge.request(0)
    qtbot.waitUntil(lambda: len(first_calls) == 1, timeout=10000)  # type: ignore[attr-defined]
    # Revision 1's job has rendered its own grade and is inside side B's render: make it stale.
    bridge.set_grade(Grade(exposure=1.0), revision=2)
    with qtbot.waitSignal(bridge.frame_ready, timeout=20000) as blocker:  # type: ignore[attr-defined]
        bridge.request(0)
        gate.set()
    result = blocker.args[0]
    assert result.revision == 2 and result.sides is not None
    bridge.wait_idle()
    # Side B started twice and finished once: the stale job stopped inside it.
    assert len(first_calls) == 2 and len(last_calls) == 1
    assert bridge.jobs_cancelled == 1 and bridge.results_dropped == 0
    bridge.shutdown()
    clip.close()


def test_compare_sides_of_a_proxy_are_rendered_at_the_proxy_scale(
    gl_app: QApplication, qtbot: object, tiny_clip: Path
) -> None:
    clip = open_clip(tiny_clip)  # 64x48
    bridge = EngineBridge()
    bridge.set_sides(SOURCE, Grade(exposure=1.0))
    bridge.set_clip(clip, Grade(), revision=1)
    with qtbot.waitSignal(bridge.frame_ready, timeout=20000) as blocker:  # type: ignore[attr-defined]
        bridge.request(0, scale=0.5)
    result = blocker.args[0]
    assert result.is_proxy and result.sides is not None and result.hdr.shape == (24, 32, 3)
    a, b = result.sides
    assert a.nits is result.source and a.sdr.shape == b.nits.shape == b.sdr.shape == (24, 32, 3)
    # B is the version's render: +1 stop on the current grade's light.
    np.testing.assert_allclose(b.nits.astype(np.float32), 2 * result.hdr.astype(np.float32),
                               rtol=2e-3, atol=1e-3)
    assert bridge.cache.get(1, 0) is None  # proxies are never cached
    bridge.shutdown()
    clip.close()


def test_playback_drops_and_counts_frames_when_the_engine_is_slower_than_the_clip(
    window: MainWindow, qtbot: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "two_seconds.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=24", "-frames:v", "36",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )
    rendered: list[float] = []

    class SlowPipeline(Pipeline):
        """10 frames a second at most: slower than the clip's 24."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            self.stages = (_Probe(self.stages[0], rendered, delay_s=0.1), *self.stages[1:])

    assert window.actions.open_clip(path)
    qtbot.waitUntil(lambda: window.feed.result is not None, timeout=30000)  # type: ignore[attr-defined]
    monkeypatch.setattr(app.worker, "Pipeline", SlowPipeline)
    window.session.propose_grade(window.session.grade.replace(exposure=0.5), "exposure")  # a new Pipeline
    window.feed.bridge.wait_idle()
    window.timeline.play()
    started = time.monotonic()
    qtbot.waitUntil(lambda: not window.timeline.playing, timeout=10000)  # type: ignore[attr-defined]
    elapsed = time.monotonic() - started
    feed = window.feed
    assert elapsed == pytest.approx(35 / 24, abs=0.3)  # the clip's rate, not the engine's
    assert window.session.frame == 35
    assert feed.dropped_count >= 10  # 36 frames due, at most ~15 rendered in 1.5 s
    # Every frame after the first was shown or counted as dropped, except the last if it is late.
    assert 34 <= feed.shown_count + feed.dropped_count <= 35
    assert window.playback_label.text() == f"played {feed.shown_count} · dropped {feed.dropped_count}"


def test_a_running_proxy_finishes_and_the_newest_edit_renders_next(
    gl_app: QApplication, qtbot: object, tiny_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the hand moves, the proxy on the worker is let finish (a picture at all beats none);
    the edits made meanwhile skip to the newest, and the full-resolution render of an old grade
    is still cancelled (test_a_stale_render_is_cancelled_before_its_last_stage)."""
    first_calls, last_calls, gate = _hold_the_first_grade(monkeypatch)
    clip = open_clip(tiny_clip)  # 64x48
    bridge = EngineBridge()
    delivered: list[FrameResult] = []
    bridge.frame_ready.connect(delivered.append)
    bridge.set_clip(clip, Grade(), revision=1)
    bridge.request(0, scale=0.5)
    qtbot.waitUntil(lambda: len(first_calls) == 1, timeout=10000)  # type: ignore[attr-defined]
    for revision, exposure in ((2, 1.0), (3, 2.0)):  # two edits while revision 1's proxy renders
        bridge.set_grade(Grade(exposure=exposure), revision=revision)
        bridge.request(0, scale=0.5)
    gate.set()
    qtbot.waitUntil(lambda: any(r.revision == 3 for r in delivered), timeout=20000)  # type: ignore
    bridge.wait_idle()
    QApplication.processEvents()
    # Revision 1 finished and was delivered; revision 2's queued proxy never started.
    assert [r.revision for r in delivered] == [1, 3] and all(r.scale == 0.5 for r in delivered)
    assert len(first_calls) == 2 and len(last_calls) == 2 and bridge.jobs_cancelled == 0
    old, new = delivered
    assert old.hdr.shape == new.hdr.shape == (24, 32, 3)
    np.testing.assert_allclose(new.hdr.astype(np.float32), 4 * old.hdr.astype(np.float32),
                               rtol=2e-3, atol=1e-3)
    assert bridge.cache.get(1, 0) is None and bridge.cache.get(3, 0) is None  # proxies are never cached
    bridge.shutdown()
    clip.close()


def test_the_feed_never_replaces_a_picture_by_an_older_grades_proxy(
    window: MainWindow, qtbot: object, tiny_clip: Path
) -> None:
    assert window.actions.open_clip(tiny_clip)
    window.session.propose_grade(window.session.grade.replace(exposure=1.0), "exposure")
    revision = window.session.revision
    qtbot.waitUntil(lambda: window.feed.result is not None and window.feed.result.revision == revision  # type: ignore
                    and not window.feed.result.is_proxy, timeout=30000)
    shown = window.feed.result
    assert shown is not None
    late = dataclasses.replace(shown, revision=revision - 1, scale=0.5)  # a proxy let finish, arriving late
    window.feed.bridge.frame_ready.emit(late)
    assert window.feed.result is shown


def test_the_proxy_scale_follows_the_engines_speed(
    window: MainWindow, qtbot: object, tiny_clip: Path
) -> None:
    """No set scale: the proxy is as large as the engine renders within PROXY_BUDGET_S, measured
    on the last frame it rendered, in whole PROXY_STEPs."""
    assert window.actions.open_clip(tiny_clip)  # 64x48, much smaller than the view: no reduction for it
    qtbot.waitUntil(lambda: window.feed.result is not None, timeout=30000)  # type: ignore[attr-defined]
    shown = window.feed.result
    assert shown is not None
    # A render that took as long as a 0.3-scale frame may: the proxy is 0.25 (floored to 1/16ths).
    slow = dataclasses.replace(shown, render_seconds=PROXY_BUDGET_S / 0.3 ** 2)
    window.feed.bridge.frame_ready.emit(slow)
    proxies: list[FrameResult] = []
    window.feed.frame_shown.connect(lambda r: proxies.append(r) if r.is_proxy else None)
    window.session.propose_grade(window.session.grade.replace(exposure=1.0), "exposure")
    qtbot.waitUntil(lambda: bool(proxies), timeout=30000)  # type: ignore[attr-defined]
    assert proxies[0].scale == 0.25 and proxies[0].hdr.shape == (12, 16, 3)


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_a_stale_temporal_job_stops_inside_its_analysis(
    gl_app: QApplication, qtbot: object, tiny_clip: Path, scale: float
) -> None:
    """The first frame of a temporal grade reads the whole clip (6 frames here); a new grade
    while it reads stops it before the next frame, not after the last. A temporal grade's
    proxy is rendered at full size, so it is cancelled too, not let finish."""
    clip = open_clip(tiny_clip)
    decoded: list[int] = []
    gate = threading.Event()
    frame = clip.frame

    def held_frame(index: int) -> object:
        decoded.append(index)
        if len(decoded) == 2:  # the job's own frame, then the analysis's first
            gate.wait(10)
        return frame(index)

    clip.frame = held_frame  # type: ignore[method-assign]
    bridge = EngineBridge()
    bridge.set_clip(clip, Grade(temporal=True), revision=1)
    bridge.request(0, scale=scale)
    qtbot.waitUntil(lambda: len(decoded) == 2, timeout=10000)  # type: ignore[attr-defined]
    bridge.set_grade(Grade(), revision=2)
    gate.set()
    with qtbot.waitSignal(bridge.frame_ready, timeout=30000) as blocker:  # type: ignore[attr-defined]
        bridge.request(0)
    assert blocker.args[0].revision == 2
    bridge.wait_idle()
    # Revision 1 read two frames and stopped; revision 2 (no temporal stage) read its one.
    assert decoded == [0, 0, 0] and bridge.jobs_cancelled == 1
    bridge.shutdown()
    clip.close()
