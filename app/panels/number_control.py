"""A labelled number: slider and spin box bound together, with unit, range and help."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QSlider, QSpinBox, QWidget

from engine.params import ParamSpec

SLIDER_STEPS = 1000
# Spin box limits for parameters that declare no range of their own.
_OPEN_RANGE = 1e6


class NumberControl(QWidget):
    """Slider + spin box over [minimum, maximum]; `integer` picks QSpinBox over QDoubleSpinBox."""

    value_changed = Signal(float)

    def __init__(self, minimum: float, maximum: float, value: float, *, unit: str = "", help: str = "",
                 decimals: int = 2, integer: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.minimum, self.maximum, self.integer = float(minimum), float(maximum), integer
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.spin: QSpinBox | QDoubleSpinBox
        if integer:
            self.spin = QSpinBox()
            self.spin.setRange(int(minimum), int(maximum))
        else:
            self.spin = QDoubleSpinBox()
            self.spin.setDecimals(decimals)
            self.spin.setRange(minimum, maximum)
            self.spin.setSingleStep((maximum - minimum) / 100.0)
        if unit:
            self.spin.setSuffix(f" {unit}")
        self.spin.setKeyboardTracking(False)
        tip = f"{help} [{minimum:g} to {maximum:g}{' ' + unit if unit else ''}]".strip()
        for widget in (self, self.slider, self.spin):
            widget.setToolTip(tip)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)
        self.set_value(value)

    @classmethod
    def from_spec(cls, spec: ParamSpec, decimals: int = 2) -> NumberControl:
        """The control of a numeric parameter: its range, unit and help, at its default."""
        lo = spec.minimum if spec.minimum is not None else -_OPEN_RANGE
        hi = spec.maximum if spec.maximum is not None else _OPEN_RANGE
        return cls(lo, hi, float(spec.default), unit=spec.unit, help=spec.help, decimals=decimals,
                   integer=spec.type == "int")

    def value(self) -> float:
        """The value set, exactly (a spin box rounds to its decimals), or the one the user chose."""
        return self._value

    def set_value(self, value: float) -> None:
        """Set without emitting value_changed (for loading a grade or an undo)."""
        self._value = float(value)
        for widget in (self.slider, self.spin):
            widget.blockSignals(True)
        self.spin.setValue(round(value) if self.integer else value)
        self.slider.setValue(self._to_slider(value))
        for widget in (self.slider, self.spin):
            widget.blockSignals(False)

    def _to_slider(self, value: float) -> int:
        span = self.maximum - self.minimum
        return round((value - self.minimum) / span * SLIDER_STEPS) if span > 0 else 0

    def _from_slider(self, position: int) -> None:
        value = self.minimum + (self.maximum - self.minimum) * position / SLIDER_STEPS
        self.spin.blockSignals(True)
        self.spin.setValue(round(value) if self.integer else value)
        self.spin.blockSignals(False)
        self._value = float(self.spin.value())
        self.value_changed.emit(self._value)

    def _from_spin(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self._to_slider(value))
        self.slider.blockSignals(False)
        self._value = float(value)
        self.value_changed.emit(self._value)
