"""The controls dock: source transform, the SDR->HDR operator, grade sliders, preview settings.

Operator forms come from the catalogue (engine.operators.catalogue.operators(kind) and param_specs), so a
new operator appears here with its sliders without any GUI change. Edits leave as a proposed
Grade (the window puts it on the undo stack) or as new ViewSettings (display only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.panels.number_control import NumberControl
from app.panels.param_form import ParamForm
from app.viewer.view_state import CompareMode, DisplayView, MaskView, ViewSettings
from engine.grade import (
    SOURCE_PRIMARIES,
    SOURCE_TRANSFERS,
    Grade,
    OperatorChoice,
    SourceTransform,
    grade_specs,
)
from engine.operators.base import OperatorKind
from engine.operators.catalogue import operator_class, operators
from engine.params import param_specs
from engine.temporal import TemporalParams

_GRADE_SLIDERS = (
    # field, label, unit, help
    ("exposure", "Exposure", "stops", "exposure of the HDR result"),
    ("saturation", "Saturation", "", "saturation about BT.2020 luminance (1 keeps colour)"),
    ("reference_white", "Diffuse white", "cd/m²", "where SDR reference white lands (BT.2408: 203)"),
    ("peak_nits", "Peak", "cd/m²", "mastering peak of the HDR deliverable"),
)
_MASK_LABELS = {MaskView.NONE: "None", MaskView.CLIPPED: "Clipped source", MaskView.OVER_PEAK: "Above peak"}
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
    """Every control of the dock; set_grade/set_view show a state without emitting."""

    grade_edited = Signal(object, str)  # proposed Grade, merge key (same key = one undo step)
    view_edited = Signal(object)  # ViewSettings

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self._grade = Grade()
        self._view = ViewSettings()
        body = QWidget()
        column = QVBoxLayout(body)
        column.addWidget(self._source_box())
        column.addWidget(self._itm_box())
        column.addWidget(self._grade_box())
        column.addWidget(self._preview_box())
        column.addStretch(1)
        self.setWidget(body)
        # Wide enough for the content: a horizontal scroll bar hides the spin boxes' values.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(body.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width() + 4)

    # -- building -------------------------------------------------------------------------
    def _source_box(self) -> QGroupBox:
        box = QGroupBox("Source transform")
        form = QFormLayout(box)
        self.transfer = QComboBox()
        self.transfer.addItems(SOURCE_TRANSFERS)
        self.transfer.setToolTip("how code values become light; 'auto' follows the stream's tags")
        gamma = next(s for s in param_specs(SourceTransform) if s.name == "gamma")
        self.gamma = NumberControl(gamma.minimum, gamma.maximum, 2.4, help="exponent of the 'gamma' transfer")
        self.primaries = QComboBox()
        self.primaries.addItems(SOURCE_PRIMARIES)
        form.addRow("Transfer", self.transfer)
        form.addRow("Gamma", self.gamma)
        form.addRow("Primaries", self.primaries)
        for signal in (self.transfer.currentTextChanged, self.primaries.currentTextChanged,
                       self.gamma.value_changed):
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
        box = QGroupBox("Grade")
        form = QFormLayout(box)
        self.grade_controls: dict[str, NumberControl] = {}
        specs = {spec.name: spec for spec in grade_specs()}
        for key, label, unit, help in _GRADE_SLIDERS:
            spec = specs[key]
            value = getattr(self._grade, key)
            control = NumberControl(spec.minimum, spec.maximum, value, unit=unit, help=help)
            control.value_changed.connect(self._grade_setter(key))
            self.grade_controls[key] = control
            form.addRow(label, control)
        return box

    def _grade_setter(self, key: str) -> Callable[[float], None]:
        return lambda value: self._propose(key, **{key: value})

    def _preview_box(self) -> QGroupBox:
        box = QGroupBox("Preview")
        form = QFormLayout(box)
        self.view_kind = QComboBox()
        for view, label in _VIEW_LABELS.items():
            self.view_kind.addItem(label, view)
        self.view_exposure = NumberControl(-6.0, 6.0, 0.0, unit="stops",
                                           help="view exposure: scales cd/m² before the display transform")
        self.tmo = OperatorPicker("tmo")
        self.tmo.changed.connect(lambda choice, param: self._propose(f"tmo.{param}", tmo=choice))
        self.compare = QComboBox()
        for mode in CompareMode:
            self.compare.addItem(mode.label, mode)
        self.wipe_angle = NumberControl(-90.0, 90.0, self._view.wipe_angle, unit="°",
                                        help="angle of the wipe line from vertical")
        self.ratio_stops = NumberControl(0.5, 10.0, self._view.ratio_stops, unit="stops",
                                         help="log-ratio view: the ratio shown at full colour")
        self.false_colour = QCheckBox("False colour (cd/m² bands)")
        self.mask = QComboBox()
        for mask, label in _MASK_LABELS.items():
            self.mask.addItem(label, mask)
        self.mask_opacity = NumberControl(0.0, 1.0, self._view.mask_opacity, help="mask overlay opacity")
        form.addRow("Display", self.view_kind)
        form.addRow("View exposure", self.view_exposure)
        form.addRow("Tone mapper", self.tmo)
        form.addRow("Compare", self.compare)
        form.addRow("Wipe angle", self.wipe_angle)
        form.addRow("Ratio range", self.ratio_stops)
        form.addRow(self.false_colour)
        form.addRow("Mask", self.mask)
        form.addRow("Mask opacity", self.mask_opacity)
        self.view_kind.currentIndexChanged.connect(
            lambda _i: self._edit_view(view=self.view_kind.currentData()))
        self.view_exposure.value_changed.connect(lambda v: self._edit_view(exposure=v))
        self.compare.currentIndexChanged.connect(
            lambda _i: self._edit_view(compare=self.compare.currentData()))
        self.false_colour.toggled.connect(lambda on: self._edit_view(false_colour=on))
        self.mask.currentIndexChanged.connect(lambda _i: self._edit_view(mask=self.mask.currentData()))
        self.mask_opacity.value_changed.connect(lambda v: self._edit_view(mask_opacity=v))
        self.wipe_angle.value_changed.connect(lambda v: self._edit_view(wipe_angle=v))
        self.ratio_stops.value_changed.connect(lambda v: self._edit_view(ratio_stops=v))
        return box

    # -- state in -------------------------------------------------------------------------
    def set_grade(self, grade: Grade) -> None:
        self._grade = grade
        widgets = (self.transfer, self.primaries, self.temporal)
        for widget in widgets:
            widget.blockSignals(True)
        self.transfer.setCurrentText(grade.source.transfer)
        self.primaries.setCurrentText(grade.source.primaries)
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

    def set_view(self, view: ViewSettings) -> None:
        self._view = view
        pairs = ((self.view_kind, view.view), (self.compare, view.compare), (self.mask, view.mask))
        for combo, data in pairs:
            combo.blockSignals(True)
            combo.setCurrentIndex(combo.findData(data))
            combo.blockSignals(False)
        self.false_colour.blockSignals(True)
        self.false_colour.setChecked(view.false_colour)
        self.false_colour.blockSignals(False)
        self.view_exposure.set_value(view.exposure)
        self.mask_opacity.set_value(view.mask_opacity)
        self.wipe_angle.set_value(view.wipe_angle)
        self.ratio_stops.set_value(view.ratio_stops)

    # -- state out ------------------------------------------------------------------------
    def _edit_source(self) -> None:
        source = SourceTransform(
            self.transfer.currentText(), self.gamma.value(), self.primaries.currentText()
        )
        self._propose("source", source=source)

    def _propose(self, merge_key: str, **changes: Any) -> None:
        self._grade = self._grade.replace(**changes)
        self.grade_edited.emit(self._grade, merge_key)

    def _edit_view(self, **changes: Any) -> None:
        self._view = self._view.replace(**changes)
        self.view_edited.emit(self._view)
