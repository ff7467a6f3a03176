"""An operator's parameter form, built from its ParamSpecs: never a hand-made form per operator.

float/int -> slider + spin box (range, unit, help as tooltip), bool -> check box,
choices -> combo box, other strings -> line edit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLineEdit, QWidget

from app.panels.number_control import NumberControl
from engine.params import ParamSpec


def param_label(spec: ParamSpec) -> str:
    """The label a parameter's control carries: its name in words."""
    return spec.name.replace("_", " ")


class ParamForm(QWidget):
    """Widgets for a list of ParamSpecs; `changed` carries the values that differ from defaults."""

    changed = Signal(dict, str)  # non-default values, name of the parameter that changed

    def __init__(self, specs: Sequence[ParamSpec], values: Mapping[str, Any] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.specs = {s.name: s for s in specs}
        self.editors: dict[str, QWidget] = {}
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for spec in specs:
            editor = self._editor(spec)
            self.editors[spec.name] = editor
            layout.addRow(param_label(spec), editor)
            layout.labelForField(editor).setToolTip(spec.help)
        self.set_values(values or {})

    def _editor(self, spec: ParamSpec) -> QWidget:
        if spec.choices:
            combo = QComboBox()
            combo.addItems([str(c) for c in spec.choices])
            combo.setToolTip(spec.help)
            combo.currentTextChanged.connect(lambda _t, n=spec.name: self._emit(n))
            return combo
        if spec.type == "bool":
            box = QCheckBox()
            box.setToolTip(spec.help)
            box.toggled.connect(lambda _v, n=spec.name: self._emit(n))
            return box
        if spec.type in ("float", "int"):
            control = NumberControl.from_spec(spec, decimals=3)
            control.value_changed.connect(lambda _v, n=spec.name: self._emit(n))
            return control
        line = QLineEdit()
        line.setToolTip(spec.help)
        line.editingFinished.connect(lambda n=spec.name: self._emit(n))
        return line

    def value(self, name: str) -> Any:
        spec, editor = self.specs[name], self.editors[name]
        if isinstance(editor, QComboBox):
            text = editor.currentText()
            return next(c for c in spec.choices if str(c) == text)
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, NumberControl):
            return round(editor.value()) if spec.type == "int" else editor.value()
        assert isinstance(editor, QLineEdit)
        return editor.text()

    def values(self) -> dict[str, Any]:
        """The parameters that differ from their defaults (what OperatorChoice.params stores)."""
        return {n: v for n in self.specs if (v := self.value(n)) != self.specs[n].default}

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Show `values` (defaults for the rest) without emitting `changed`."""
        for name, spec in self.specs.items():
            value = values.get(name, spec.default)
            editor = self.editors[name]
            editor.blockSignals(True)
            if isinstance(editor, QComboBox):
                editor.setCurrentText(str(value))
            elif isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, NumberControl):
                editor.set_value(float(value))
            elif isinstance(editor, QLineEdit):
                editor.setText(str(value))
            editor.blockSignals(False)

    def _emit(self, name: str) -> None:
        self.changed.emit(self.values(), name)
