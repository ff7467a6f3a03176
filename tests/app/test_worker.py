"""The engine bridge: frames through the Pipeline, a byte-budget LRU cache, stale results dropped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QApplication

from app.panels.scope_data import ScopeData, compute_scopes
from app.worker import EngineBridge, FrameCache, FrameResult, overlay_masks, to_half_image
from engine.grade import Grade
from engine.io.open import open_clip
from engine.pipeline import Pipeline


def _result(index: int, revision: int, size: int = 8) -> FrameResult:
    image = np.zeros((size, size, 3), np.float16)
    scopes = ScopeData(np.zeros(1, np.float32), np.zeros(2, np.float32), np.zeros((1, 1), np.float32),
                       np.zeros((1, 1), np.float32))
    mask = np.zeros((size, size, 2), np.uint8)
    return FrameResult(index, revision, image, image.copy(), image.copy(), mask, scopes)


def test_cache_evicts_least_recently_used_within_budget() -> None:
    one = _result(0, 1).nbytes
    cache = FrameCache(budget_bytes=3 * one)
    for i in range(3):
        cache.put(_result(i, 1))
    assert cache.get(1, 0) is not None  # frame 0 is now the most recent
    cache.put(_result(3, 1))
    assert cache.get(1, 1) is None and cache.get(1, 0) is not None
    assert len(cache) == 3 and cache.nbytes == 3 * one
    cache.keep_only(2)
    assert len(cache) == 0 and cache.nbytes == 0


def test_half_image_layout_and_masks() -> None:
    frame = torch.tensor([[[1.0, 70000.0]], [[2.0, 0.0]], [[3.0, 0.0]]])  # (3, 1, 2)
    image = to_half_image(frame)
    assert image.shape == (1, 2, 3) and image.dtype == np.float16
    assert image[0, 0].tolist() == [1.0, 2.0, 3.0]
    assert image[0, 1, 0] == 65504.0  # clamped to the largest half, not inf
    signal = torch.tensor([[[1.0, 0.5]], [[0.2, 0.5]], [[0.1, 0.5]]])
    hdr = torch.tensor([[[2000.0, 10.0]], [[2000.0, 10.0]], [[2000.0, 10.0]]])
    masks = overlay_masks(signal, hdr, 1000.0)
    assert masks[0, :, 0].tolist() == [255, 0]  # red channel at code 255
    assert masks[0, :, 1].tolist() == [255, 0]  # 2000 cd/m² grey is above a 1000 cd/m² peak


def test_scopes_count_every_pixel_at_its_pq_level() -> None:
    frame = torch.full((3, 4, 10), 100.0)
    data = compute_scopes(frame)
    assert data.histogram.sum() == 40
    assert 10 ** data.histogram_edges[data.histogram.argmax()] == pytest.approx(100.0, rel=0.08)
    # ST 2084: 100 cd/m² is PQ 0.5081 -> level round(0.5081 * 255) = 130 of 256.
    assert data.waveform.shape == (10, 256)
    assert np.flatnonzero(data.waveform.sum(0)).tolist() == [130]


@pytest.mark.gui
def test_bridge_renders_through_the_pipeline_and_drops_stale_results(
    gl_app: QApplication, qtbot: object, tiny_clip: Path
) -> None:
    clip = open_clip(tiny_clip)
    bridge = EngineBridge()
    bridge.set_clip(clip, Grade(), revision=1)
    with qtbot.waitSignal(bridge.frame_ready, timeout=20000) as blocker:  # type: ignore[attr-defined]
        assert bridge.request(2) is None  # not cached: the GUI thread does not wait
    result = blocker.args[0]
    assert (result.index, result.revision) == (2, 1)
    expected = Pipeline(Grade(), open_clip(tiny_clip), device="cpu").hdr(2)
    np.testing.assert_allclose(result.hdr.astype(np.float32), to_half_image(expected).astype(np.float32),
                               rtol=2e-3, atol=1e-3)
    assert bridge.request(2) is result  # now cached

    # A grade change while a render is queued: the old revision's result never reaches the GUI.
    bridge.request(4)
    bridge.set_grade(Grade(exposure=1.0), revision=2)
    with qtbot.waitSignal(bridge.frame_ready, timeout=20000) as blocker:  # type: ignore[attr-defined]
        bridge.request(4)
    fresh = blocker.args[0]
    assert fresh.revision == 2 and fresh.index == 4
    bridge.wait_idle()
    QApplication.processEvents()
    assert bridge.cache.get(1, 4) is None and bridge.cache.get(1, 2) is None
    old = Pipeline(Grade(), open_clip(tiny_clip), device="cpu").hdr(4)
    # +1 stop doubles every graded value.
    np.testing.assert_allclose(fresh.hdr.astype(np.float32), 2 * to_half_image(old).astype(np.float32),
                               rtol=2e-3, atol=1e-3)
    bridge.shutdown()
    clip.close()
