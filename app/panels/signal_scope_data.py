"""Scopes of the output signal, computed on the engine's threads from a reduced frame.

They read the code values the display transform gives (engine.display.DisplayTransform): PQ
or HLG R'G'B' in BT.2020 for the HDR views, BT.1886 R'G'B' in BT.709 for the SDR view, so
they show the signal a deliverable of that view carries (view exposure, a look-only control
of the preview, is not in them).

- RGB parade: per channel, per group of image columns, counts of the code value;
- vectorscope: counts of (Cb, Cr) from the view's non-constant-luminance Y'CbCr equations,
  BT.709 (ITU-R BT.709-6 item 3.2) for SDR and BT.2020 (ITU-R BT.2020-2 Table 4) for PQ and
  HLG, with the colour-bar targets at 75% and 100% amplitude (SMPTE RP 219 / ITU-R BT.2111
  bars: one or two of R', G', B' at the amplitude, the others at 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from app.panels.scope_data import column_histogram
from engine.color.ycbcr import BT709, BT2020_NCL, YCbCrMatrix, rgb_to_ycbcr, rgb_to_ycbcr_matrix
from engine.deliverables import ViewKind

PARADE_LEVELS = 256
PARADE_MAX_COLUMNS = 128  # per channel: the three sit side by side in one scope
# Bins centred on multiples of 1/256 from -0.5 to 0.5 (Cb, Cr), so the axes, 0 and the bars'
# ±0.375 and ±0.5 fall on bin centres rather than on edges where rounding picks a side.
VECTORSCOPE_BINS = 257
TARGET_AMPLITUDES = (0.75, 1.0)
# The six bars' R'G'B' at amplitude 1, in the order a vectorscope's graticule names them.
BAR_COLOURS: dict[str, tuple[float, float, float]] = {
    "R": (1.0, 0.0, 0.0), "Mg": (1.0, 0.0, 1.0), "B": (0.0, 0.0, 1.0),
    "Cy": (0.0, 1.0, 1.0), "G": (0.0, 1.0, 0.0), "Yl": (1.0, 1.0, 0.0),
}


@dataclass(frozen=True)
class SignalScopes:
    """Parade and vectorscope of one frame's output signal, and the matrix the latter used."""

    kind: ViewKind
    matrix: YCbCrMatrix
    parade: np.ndarray  # (3, columns, PARADE_LEVELS) counts: R', G', B'; level 0 = code 0
    vectorscope: np.ndarray  # (VECTORSCOPE_BINS, VECTORSCOPE_BINS) counts, [Cb bin, Cr bin]

    @property
    def nbytes(self) -> int:
        return self.parade.nbytes + self.vectorscope.nbytes


def ycbcr_matrix_for(kind: ViewKind) -> YCbCrMatrix:
    """The Y'CbCr matrix a deliverable of the view uses: BT.709 for SDR, BT.2020 otherwise."""
    return BT709 if kind == "sdr" else BT2020_NCL


def vectorscope_targets(matrix: YCbCrMatrix, amplitude: float) -> dict[str, tuple[float, float]]:
    """(Cb, Cr) of each colour bar at `amplitude` (0.75 or 1.0) under `matrix`."""
    m = rgb_to_ycbcr_matrix(matrix).numpy()
    return {name: (float(c[1]), float(c[2])) for name, c in
            ((name, m @ (amplitude * np.array(rgb))) for name, rgb in BAR_COLOURS.items())}


def vectorscope_bin(cb: float, cr: float) -> tuple[int, int]:
    """The bin of SignalScopes.vectorscope that holds (Cb, Cr)."""
    def index(c: float) -> int:
        return min(max(round((c + 0.5) * (VECTORSCOPE_BINS - 1)), 0), VECTORSCOPE_BINS - 1)

    return index(cb), index(cr)


def compute_signal_scopes(signal: Tensor, kind: ViewKind) -> SignalScopes:
    """Parade and vectorscope of a (3, H, W) R'G'B' signal in [0, 1] of a `kind` view."""
    rgb = signal.float().clamp(0.0, 1.0)
    parade = torch.stack([column_histogram(rgb[c], PARADE_LEVELS, PARADE_MAX_COLUMNS) for c in range(3)])
    matrix = ycbcr_matrix_for(kind)
    ycc = rgb_to_ycbcr(rgb, matrix)
    bins = ((ycc[1:] + 0.5) * (VECTORSCOPE_BINS - 1)).round().long().clamp(0, VECTORSCOPE_BINS - 1)
    counts = torch.bincount((bins[0] * VECTORSCOPE_BINS + bins[1]).flatten(),
                            minlength=VECTORSCOPE_BINS * VECTORSCOPE_BINS)
    return SignalScopes(
        kind=kind,
        matrix=matrix,
        parade=parade.cpu().numpy().astype(np.float32),
        vectorscope=counts.view(VECTORSCOPE_BINS, VECTORSCOPE_BINS).cpu().numpy().astype(np.float32),
    )
