"""What the scopes plot, computed from a graded frame on the engine's worker thread.

- luminance histogram: counts of BT.2020 luminance Y in cd/m² over log10 bins;
- waveform: per column group, counts of the SMPTE ST 2084 (PQ) code of Y, so the vertical
  axis is perceptually uniform from 0.0001 to 10000 cd/m²;
- gamut: counts of the pixels' CIE 1931 xy chromaticity (XYZ from BT.2020 by SMPTE RP 177),
  for the gamut scope that draws them beside the BT.709, P3-D65 and BT.2020 triangles.

The scopes of the output signal (RGB parade, vectorscope) depend on the display transform and
live in app.panels.signal_scope_data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from engine.color.luminance import luminance
from engine.color.primaries import BT2020, rgb_to_xyz_matrix
from engine.color.transfer import pq_inverse_eotf

HISTOGRAM_LOG10_RANGE = (-3.0, 4.0)  # 0.001 to 10000 cd/m²
HISTOGRAM_BINS = 210  # 30 bins per decade
WAVEFORM_LEVELS = 256
WAVEFORM_MAX_COLUMNS = 256
# From 0, where the bins start; the spectral locus spans x 0.0036..0.7347, y 0.0048..0.8338.
GAMUT_X_RANGE = (0.0, 0.8)
GAMUT_Y_RANGE = (0.0, 0.9)
GAMUT_STEP = 0.0025  # bins centred on its multiples: the BT.709, P3, BT.2020 and D65 xy sit inside one
GAMUT_BINS = (round(GAMUT_X_RANGE[1] / GAMUT_STEP) + 1, round(GAMUT_Y_RANGE[1] / GAMUT_STEP) + 1)
GAMUT_MIN_NITS = 0.01  # darker pixels have no chromaticity worth plotting (noise, black)


@dataclass(frozen=True)
class ScopeData:
    histogram: np.ndarray  # (HISTOGRAM_BINS,) pixel counts
    histogram_edges: np.ndarray  # (HISTOGRAM_BINS + 1,) log10 cd/m²
    waveform: np.ndarray  # (columns, WAVEFORM_LEVELS) pixel counts; level 0 = PQ code 0
    gamut: np.ndarray  # GAMUT_BINS pixel counts over x (rows) and y (columns), see gamut_bin

    @property
    def nbytes(self) -> int:
        return self.histogram.nbytes + self.histogram_edges.nbytes + self.waveform.nbytes + self.gamut.nbytes


def column_histogram(codes: Tensor, levels: int, max_columns: int) -> Tensor:
    """(columns, levels) counts of (H, W) codes in [0, 1] per group of image columns: a waveform."""
    width = codes.shape[1]
    columns = min(width, max_columns)
    column = (torch.arange(width, device=codes.device) * columns // width).expand_as(codes)
    level = (codes * (levels - 1)).round().long().clamp(0, levels - 1)
    counts = torch.bincount((column * levels + level).flatten(), minlength=columns * levels)
    return counts.view(columns, levels)


def gamut_bin(xy: tuple[float, float]) -> tuple[int, int]:
    """The (x, y) bin of ScopeData.gamut that holds a chromaticity."""
    return round(xy[0] / GAMUT_STEP), round(xy[1] / GAMUT_STEP)


def chromaticity_counts(frame: Tensor) -> Tensor:
    """GAMUT_BINS counts of the CIE 1931 xy of a (3, H, W) BT.2020 cd/m² frame's pixels that
    are at least GAMUT_MIN_NITS bright (negative components clipped: they are out of gamut
    noise, not colours a display shows)."""
    xyz = torch.einsum("ij,jhw->ihw", torch.as_tensor(rgb_to_xyz_matrix(BT2020), dtype=frame.dtype,
                                                       device=frame.device), frame.clamp_min(0.0))
    total = xyz.sum(0)
    lit = xyz[1] >= GAMUT_MIN_NITS
    x, y = (xyz[0] / total)[lit], (xyz[1] / total)[lit]
    bx = (x / GAMUT_STEP).round().long().clamp(0, GAMUT_BINS[0] - 1)
    by = (y / GAMUT_STEP).round().long().clamp(0, GAMUT_BINS[1] - 1)
    counts = torch.bincount(bx * GAMUT_BINS[1] + by, minlength=GAMUT_BINS[0] * GAMUT_BINS[1])
    return counts.view(*GAMUT_BINS)


def compute_scopes(frame: Tensor) -> ScopeData:
    """Histogram, waveform and chromaticity counts of a (3, H, W) cd/m² frame (any device)."""
    y = luminance(frame.float()).clamp_min(0.0)[0]
    lo, hi = HISTOGRAM_LOG10_RANGE
    # Black and sub-range pixels land in the first bin rather than vanishing from the count.
    log_y = torch.log10(y.clamp(10.0**lo, 10.0**hi))
    histogram = torch.histc(log_y, bins=HISTOGRAM_BINS, min=lo, max=hi)
    waveform = column_histogram(pq_inverse_eotf(y), WAVEFORM_LEVELS, WAVEFORM_MAX_COLUMNS)
    return ScopeData(
        histogram=histogram.cpu().numpy().astype(np.float32),
        histogram_edges=np.linspace(lo, hi, HISTOGRAM_BINS + 1, dtype=np.float32),
        waveform=waveform.cpu().numpy().astype(np.float32),
        gamut=chromaticity_counts(frame.float()).cpu().numpy().astype(np.float32),
    )
