"""The export dialog: deliverable, frame range and path; renders in the background.

It calls engine.render.render, the function behind `lumigrade render`, so a GUI export and a
CLI render of the same grade write the same file. Progress, ETA and cancel run through the
render's callback and CancelToken; the summary reports MaxCLL and MaxFALL (CTA-861.3).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.deliverables import DELIVERABLES
from engine.errors import LumigradeError, RenderCancelled
from engine.grade import Grade, OutputSettings
from engine.jobs import CancelToken
from engine.params import ParamSpec, param_specs
from engine.render import RenderSummary, render


def default_output(source: Path, fmt: str) -> Path:
    """A name beside the source: clip_hdr10.mp4, or a clip_exr/ folder for EXR sequences."""
    return source.with_name(f"{source.stem}_{fmt}{DELIVERABLES[fmt].extension}")


def format_eta(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class RenderThread(QThread):
    """engine.render.render on a QThread, reporting through queued signals."""

    progressed = Signal(str, int, int)
    succeeded = Signal(object)  # RenderSummary
    failed = Signal(str, bool)  # message, cancelled

    def __init__(self, source: Path, output: Path, grade: Grade, frames: tuple[int, int],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source, self.output, self.grade, self.frames = source, output, grade, frames
        self.cancel_token = CancelToken()

    def run(self) -> None:
        try:
            summary = render(self.source, self.output, self.grade, frames=self.frames,
                             progress=self.progressed.emit, cancel=self.cancel_token)
        except RenderCancelled as exc:
            self.failed.emit(str(exc), True)
        except LumigradeError as exc:
            self.failed.emit(str(exc), False)
        else:
            self.succeeded.emit(summary)


class ExportDialog(QDialog):
    """Pick a deliverable and a range, render it, and report the content light levels."""

    def __init__(self, source: Path, frame_count: int, grade: Grade, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.source, self.grade = source, grade
        self.thread_: RenderThread | None = None
        self.summary: RenderSummary | None = None
        self._stage_started = (time.perf_counter(), "")

        self.format = QComboBox()
        for deliverable in DELIVERABLES.values():
            self.format.addItem(deliverable.label, deliverable.name)
        self.format.setCurrentIndex(self.format.findData(grade.output.format))
        self.start = QSpinBox()
        self.stop = QSpinBox()
        self.start.setRange(0, max(frame_count - 1, 0))
        self.stop.setRange(1, frame_count)
        self.stop.setValue(frame_count)
        self.start.setToolTip("first frame")
        self.stop.setToolTip("end frame (exclusive), as in lumigrade render --frames START:END")
        self.path = QLineEdit(str(default_output(source, grade.output.format)))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        range_row = QHBoxLayout()
        range_row.addWidget(self.start)
        range_row.addWidget(QLabel("to"))
        range_row.addWidget(self.stop)

        # SMPTE ST 2086 mastering display (HDR10) and the EXR primaries, from the grade.
        self.mastering = QComboBox()
        for name, label in (("p3-d65", "P3-D65"), ("bt2020", "BT.2020")):
            self.mastering.addItem(label, name)
        self.mastering.setCurrentIndex(self.mastering.findData(grade.output.mastering_primaries))
        self.peak = self._spin(param_specs(Grade), "peak_nits", grade.peak_nits, 0)
        self.black = self._spin(param_specs(OutputSettings), "mastering_min_nits",
                                grade.output.mastering_min_nits, 4)
        mastering_row = QHBoxLayout()
        for widget in (self.mastering, QLabel("peak"), self.peak, QLabel("black"), self.black):
            mastering_row.addWidget(widget)
        self.exr_primaries = QComboBox()
        for name, label in (("bt2020", "BT.2020"), ("aces-ap0", "ACES2065-1 (AP0)")):
            self.exr_primaries.addItem(label, name)
        self.exr_primaries.setCurrentIndex(self.exr_primaries.findData(grade.output.exr_primaries))

        form = QFormLayout()
        form.addRow("Deliverable", self.format)
        form.addRow("Frames", range_row)
        form.addRow("Output", path_row)
        form.addRow("Mastering display", mastering_row)
        form.addRow("EXR primaries", self.exr_primaries)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("Ready")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self.cancel_export)
        self.close_button.clicked.connect(self.reject)
        self.cancel_button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.format.currentIndexChanged.connect(self._format_changed)

    @staticmethod
    def _spin(specs: list[ParamSpec], name: str, value: float, decimals: int) -> QDoubleSpinBox:
        spec = next(s for s in specs if s.name == name)
        spin = QDoubleSpinBox()
        spin.setDecimals(decimals)
        spin.setRange(float(spec.minimum), float(spec.maximum))  # type: ignore[arg-type]
        spin.setSuffix(" cd/m²")
        spin.setToolTip(spec.help)
        spin.setValue(value)
        return spin

    def export_grade(self) -> Grade:
        """The grade with this dialog's deliverable settings."""
        output = dataclasses.replace(
            self.grade.output, format=self.format.currentData(),
            mastering_primaries=self.mastering.currentData(), mastering_min_nits=self.black.value(),
            exr_primaries=self.exr_primaries.currentData(),
        )
        return self.grade.replace(output=output, peak_nits=self.peak.value())

    @property
    def running(self) -> bool:
        return self.thread_ is not None and self.thread_.isRunning()

    def _format_changed(self) -> None:
        self.path.setText(str(default_output(Path(self.path.text()) if self.path.text() else self.source,
                                             self.format.currentData())))

    def _browse(self) -> None:
        fmt = self.format.currentData()
        if DELIVERABLES[fmt].writer == "exr":
            chosen = QFileDialog.getExistingDirectory(self, "EXR sequence folder", str(self.source.parent))
        else:
            chosen, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text())
        if chosen:
            self.path.setText(chosen)

    def start_export(self) -> None:
        if self.running:
            return
        start, stop = self.start.value(), self.stop.value()
        if stop <= start:
            self.status.setText(f"The end frame {stop} must come after the start frame {start}.")
            return
        self.summary = None
        self.thread_ = RenderThread(self.source, Path(self.path.text()), self.export_grade(), (start, stop),
                                    self)
        self.thread_.progressed.connect(self._progressed)
        self.thread_.succeeded.connect(self._succeeded)
        self.thread_.failed.connect(self._failed)
        self.export_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.status.setText("Starting…")
        self._stage_started = (time.perf_counter(), "")
        self.thread_.start()

    def cancel_export(self) -> None:
        if self.thread_ is not None:
            self.thread_.cancel_token.cancel()
            self.status.setText("Cancelling…")

    def _progressed(self, stage: str, done: int, total: int) -> None:
        started, current = self._stage_started
        now = time.perf_counter()
        if stage != current:
            self._stage_started = (now, stage)
            started = now
        self.progress.setValue(round(1000 * done / max(total, 1)))
        elapsed = now - started
        eta = elapsed / done * (total - done) if done else 0.0
        self.status.setText(f"{stage}: {done} of {total}, {format_eta(eta)} left in this pass")

    def _succeeded(self, summary: RenderSummary) -> None:
        self.summary = summary
        self._finish()
        self.progress.setValue(1000)
        self.status.setText(
            f"Wrote {summary.output}: {summary.frames} frames in {summary.seconds:.1f} s "
            f"on {summary.device}. "
            f"MaxCLL {summary.max_cll:.0f} cd/m², MaxFALL {summary.max_fall:.0f} cd/m²."
        )

    def _failed(self, message: str, cancelled: bool) -> None:
        self._finish()
        self.progress.setValue(0)
        text = "Export cancelled; nothing was written." if cancelled else f"Export failed: {message}"
        self.status.setText(text)

    def _finish(self) -> None:
        self.export_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def reject(self) -> None:
        """Closing while rendering cancels, and waits for the job to remove its partial output."""
        if self.running and self.thread_ is not None:
            self.thread_.cancel_token.cancel()
            self.thread_.wait()
        super().reject()
