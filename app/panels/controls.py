"""The controls dock: source transform, the SDR->HDR operator, grade sliders, preview settings.

Operator forms come from the catalogue (engine.operators.catalogue.operators(kind) and param_specs), so a
new operator appears here with its sliders without any GUI change; the grade and preview sliders
come from the parameter declarations of Grade and ViewSettings the same way. The panel shows the
session's Grade and view settings; edits go to the session as a proposed Grade (an undo step) or
as new ViewSettings (display only).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.panels.camera_calibration import ask_bracket
from app.panels.number_control import NumberControl
from app.panels.param_form import ParamForm, param_label
from app.panels.response_plot import ResponsePlot
from app.panels.versions_box import VersionsBox
from app.session import Session
from app.versions import CompareSides, side_names
from app.viewer.view_state import (
    DEFAULT_SIDE_NAMES,
    VIEW_PARAMS,
    CompareMode,
    DisplayView,
    MaskView,
    ViewSettings,
    compare_label,
)
from engine.errors import LumigradeError
from engine.grade import (
    SOURCE_PRIMARIES,
    SOURCE_TRANSFERS,
    Grade,
    OperatorChoice,
    SourceTransform,
    grade_specs,
)
from engine.ocio_input import DEFAULT_CONFIG, input_spaces
from engine.operators.base import OperatorKind
from engine.operators.catalogue import operator_class, operators
from engine.params import ParamSpec, param_specs
from engine.temporal import TemporalParams

_GRADE_PARAMS = grade_specs()
_SOURCE_PARAMS = {spec.name: spec for spec in param_specs(SourceTransform)}
# How a source transfer reads in the GUI where its grade name is terse.
_TRANSFER_LABELS = {"estimated": "auto (estimated)", "bt709-camera": "bt709 camera (scene light)",
                    "camera-lut": "camera LUT (1-D .cube)"}
CAMERA_LUT_FILTER = "1-D camera LUT (*.cube)"
_NO_CAMERA_LUT = "Choose…"
_MEASURE = "Measure…"
_MEASURE_FAILED = "Cannot measure the camera's response"
_MASK_LABELS = {MaskView.NONE: "None", MaskView.CLIPPED: "Clipped source", MaskView.OVER_PEAK: "Above peak",
                MaskView.CLUES: "Temporal clues (reference / fallback)"}
_VIEW_LABELS = {DisplayView.SDR: "SDR (tone mapped, BT.1886)", DisplayView.PQ: "PQ (ST 2084)",
                DisplayView.HLG: "HLG (BT.2100)"}


class OperatorPicker(QWidget):
    """A combo of the catalogue's operators of one kind and the chosen one's parameter form."""

    changed = Signal(object, str)  # OperatorChoice, name of what changed

    def __init__(self, kind: OperatorKind, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        for cls in operators(kind):
            self.combo.addItem(f"{cls.title} ({cls.name})", cls.name)
            reference = (cls.__doc__ or "").strip().splitlines()
            self.combo.setItemData(self.combo.count() - 1, reference[0] if reference else "",
                                   Qt.ItemDataRole.ToolTipRole)
        self.layout_.addWidget(self.combo)
        self.form: ParamForm | None = None
        self.combo.currentIndexChanged.connect(self._operator_switched)

    def choice(self) -> OperatorChoice:
        return OperatorChoice(self.combo.currentData(), self.form.values() if self.form else {})

    def set_choice(self, choice: OperatorChoice) -> None:
        """Show `choice` without emitting; the form is rebuilt only for another operator, so a
        slider of it being dragged survives the grade update its own edit causes."""
        if self.form is not None and choice.name == self.combo.currentData():
            self.form.set_values(choice.params)
            return
        index = self.combo.findData(choice.name)
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)
        if index >= 0:
            self._build_form(choice.name, dict(choice.params))

    def _build_form(self, name: str, values: dict[str, Any]) -> None:
        if self.form is not None:
            self.form.setParent(None)
            self.form.deleteLater()
        self.form = ParamForm(operator_class(self.kind, name).param_specs(), values)
        self.form.changed.connect(lambda _values, param: self.changed.emit(self.choice(), param))
        self.layout_.addWidget(self.form)

    def _operator_switched(self) -> None:
        self._build_form(self.combo.currentData(), {})
        self.changed.emit(self.choice(), "operator")


class ControlsPanel(QScrollArea):
    """Every control of the dock, showing the session's Grade and view settings."""

    measured = Signal(str, str)  # a bracket's camera LUT as written, or '' and the problem

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.measured.connect(self._measure_done)  # queued: emitted by the measuring thread
        self.setWidgetResizable(True)
        body = QWidget()
        column = QVBoxLayout(body)
        column.addWidget(self._source_box())
        column.addWidget(self._itm_box())
        column.addWidget(self._grade_box())
        column.addWidget(self._preview_box())
        self.versions = VersionsBox(session)
        column.addWidget(self.versions)
        column.addStretch(1)
        self.setWidget(body)
        # Wide enough for the content: a horizontal scroll bar hides the spin boxes' values.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(body.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width() + 4)
        self.set_grade(session.grade)
        self.set_view(session.view)
        session.grade_changed.connect(lambda grade, _engine: self.set_grade(grade))
        session.view_changed.connect(self.set_view)
        session.sides_changed.connect(self.name_sides)

    # -- building -------------------------------------------------------------------------
    def _source_box(self) -> QGroupBox:
        box = QGroupBox("Source transform")
        form = QFormLayout(box)
        self.transfer = QComboBox()
        for name in SOURCE_TRANSFERS:
            self.transfer.addItem(_TRANSFER_LABELS.get(name, name), name)
        self.transfer.setToolTip("how code values become light; 'auto' follows the stream's tags, "
                                 "'bt709 camera' reads BT.709 footage as the light the camera saw "
                                 "(inverse OETF), 'auto (estimated)' the camera response estimated "
                                 "from the clip, 'camera LUT' the camera's response from a 1-D .cube "
                                 "(`lumigrade calibrate` measures one from a bracket)")
        self.gamma = NumberControl.from_spec(_SOURCE_PARAMS["gamma"])
        self.primaries = QComboBox()
        self.primaries.addItems(SOURCE_PRIMARIES)
        # OpenColorIO input colour spaces (engine.ocio_input), for transfer 'ocio': camera log.
        self._ocio_config = DEFAULT_CONFIG
        self.colour_space = QComboBox()
        self.colour_space.addItems(input_spaces(DEFAULT_CONFIG))
        # Long names ('S-Log3 Venice S-Gamut3.Cine') must not widen the dock.
        self.colour_space.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.colour_space.setMinimumContentsLength(14)
        self.colour_space.setToolTip("OpenColorIO input colour space (OCIO's studio config), used when "
                                     "the transfer is 'ocio'")
        form.addRow("Transfer", self.transfer)
        form.addRow("Gamma", self.gamma)
        form.addRow("Primaries", self.primaries)
        form.addRow("Colour space", self.colour_space)
        # The camera's inverse response for transfer 'camera-lut' (engine.crf.camera_lut).
        self._camera_lut = ""
        self.camera_lut = QPushButton(_NO_CAMERA_LUT)
        self.camera_lut.setToolTip("the camera's inverse response as a 1-D .cube LUT, used when the "
                                   "transfer is 'camera LUT'")
        self.camera_lut.clicked.connect(self._pick_camera_lut)
        self.measure_lut = QPushButton(_MEASURE)
        self.measure_lut.setToolTip("measure the camera's response from a bracket of stills of one static "
                                    "scene (as `lumigrade calibrate`) and use it as the camera LUT")
        self.measure_lut.clicked.connect(self._measure_camera_lut)
        lut_row = QHBoxLayout()
        lut_row.addWidget(self.camera_lut, 1)
        lut_row.addWidget(self.measure_lut)
        form.addRow("Camera LUT", lut_row)
        self.response_plot = ResponsePlot(self.session)
        form.addRow(self.response_plot)
        for signal in (self.transfer.currentIndexChanged, self.primaries.currentTextChanged,
                       self.gamma.value_changed, self.colour_space.currentTextChanged):
            signal.connect(lambda *_: self._edit_source())
        return box

    def _itm_box(self) -> QGroupBox:
        box = QGroupBox("SDR → HDR")
        column = QVBoxLayout(box)
        self.itm = OperatorPicker("itm")
        self.itm.changed.connect(lambda choice, param: self._propose(f"itm.{param}", itm=choice))
        self.temporal = QCheckBox("Temporal highlight reconstruction")
        self.temporal.setToolTip("rebuild clipped highlights from other frames of the shot")
        self.temporal.toggled.connect(lambda on: self._propose("temporal", temporal=on))
        self.temporal_form = ParamForm(param_specs(TemporalParams))
        self.temporal_form.changed.connect(
            lambda values, name: self._propose(f"temporal.{name}", temporal_params=values))
        column.addWidget(self.itm)
        column.addWidget(self.temporal)
        column.addWidget(self.temporal_form)
        # Its parameters matter only while it is on; hidden they leave room for the grade.
        self.temporal_form.setVisible(False)
        self.temporal.toggled.connect(self.temporal_form.setVisible)
        return box

    def _grade_box(self) -> QGroupBox:
        """The Grade's numeric parameters that the engine renders; display-only ones join the preview box."""
        box = QGroupBox("Grade")
        form = QFormLayout(box)
        self.grade_controls: dict[str, NumberControl] = {}
        for spec in _GRADE_PARAMS:
            if not spec.display_only:
                form.addRow(param_label(spec), self._grade_control(spec))
        return box

    def _grade_control(self, spec: ParamSpec) -> NumberControl:
        control = NumberControl.from_spec(spec)
        control.value_changed.connect(lambda value: self._propose(spec.name, **{spec.name: value}))
        self.grade_controls[spec.name] = control
        return control

    def _view_control(self, name: str) -> NumberControl:
        control = NumberControl.from_spec(VIEW_PARAMS[name])
        control.value_changed.connect(lambda value: self._edit_view(**{name: value}))
        self.view_controls[name] = control
        return control

    def _preview_box(self) -> QGroupBox:
        box = QGroupBox("Preview")
        form = QFormLayout(box)
        self.view_kind = QComboBox()
        for view, label in _VIEW_LABELS.items():
            self.view_kind.addItem(label, view)
        self.view_controls: dict[str, NumberControl] = {}
        self.tmo = OperatorPicker("tmo")
        self.tmo.changed.connect(lambda choice, param: self._propose(f"tmo.{param}", tmo=choice))
        self.compare = QComboBox()
        for mode in CompareMode:
            self.compare.addItem(mode.label, mode)
        self.false_colour = QCheckBox("False colour (cd/m² bands)")
        self.mask = QComboBox()
        for mask, label in _MASK_LABELS.items():
            self.mask.addItem(label, mask)
        form.addRow("Display", self.view_kind)
        form.addRow("View exposure", self._view_control("exposure"))
        form.addRow("Tone mapper", self.tmo)
        for spec in _GRADE_PARAMS:
            if spec.display_only:
                form.addRow(param_label(spec), self._grade_control(spec))
        form.addRow("Compare", self.compare)
        form.addRow("Split", self._view_control("split"))
        form.addRow("Wipe angle", self._view_control("wipe_angle"))
        form.addRow("Ratio range", self._view_control("ratio_stops"))
        form.addRow(self.false_colour)
        form.addRow("Mask", self.mask)
        form.addRow("Mask opacity", self._view_control("mask_opacity"))
        self.view_kind.currentIndexChanged.connect(
            lambda _i: self._edit_view(view=self.view_kind.currentData()))
        self.compare.currentIndexChanged.connect(
            lambda _i: self._edit_view(compare=self.compare.currentData()))
        self.false_colour.toggled.connect(lambda on: self._edit_view(false_colour=on))
        self.mask.currentIndexChanged.connect(lambda _i: self._edit_view(mask=self.mask.currentData()))
        return box

    # -- state in -------------------------------------------------------------------------
    def set_grade(self, grade: Grade) -> None:
        """Show `grade` without proposing anything."""
        widgets = (self.transfer, self.primaries, self.temporal, self.colour_space)
        for widget in widgets:
            widget.blockSignals(True)
        self.transfer.setCurrentIndex(self.transfer.findData(grade.source.transfer))
        self.primaries.setCurrentText(grade.source.primaries)
        if grade.source.ocio_space:
            self.colour_space.setCurrentText(grade.source.ocio_space)
        self.colour_space.setEnabled(grade.source.transfer == "ocio")
        self._ocio_config = grade.source.ocio_config
        self._camera_lut = grade.source.camera_lut
        self.camera_lut.setText(Path(grade.source.camera_lut).name or _NO_CAMERA_LUT)
        self.camera_lut.setToolTip(grade.source.camera_lut or "the camera's inverse response as a 1-D .cube "
                                   "LUT, used when the transfer is 'camera LUT'")
        self.temporal.setChecked(grade.temporal)
        for widget in widgets:
            widget.blockSignals(False)
        self.gamma.set_value(grade.source.gamma)
        for key, control in self.grade_controls.items():
            control.set_value(getattr(grade, key))
        self.temporal_form.set_values(grade.temporal_params)
        self.temporal_form.setVisible(grade.temporal)
        self.itm.set_choice(grade.itm)
        self.tmo.set_choice(grade.tmo)

    def name_sides(self, sides: CompareSides) -> None:
        """Name compare A and B by what they show (a version's name when they show one)."""
        names = side_names(sides, DEFAULT_SIDE_NAMES)
        for mode in (CompareMode.A, CompareMode.B):
            self.compare.setItemText(self.compare.findData(mode), compare_label(mode, names))

    def set_view(self, view: ViewSettings) -> None:
        """Show `view` without proposing anything."""
        pairs = ((self.view_kind, view.view), (self.compare, view.compare), (self.mask, view.mask))
        for combo, data in pairs:
            combo.blockSignals(True)
            combo.setCurrentIndex(combo.findData(data))
            combo.blockSignals(False)
        self.false_colour.blockSignals(True)
        self.false_colour.setChecked(view.false_colour)
        self.false_colour.blockSignals(False)
        for key, control in self.view_controls.items():
            control.set_value(getattr(view, key))

    # -- state out ------------------------------------------------------------------------
    def _edit_source(self) -> None:
        transfer = self.transfer.currentData()
        if transfer == "camera-lut" and not self._camera_lut:
            self._camera_lut = self._ask_camera_lut()
            if not self._camera_lut:
                self.set_grade(self.session.grade)  # cancelled: the combo shows the grade's transfer again
                return
        ocio = transfer == "ocio"
        source = SourceTransform(
            transfer, self.gamma.value(), self.primaries.currentText(),
            ocio_space=self.colour_space.currentText() if ocio else "", ocio_config=self._ocio_config,
            camera_lut=self._camera_lut,
        )
        self._propose("source", source=source)

    def _ask_camera_lut(self) -> str:
        """A .cube file from the file dialog, opened where the current one is; '' when cancelled."""
        chosen, _ = QFileDialog.getOpenFileName(self, "Camera LUT", str(Path(self._camera_lut).parent)
                                                if self._camera_lut else "", CAMERA_LUT_FILTER)
        return chosen

    def _pick_camera_lut(self) -> None:
        """The button: another camera LUT, which also makes 'camera-lut' the transfer."""
        self._use_camera_lut(self._ask_camera_lut())

    def _measure_camera_lut(self) -> None:
        """The Measure button: a bracket from the dialogs, measured on a thread (the GUI thread
        does no numeric work), then used as the camera LUT (`_measure_done`)."""
        try:
            bracket = ask_bracket(self, CAMERA_LUT_FILTER)
        except LumigradeError as exc:
            self.session.error.emit(_MEASURE_FAILED, str(exc))
            return
        if bracket is None:
            return
        self.measure_lut.setEnabled(False)
        self.measure_lut.setText("Measuring…")

        def measure() -> None:
            written, problem = "", "the measurement stopped unexpectedly"
            try:
                written, problem = bracket.measure(), ""
            except LumigradeError as exc:
                problem = str(exc)
            finally:  # whatever happens, the button comes back
                self.measured.emit(written, problem)

        threading.Thread(target=measure, name="camera-calibration", daemon=True).start()

    def _measure_done(self, written: str, problem: str) -> None:
        self.measure_lut.setEnabled(True)
        self.measure_lut.setText(_MEASURE)
        if problem:
            self.session.error.emit(_MEASURE_FAILED, problem)
        else:
            self._use_camera_lut(written)

    def _use_camera_lut(self, chosen: str) -> None:
        """`chosen` as the camera LUT and 'camera-lut' as the transfer; nothing when it is ''."""
        if not chosen:
            return
        source = self.session.grade.source
        if source.transfer == "camera-lut" and chosen == source.camera_lut:
            self.session.reload_files()  # the same file, measured or edited again: the grade stays
            return
        self._camera_lut = chosen
        self.transfer.blockSignals(True)
        self.transfer.setCurrentIndex(self.transfer.findData("camera-lut"))
        self.transfer.blockSignals(False)
        self._edit_source()

    def _propose(self, merge_key: str, **changes: Any) -> None:
        """A Grade edit; edits with the same merge key in a row are one undo step."""
        self.session.propose_grade(self.session.grade.replace(**changes), merge_key)

    def _edit_view(self, **changes: Any) -> None:
        self.session.set_view(self.session.view.replace(**changes))
