"""The no-reference quality estimate of the frame on screen (engine.models.quality, after
NoR-VDPNet): the PU21-PSNR the graded frame would score against a ground truth that real footage
does not have, predicted from the graded frame and the SDR frame it was graded from.

QualityScorer runs on the worker thread beside the render (the frame never crosses to the GUI
thread for it); QualityLabel shows the number it sends with the frame, always beside the score's
held-out rank correlation and RMS error, as bench/train_quality.py recorded them beside the
weights: below 0.8, and some 6 dB off per frame, the estimate is a hint, not a measurement.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QLabel, QWidget
from torch import Tensor

from engine.errors import LumigradeError
from engine.models.quality import HeldoutFigures, QualityNet, heldout_figures, load_quality, score_frames

log = logging.getLogger(__name__)


class QualityScorer:
    """Scores graded frames with the shipped quality network, loaded on first use on the
    thread that scores; None for every frame when its files cannot be read (logged once)."""

    def __init__(self) -> None:
        self._model: QualityNet | None = None
        self._unavailable = False

    def score(self, hdr: Tensor, signal: Tensor) -> float | None:
        """Predicted PU21-PSNR (dB) of a graded (3, H, W) cd/m² frame from the clip's (3, H, W)
        code values `signal`."""
        if self._unavailable:
            return None
        if self._model is None:
            try:
                self._model = load_quality()
            except LumigradeError as exc:
                log.warning("no quality estimate: %s", exc)
                self._unavailable = True
                return None
        if next(self._model.parameters()).device != hdr.device:
            self._model = self._model.to(hdr.device)  # the reduction runs where the frame is
        return score_frames(self._model, [hdr], [signal])[0]


class QualityLabel(QLabel):
    """'≈ 27.4 dB PU21-PSNR (no-reference estimate; held out: rank correlation 0.78, RMS error
    6.1 dB)'."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        try:
            self._heldout: HeldoutFigures | None = heldout_figures()
        except LumigradeError:
            self._heldout = None
        self.setToolTip(
            "A small network's estimate of the PU21-PSNR this graded frame would score against a\n"
            "ground truth (after NoR-VDPNet), from statistics of the frame and of its SDR source.\n"
            "Its rank correlation with the true score and its RMS error on held-out test frames\n"
            "are shown beside it: read it as a hint, not a measurement.")
        self.show_estimate(None)

    def show_estimate(self, db: float | None) -> None:
        """The estimate sent with the frame on screen (None: no frame, or no network)."""
        if db is None:
            self.setText("quality estimate: none")
            return
        self.setText(f"≈ {db:.1f} dB PU21-PSNR (no-reference estimate; held out: "
                     f"{self._heldout.describe() if self._heldout else 'accuracy unknown'})")
