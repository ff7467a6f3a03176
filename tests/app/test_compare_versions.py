"""Compare two versions of the grade: saved versions on A and B, side by side, and in the project.

Each side shows its version's own render: the engine's SDR output stage through that version's
grade (what its SDR export encodes), so two tone mappers side by side show two different halves.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from app.session import Session
from app.versions import CURRENT, SOURCE, CompareSides
from app.viewer.view_state import CompareMode, DisplayView
from engine.grade import OperatorChoice
from engine.io.open import open_clip
from engine.pipeline import Pipeline
from tests.app.helpers import code_values, open_window, settle, wait_for_result

pytestmark = pytest.mark.gui
H, W = 48, 64  # the tiny clip


def own_render(grade: object, clip_path: Path, index: int) -> np.ndarray:
    """A version's SDR signal as its export computes it, in 8-bit code values (H, W, 3)."""
    with open_clip(clip_path) as clip, torch.inference_mode():
        pipeline = Pipeline(grade, clip, device="cpu")  # type: ignore[arg-type]
        return code_values(pipeline.output(index, pipeline.hdr(index), "sdr"))


@pytest.mark.parametrize(("tmo_a", "tmo_b"), [("hable", "durand"), ("drago", "bt2446a")])
def test_two_tone_mappers_side_by_side_each_show_their_own_render(
    gl_app: object, qtbot: object, tmp_path: Path, tiny_clip: Path, tmo_a: str, tmo_b: str
) -> None:
    window = open_window(qtbot, tmp_path)
    session = window.session
    assert window.actions.open_clip(tiny_clip)
    session.propose_grade(session.grade.replace(tmo=OperatorChoice(tmo_a)), "tmo")
    session.save_version("A look")
    session.propose_grade(session.grade.replace(tmo=OperatorChoice(tmo_b), exposure=0.5), "tmo")
    window.actions.save_version()  # the menu command: 'Version 1'
    assert [v.name for v in session.versions] == ["A look", "Version 1"]
    session.propose_grade(session.grade.replace(exposure=-1.0), "exposure")  # the current grade moves on
    window.controls.versions.side_a.setCurrentIndex(window.controls.versions.side_a.findData("A look"))
    window.controls.versions.side_b.setCurrentIndex(window.controls.versions.side_b.findData("Version 1"))
    assert session.sides == CompareSides("A look", "Version 1")
    session.set_view(session.view.replace(view=DisplayView.SDR, compare=CompareMode.SIDE_BY_SIDE))
    session.set_frame(2)
    wait_for_result(qtbot, window, 2, lambda r: r.sides is not None)
    window.viewer.one_to_one()
    shown = code_values(window.viewer.render_offscreen(2 * W, H)[..., :3])
    left, right = shown[:, :W], shown[:, W:]

    expected_a = own_render(session.versions[0].grade, tiny_clip, 2)
    expected_b = own_render(session.versions[1].grade, tiny_clip, 2)
    assert float(np.abs(left - expected_a).max()) <= 1.0
    assert float(np.abs(right - expected_b).max()) <= 1.0
    # Two different pictures, not one grade twice.
    assert float(np.abs(expected_a - expected_b).mean()) > 5.0
    assert float(np.abs(left - right).mean()) > 5.0

    # In PQ both sides are each version's graded light through one PQ transform.
    session.set_view(session.view.replace(view=DisplayView.PQ))
    settle(window)  # the PQ transform is baked off the GUI thread; the sides' arrays switch with it
    pq = code_values(window.viewer.render_offscreen(2 * W, H)[..., :3], 10)
    exposure_stops = session.versions[1].grade.exposure - session.versions[0].grade.exposure
    assert exposure_stops == 0.5
    assert float(pq[:, W:].mean()) > float(pq[:, :W].mean())  # B is half a stop brighter


def test_sides_on_the_source_and_current_grade_need_no_second_render(
    gl_app: object, qtbot: object, tmp_path: Path, tiny_clip: Path
) -> None:
    window = open_window(qtbot, tmp_path)
    assert window.actions.open_clip(tiny_clip)
    result = wait_for_result(qtbot, window, 0)
    assert result.sides is None  # a curve TMO, source against the grade: the preview's own path
    window.session.save_version("v")
    revision = window.session.revision
    window.session.set_sides(CompareSides(CURRENT, "v"))
    assert window.session.revision == revision + 1  # a version on a side is engine work
    result = wait_for_result(qtbot, window, 0, lambda r: r.sides is not None)
    assert result.sides is not None
    np.testing.assert_array_equal(result.sides[0].nits, result.hdr)  # A: the current grade
    window.session.delete_version("v")
    assert window.session.sides == CompareSides(CURRENT, CURRENT)
    with pytest.raises(ValueError, match="no saved version"):
        window.session.set_sides(CompareSides(SOURCE, "gone"))


def test_a_project_with_versions_saves_and_loads_back_exactly(
    gl_app: object, tmp_path: Path, tiny_clip: Path
) -> None:
    session = Session()
    session.open_clip(tiny_clip)
    session.apply_grade(session.grade.replace(tmo=OperatorChoice("durand", {"contrast": 4.0})))
    session.save_version("durand")
    session.apply_grade(session.grade.replace(tmo=OperatorChoice("hable"), exposure=0.25))
    session.save_version("hable +1/4")
    session.set_sides(CompareSides("durand", "hable +1/4"))
    assert session.dirty
    path = tmp_path / "shot.lumigrade"
    session.save_project(path)
    assert not session.dirty

    other = Session()
    other.open_project(path)
    assert other.versions == session.versions
    assert other.sides == session.sides and other.grade == session.grade
    assert other.versions[0].grade.tmo == OperatorChoice("durand", {"contrast": 4.0})
    assert other.project() == session.project()
    assert not other.dirty
    session.close()
    other.close()


def test_compare_labels_name_what_each_side_shows(gl_app: object, qtbot: object, tmp_path: Path) -> None:
    window = open_window(qtbot, tmp_path)
    session = window.session

    def labels() -> list[tuple[str, str]]:
        combo = window.controls.compare
        return [(combo.itemText(combo.findData(mode)), window.actions.compare_actions[mode].text())
                for mode in (CompareMode.A, CompareMode.B)]

    assert labels() == [("A: SDR source",) * 2, ("B: HDR result",) * 2]
    session.save_version("Warm look")
    session.set_sides(CompareSides(CURRENT, "Warm look"))
    assert labels() == [("A: Current grade",) * 2, ("B: Warm look",) * 2]
    session.delete_version("Warm look")  # B goes back to the current grade
    assert session.sides == CompareSides(CURRENT, CURRENT)
    assert labels() == [("A: Current grade",) * 2, ("B: HDR result",) * 2]
    session.set_sides(CompareSides(SOURCE, CURRENT))
    assert labels() == [("A: SDR source",) * 2, ("B: HDR result",) * 2]
