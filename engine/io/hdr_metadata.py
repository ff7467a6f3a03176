"""HDR10 static metadata: the mastering display (SMPTE ST 2086) and content light levels (CTA-861.3).

Both travel in HEVC SEI messages (ITU-T H.265 D.2.28 and D.2.35). x265 takes them as
`master-display=G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)` with chromaticities in units of 0.00002
and luminances in units of 0.0001 cd/m², and `max-cll=MaxCLL,MaxFALL` in whole cd/m².
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from engine.color.primaries import BT2020, P3_D65, Primaries

# ST 2086 / H.265 D.3.28 code units.
_CHROMATICITY_UNIT = 0.00002
_LUMINANCE_UNIT = 0.0001
# CTA-861.3 carries MaxCLL and MaxFALL as unsigned 16-bit integers.
_LIGHT_LEVEL_LIMIT = 65535


@dataclass(frozen=True)
class MasteringDisplay:
    """SMPTE ST 2086 mastering display colour volume: CIE 1931 xy primaries, white, cd/m² range."""

    red: tuple[float, float]
    green: tuple[float, float]
    blue: tuple[float, float]
    white: tuple[float, float]
    max_luminance: float
    min_luminance: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_luminance < self.max_luminance:
            raise ValueError(
                f"mastering luminance range {self.min_luminance}..{self.max_luminance} cd/m² is invalid"
            )

    @classmethod
    def from_primaries(
        cls, primaries: Primaries, max_luminance: float, min_luminance: float = 0.0001
    ) -> MasteringDisplay:
        return cls(
            primaries.red, primaries.green, primaries.blue, primaries.white, max_luminance, min_luminance
        )

    @classmethod
    def p3_d65(cls, max_luminance: float = 1000.0, min_luminance: float = 0.0001) -> MasteringDisplay:
        """The usual HDR10 grading monitor: P3 primaries, D65 white (e.g. 1000 cd/m², 0.0001 black)."""
        return cls.from_primaries(P3_D65, max_luminance, min_luminance)

    @classmethod
    def bt2020(cls, max_luminance: float = 1000.0, min_luminance: float = 0.0001) -> MasteringDisplay:
        """A display covering the full ITU-R BT.2020 gamut."""
        return cls.from_primaries(BT2020, max_luminance, min_luminance)

    def x265_param(self) -> str:
        """The x265 `master-display` value: G, B, R, WP in 0.00002 units, L(max,min) in 0.0001 cd/m²."""

        def xy(point: tuple[float, float]) -> str:
            return f"({round(point[0] / _CHROMATICITY_UNIT)},{round(point[1] / _CHROMATICITY_UNIT)})"

        peak = round(self.max_luminance / _LUMINANCE_UNIT)
        black = round(self.min_luminance / _LUMINANCE_UNIT)
        return f"G{xy(self.green)}B{xy(self.blue)}R{xy(self.red)}WP{xy(self.white)}L({peak},{black})"


@dataclass(frozen=True)
class ContentLightLevel:
    """CTA-861.3 content light levels in cd/m²: MaxCLL (brightest pixel), MaxFALL (brightest frame average).

    0 means unknown, as in CTA-861.3.
    """

    max_cll: float
    max_fall: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_fall <= self.max_cll:
            raise ValueError(f"MaxFALL {self.max_fall} must lie in [0, MaxCLL={self.max_cll}] cd/m²")

    def x265_param(self) -> str:
        """The x265 `max-cll` value 'MaxCLL,MaxFALL' in whole cd/m², rounded up so it bounds the content."""
        cll = min(math.ceil(self.max_cll), _LIGHT_LEVEL_LIMIT)
        fall = min(math.ceil(self.max_fall), _LIGHT_LEVEL_LIMIT)
        return f"{cll},{fall}"


class LightLevelMeter:
    """Accumulates MaxCLL and MaxFALL (CTA-861.3 Annex A) over (3, H, W) frames in cd/m².

    Each pixel's light level is max(R, G, B) after clipping to [0, peak]: the mastering display
    cannot show more than its peak, so neither can the content it was graded on.
    """

    def __init__(self, peak_nits: float) -> None:
        self.peak_nits = float(peak_nits)
        self._max_cll = 0.0
        self._max_fall = 0.0

    def add(self, frame: Tensor) -> None:
        """Measure one (3, H, W) frame in cd/m², on any device."""
        self.add_levels(*self.levels(frame))

    def levels(self, frame: Tensor) -> tuple[float, float]:
        """A (3, H, W) frame's largest and mean pixel light level, max(R, G, B) in [0, peak]."""
        # NaN carries no light; +Inf is clipped to the peak like any other over-range value.
        clipped = torch.nan_to_num(frame.float(), nan=0.0).clamp(0.0, self.peak_nits)
        max_rgb = clipped.amax(dim=0)
        return float(max_rgb.max()), float(max_rgb.mean())

    def add_levels(self, max_light: float, mean_light: float) -> None:
        """One frame's levels as `levels` gives them (or the per-pixel processor meters them)."""
        self._max_cll = max(self._max_cll, max_light)
        self._max_fall = max(self._max_fall, mean_light)

    def result(self) -> ContentLightLevel:
        """The levels so far; (0, 0), CTA-861.3's 'unknown', when no frame was measured."""
        return ContentLightLevel(self._max_cll, self._max_fall)
