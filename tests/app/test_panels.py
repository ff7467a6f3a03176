"""Panels: operator forms built from ParamSpecs, the timeline, the pixel probe."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit

from app.panels.controls import ControlsPanel
from app.panels.number_control import NumberControl
from app.panels.param_form import ParamForm
from app.panels.pixel_probe import probe
from app.panels.timeline import Timeline, timecode
from app.session import Session
from app.viewer.view_state import VIEW_PARAMS, ViewSettings
from app.worker import FrameResult
from engine.grade import Grade, grade_specs
from engine.operators.catalogue import operators
from tests.app.test_worker import _result

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("kind", ["itm", "tmo"])
def test_every_catalogue_operator_gets_a_form_from_its_specs(
    gl_app: object, qtbot: object, kind: str
) -> None:
    classes = operators(kind)  # type: ignore[arg-type]
    assert classes, f"the {kind} catalogue is empty"
    for cls in classes:
        specs = cls.param_specs()
        form = ParamForm(specs)
        qtbot.addWidget(form)  # type: ignore[attr-defined]
        for spec in specs:
            editor = form.editors[spec.name]
            expected = (QComboBox if spec.choices else QCheckBox if spec.type == "bool"
                        else NumberControl if spec.type in ("float", "int") else QLineEdit)
            assert isinstance(editor, expected), (cls.name, spec.name)
            assert form.value(spec.name) == pytest.approx(spec.default) if spec.type == "float" \
                else form.value(spec.name) == spec.default
            if isinstance(editor, NumberControl) and spec.minimum is not None and spec.maximum is not None:
                assert (editor.minimum, editor.maximum) == (spec.minimum, spec.maximum)
                assert spec.help in editor.toolTip()
        assert form.values() == {}  # nothing differs from the defaults
        # The params a form reports are accepted by the operator's own validation.
        cls.make_params(form.values())


def test_moving_a_float_parameter_reports_it(gl_app: object, qtbot: object) -> None:
    cls = next(c for c in operators("tmo") if any(s.type == "float" and s.maximum for s in c.param_specs()))
    spec = next(s for s in cls.param_specs() if s.type == "float" and s.maximum is not None)
    form = ParamForm(cls.param_specs())
    qtbot.addWidget(form)  # type: ignore[attr-defined]
    with qtbot.waitSignal(form.changed) as blocker:  # type: ignore[attr-defined]
        form.editors[spec.name].spin.setValue(spec.maximum)  # type: ignore[attr-defined]
    values, name = blocker.args
    assert name == spec.name and values[spec.name] == pytest.approx(spec.maximum)
    cls.make_params(values)


def test_grade_slider_proposes_a_new_grade(gl_app: object, qtbot: object) -> None:
    session = Session()
    panel = ControlsPanel(session)
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    with qtbot.waitSignal(session.grade_changed) as blocker:  # type: ignore[attr-defined]
        panel.grade_controls["exposure"].spin.setValue(1.5)
    assert blocker.args == [Grade().replace(exposure=1.5), True]
    assert session.grade == Grade().replace(exposure=1.5) and session.undo_stack.count() == 1
    session.undo_stack.undo()
    assert panel.grade_controls["exposure"].value() == 0.0  # the panel shows the session's Grade


def test_grade_and_view_controls_come_from_the_parameter_declarations(gl_app: object, qtbot: object) -> None:
    panel = ControlsPanel(Session())
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    assert set(panel.grade_controls) == {
        "exposure", "saturation", "reference_white", "peak_nits", "sdr_peak_nits"}
    assert set(panel.view_controls) == {"exposure", "split", "wipe_angle", "ratio_stops", "mask_opacity"}
    declared = ((panel.grade_controls, grade_specs()), (panel.view_controls, VIEW_PARAMS.values()))
    for controls, specs in declared:
        for spec in specs:
            control = controls[spec.name]
            assert (control.minimum, control.maximum) == (spec.minimum, spec.maximum)
            assert spec.help in control.toolTip()
    assert panel.view_controls["exposure"].value() == ViewSettings().exposure


def test_a_view_control_changes_the_view_only(gl_app: object, qtbot: object) -> None:
    session = Session()
    panel = ControlsPanel(session)
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    with qtbot.waitSignal(session.view_changed) as blocker:  # type: ignore[attr-defined]
        panel.view_controls["wipe_angle"].spin.setValue(-45.0)
    assert blocker.args == [ViewSettings(wipe_angle=-45.0)] and session.view.wipe_angle == -45.0
    assert session.grade == Grade() and session.undo_stack.count() == 0


def test_timecode_is_smpte_non_drop() -> None:
    assert timecode(0, Fraction(24)) == "00:00:00:00"
    assert timecode(24 * 3661 + 5, Fraction(24)) == "01:01:01:05"
    assert timecode(30, Fraction(30000, 1001)) == "00:00:01:00"  # counted at the nominal 30


def test_timeline_keys_and_markers(gl_app: object, qtbot: object, tiny_clip: Path) -> None:
    session = Session()
    timeline = Timeline(session)
    qtbot.addWidget(timeline)  # type: ignore[attr-defined]
    session.open_clip(tiny_clip)  # 6 frames at 24 fps
    assert timeline.slider.maximum() == 5
    timeline.set_markers([4, 1])
    assert timeline.slider.markers == [1, 4]
    timeline.step(1)
    assert session.frame == timeline.frame == 1 and timeline.timecode.text() == "00:00:00:01"
    session.set_frame(3)
    assert timeline.frame == 3 and timeline.frame_box.value() == 3
    timeline.step(-2)
    timeline.shuttle(1)
    timeline.shuttle(1)
    assert timeline.speed == 2 and timeline.timer.interval() == 21  # 2x of 24 fps
    timeline.shuttle(-1)
    assert timeline.speed == -1
    timeline.stop()
    assert not timeline.playing
    with qtbot.waitSignal(session.frame_changed, timeout=2000):  # type: ignore[attr-defined]
        timeline.play()
    timeline.stop()
    assert session.frame == timeline.frame >= 2
    session.close()


def test_probe_reports_published_pq_codes() -> None:
    result: FrameResult = _result(0, 1)
    result.hdr[1, 2] = (100.0, 100.0, 100.0)
    result.hdr[3, 4] = (1000.0, 1000.0, 1000.0)
    result.signal[1, 2] = (1.0, 0.5, 0.0)
    values = probe(result, 2, 1)
    # SMPTE ST 2084: 100 cd/m² -> 0.5081 (10-bit 520), 1000 cd/m² -> 0.7518 (769).
    assert values.pq_code == 520 and values.luminance == pytest.approx(100.0, rel=1e-3)
    assert values.sdr_code == (255, 128, 0)
    assert probe(result, 4, 3).pq_code == 769
    assert probe(result, 2, 1, bits=10).sdr_code == (1023, 512, 0)
    assert np.isclose(values.nits, 100.0, rtol=1e-3).all()
