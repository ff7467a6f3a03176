"""What the scopes plot, computed from a graded frame on the engine's worker thread.

- luminance histogram: counts of BT.2020 luminance Y in cd/m² over log10 bins;
- waveform: per column group, counts of the SMPTE ST 2084 (PQ) code of Y, so the vertical
  axis is perceptually uniform from 0.0001 to 10000 cd/m².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from engine.color.luminance import luminance
from engine.color.transfer import pq_inverse_eotf

HISTOGRAM_LOG10_RANGE = (-3.0, 4.0)  # 0.001 to 10000 cd/m²
HISTOGRAM_BINS = 210  # 30 bins per decade
WAVEFORM_LEVELS = 256
WAVEFORM_MAX_COLUMNS = 256


@dataclass(frozen=True)
class ScopeData:
    histogram: np.ndarray  # (HISTOGRAM_BINS,) pixel counts
    histogram_edges: np.ndarray  # (HISTOGRAM_BINS + 1,) log10 cd/m²
    waveform: np.ndarray  # (columns, WAVEFORM_LEVELS) pixel counts; level 0 = PQ code 0

    @property
    def nbytes(self) -> int:
        return self.histogram.nbytes + self.histogram_edges.nbytes + self.waveform.nbytes


def compute_scopes(frame: Tensor) -> ScopeData:
    """Histogram and waveform of a (3, H, W) cd/m² frame (any device)."""
    y = luminance(frame.float()).clamp_min(0.0)[0]
    lo, hi = HISTOGRAM_LOG10_RANGE
    # Black and sub-range pixels land in the first bin rather than vanishing from the count.
    log_y = torch.log10(y.clamp(10.0**lo, 10.0**hi))
    histogram = torch.histc(log_y, bins=HISTOGRAM_BINS, min=lo, max=hi)
    width = y.shape[1]
    columns = min(width, WAVEFORM_MAX_COLUMNS)
    column = (torch.arange(width, device=y.device) * columns // width).expand_as(y)
    level = (pq_inverse_eotf(y) * (WAVEFORM_LEVELS - 1)).round().long().clamp(0, WAVEFORM_LEVELS - 1)
    counts = torch.bincount((column * WAVEFORM_LEVELS + level).flatten(), minlength=columns * WAVEFORM_LEVELS)
    return ScopeData(
        histogram=histogram.cpu().numpy().astype(np.float32),
        histogram_edges=np.linspace(lo, hi, HISTOGRAM_BINS + 1, dtype=np.float32),
        waveform=counts.view(columns, WAVEFORM_LEVELS).cpu().numpy().astype(np.float32),
    )
