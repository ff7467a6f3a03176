"""The status-bar pixel probe: SDR code value, HDR cd/m² and PQ code under the cursor."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from PySide6.QtWidgets import QLabel, QWidget

from app.worker import FrameResult
from engine.color.primaries import BT2020, luminance_weights
from engine.color.transfer import pq_inverse_eotf


@dataclass(frozen=True)
class ProbeValues:
    x: int
    y: int
    sdr_code: tuple[int, int, int]  # source R'G'B' at `bits`
    bits: int
    nits: tuple[float, float, float]  # graded R, G, B in cd/m²
    luminance: float  # graded BT.2020 Y in cd/m²
    pq_code: int  # ST 2084 code of Y at 10 bits, full range


def probe(result: FrameResult, x: int, y: int, bits: int = 8) -> ProbeValues:
    """The values of one pixel of a rendered frame."""
    signal = result.signal[y, x].astype(float)
    rgb = result.hdr[y, x].astype(float)
    scale = 2**bits - 1
    luma = float(sum(w * c for w, c in zip(luminance_weights(BT2020), rgb, strict=True)))
    pq = float(pq_inverse_eotf(torch.tensor(max(luma, 0.0), dtype=torch.float64)))
    return ProbeValues(
        x=x, y=y,
        sdr_code=tuple(round(min(max(c, 0.0), 1.0) * scale) for c in signal),  # type: ignore[arg-type]
        bits=bits,
        nits=tuple(float(c) for c in rgb),  # type: ignore[arg-type]
        luminance=luma,
        pq_code=round(pq * 1023),
    )


class PixelProbe(QLabel):
    """Shows ProbeValues in the status bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(480)

    def show_values(self, values: ProbeValues | None) -> None:
        if values is None:
            self.clear()
            return
        r, g, b = values.sdr_code
        nr, ng, nb = values.nits
        self.setText(
            f"x {values.x}  y {values.y}   SDR {r} {g} {b} ({values.bits}-bit)   "
            f"HDR {values.luminance:.1f} cd/m² (R {nr:.1f} G {ng:.1f} B {nb:.1f})   PQ {values.pq_code}"
        )
