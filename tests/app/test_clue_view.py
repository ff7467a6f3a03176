"""The temporal clue map as a mask view: own / reference / fallback on a shot with known clues.

The shot (tests/engine/temporal/scenes.py) pans over a textured patch that clips as the auto
exposure opens up and a 'sun' that clips in every frame; the background never clips. So on a
late frame the patch comes from darker frames (reference), the sun from the ITM (fallback) and
the background from the frame itself (own). The clue view paints reference and fallback in
engine.masks.CLUE_COLOURS at opacity x the share each gave (ClueMap.overlay), and leaves the
frame's own pixels alone.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from app.viewer.view_state import CompareMode, DisplayView, MaskView
from engine.grade import SourceTransform
from engine.masks import ClueMap, ClueSource
from tests.app.helpers import open_window, wait_for_result
from tests.engine.temporal.scenes import (
    FRAME_H,
    FRAME_W,
    code_values,
    pan_offset,
    scene_with_highlights,
    shot,
)

pytestmark = pytest.mark.gui
COUNT = 16
DRIFT = [2.0 ** (-2.0 * (1.0 - i / (COUNT - 1))) for i in range(COUNT)]
SHOWN = 12  # the patch clips from frame 4 on


def write_shot(folder: Path) -> Path:
    """The drift shot as 8-bit gamma-2.4 PNG frames (the camera's code values)."""
    frames, _ = shot(scene_with_highlights(sun_level=60.0), DRIFT)
    for i, frame in enumerate(frames):
        code = np.round(code_values(frame).permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"frame_{i:04d}.png"), code[..., ::-1])
    return folder / "frame_%04d.png"


def regions(index: int) -> dict[ClueSource, np.ndarray]:
    """(H, W) bool masks of pixels known to be own, reference and fallback on frame `index`."""
    top, left = pan_offset(index)
    known = {source: np.zeros((FRAME_H, FRAME_W), bool) for source in ClueSource}
    known[ClueSource.REFERENCE][16 + 3 - top : 36 - 3 - top, 40 + 3 - left : 70 - 3 - left] = True
    known[ClueSource.FALLBACK][40 + 2 - top : 52 - 2 - top, 44 + 2 - left : 56 - 2 - left] = True
    known[ClueSource.OWN][:, :8] = True  # background, far from both highlights
    return known


def test_clue_view_shows_own_reference_and_fallback(gl_app: object, qtbot: object, tmp_path: Path) -> None:
    pattern = write_shot(tmp_path)
    window = open_window(qtbot, tmp_path)
    session = window.session
    assert window.actions.open_clip(pattern)
    session.propose_grade(session.grade.replace(
        temporal=True, temporal_params={"keyframe_spacing": 8},
        source=SourceTransform("gamma", 2.4, "bt2020")), "temporal")
    session.set_view(session.view.replace(view=DisplayView.PQ, compare=CompareMode.B, mask_opacity=0.8))
    session.set_frame(SHOWN)
    result = wait_for_result(qtbot, window, SHOWN, lambda r: r.clues is not None)
    assert result.clues is not None and result.clues.shape == (FRAME_H, FRAME_W, 2)
    labels, confidence = result.clues[..., 0], result.clues[..., 1] / 255.0
    known = regions(SHOWN)
    for source, where in known.items():
        assert where.sum() >= 40
        assert (labels[where] == int(source)).all(), source.name

    viewer = window.viewer
    viewer.one_to_one()
    picture = viewer.render_offscreen(FRAME_W, FRAME_H)[..., :3]
    session.set_view(session.view.replace(mask=MaskView.CLUES))
    shown = viewer.render_offscreen(FRAME_W, FRAME_H)[..., :3]

    # Own: the picture itself.
    own = known[ClueSource.OWN]
    np.testing.assert_array_equal(shown[own], picture[own])
    # Reference and fallback: ClueMap.composite over the displayed picture, with the clue map
    # the frame carries (confidence in 8 bits).
    clue_map = ClueMap(torch.from_numpy(labels[None].copy()), torch.from_numpy(confidence[None]).float())
    expected = clue_map.composite(torch.from_numpy(picture).permute(2, 0, 1), opacity=0.8).permute(1, 2, 0)
    for source in (ClueSource.REFERENCE, ClueSource.FALLBACK):
        where = known[source]
        np.testing.assert_allclose(shown[where], expected.numpy()[where], atol=2e-3)
    # The classes read as their colours: the reference patch, trusted, is green; the sun, which
    # no frame shows, is the fallback's magenta at nearly full opacity.
    ref = shown[known[ClueSource.REFERENCE]].mean(0) - picture[known[ClueSource.REFERENCE]].mean(0)
    assert float(confidence[known[ClueSource.REFERENCE]].mean()) > 0.5
    assert ref[1] > 0.05 and ref[1] > ref[0] and ref[1] > ref[2]  # towards (0.1, 0.85, 0.3)
    sun = shown[known[ClueSource.FALLBACK]]
    assert float(confidence[known[ClueSource.FALLBACK]].max()) < 0.5
    red, green, blue = sun.mean(0)
    assert green < red and green < blue  # towards (1.0, 0.25, 0.7)
