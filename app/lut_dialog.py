"""The .cube export dialog: the per-pixel part of the session's grade as a 3-D LUT.

It calls engine.cube_export.write_cube, the function behind `lumigrade lut`, with the clip's
input transform resolved as a render resolves it, so the GUI and the CLI write the same file.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.cube_export import CUBE_SIZES, CUBE_VIEWS, write_cube
from engine.deliverables import DELIVERABLES
from engine.errors import LumigradeError
from engine.grade import Grade
from engine.input_transform import resolve_input_transform
from engine.io.clip import ClipInfo

_VIEW_LABELS = {"pq": "PQ (HDR10, ProRes)", "hlg": "HLG", "sdr": "SDR, BT.1886 through the tone mapper"}


class LutDialog(QDialog):
    """Choose the LUT's size, output signal and file; Export writes it or says why it cannot."""

    def __init__(self, info: ClipInfo, grade: Grade, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export LUT")
        self.info, self.grade = info, grade
        self.written: Path | None = None
        self.size = QComboBox()
        for size in CUBE_SIZES:
            self.size.addItem(f"{size} points", size)
        self.size.setCurrentIndex(self.size.findData(33))
        self.view = QComboBox()
        for view in CUBE_VIEWS:
            self.view.addItem(_VIEW_LABELS[view], view)
        default_view = DELIVERABLES[grade.output.format].view
        self.view.setCurrentIndex(max(self.view.findData(default_view), 0))
        self.path = QLineEdit(str(info.path.with_name(f"{info.path.stem}_grade.cube")))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Size", self.size)
        form.addRow("Output", self.view)
        form.addRow("File", path_row)
        self.status = QLabel("The source transform, ITM curve, exposure, saturation and display transform; "
                             "spatial and temporal stages cannot be baked.")
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close).clicked.connect(self.reject)
        self.export_button.clicked.connect(self.export)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(self, "Export LUT to", self.path.text(), "3-D LUT (*.cube)")
        if chosen:
            self.path.setText(chosen)

    def export(self) -> None:
        """Write the LUT; a grade that has no LUT form, or a bad path, is reported here."""
        try:
            transform = resolve_input_transform(self.grade.source, self.info, self.grade.reference_white)
            self.written = write_cube(Path(self.path.text()), self.grade, transform, self.view.currentData(),
                                      self.size.currentData())
        except LumigradeError as exc:
            self.status.setText(f"Cannot export: {exc}")
            return
        self.status.setText(f"Wrote {self.written}")
