"""Masks over SDR frames: over-exposure, clipping, and where reconstructed highlights came from.

A mask is (1, H, W) float in [0, 1] (docs/architecture.md, "Data conventions"). The inputs here are SDR
*signals* (code values in [0, 1]) or SDR-relative linear light; both clip at 1.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import torch
from torch import Tensor

from engine.constants import CLIPPED_CODE, OVEREXPOSURE_TAU


def _channel_max(sdr_signal: Tensor) -> Tensor:
    """max over channels of a (3, H, W) or (1, H, W) frame -> (1, H, W); NaN counts as clipped."""
    if sdr_signal.ndim != 3 or sdr_signal.shape[0] not in (1, 3):
        raise ValueError(f"expected a (3, H, W) or (1, H, W) frame, got {tuple(sdr_signal.shape)}")
    peak = sdr_signal.amax(dim=0, keepdim=True)
    # A NaN pixel carries no trustworthy content: treat it like a clipped one.
    return torch.nan_to_num(peak, nan=1.0, posinf=1.0, neginf=0.0)


def overexposure_mask(sdr_signal: Tensor, tau: float = OVEREXPOSURE_TAU) -> Tensor:
    """Santos et al. 2020, "Single image HDR reconstruction using a CNN with masked features and
    perceptual loss" (ACM TOG / SIGGRAPH 2020), the input mask
    M = 1 - min(max(0, I - tau) / (1 - tau), 1), with I the max over channels.

    1 where the pixel is well exposed, falling linearly to 0 as it approaches clipping.
    (3, H, W) or (1, H, W) -> (1, H, W) float.
    """
    if not 0.0 < tau < 1.0:
        raise ValueError(f"tau must lie in (0, 1), got {tau}")
    over = (_channel_max(sdr_signal) - tau).clamp_min(0.0) / (1.0 - tau)
    return 1.0 - over.clamp_max(1.0)


def clipped_map(sdr_signal: Tensor, threshold: float = CLIPPED_CODE) -> Tensor:
    """Pixels where any channel reaches `threshold` (default: the top 8-bit code values, CLIPPED_CODE).

    (3, H, W) or (1, H, W) -> (1, H, W) bool.
    """
    return _channel_max(sdr_signal) >= threshold


class ClueSource(IntEnum):
    """Where a pixel's highlight content came from after temporal reconstruction."""

    OWN = 0  # the frame's own pixels (nothing was clipped, or nothing better was found)
    REFERENCE = 1  # taken from another frame of the shot where it was exposed normally
    FALLBACK = 2  # no usable clue: the single-frame ITM operator filled it in


# Overlay colours (display RGB in [0, 1]); OWN stays transparent so the picture shows through.
CLUE_COLOURS: dict[ClueSource, tuple[float, float, float]] = {
    ClueSource.OWN: (0.0, 0.0, 0.0),
    ClueSource.REFERENCE: (0.1, 0.85, 0.3),
    ClueSource.FALLBACK: (1.0, 0.25, 0.7),
}


@dataclass
class ClueMap:
    """Per-frame provenance of highlights: labels (1, H, W) uint8 and confidence (1, H, W) float.

    Filled by the temporal stage; the viewer shows it as a colour overlay.
    """

    labels: Tensor
    confidence: Tensor

    def __post_init__(self) -> None:
        if self.labels.ndim != 3 or self.labels.shape[0] != 1 or self.labels.dtype != torch.uint8:
            raise ValueError(f"labels must be (1, H, W) uint8, got {tuple(self.labels.shape)}")
        if self.confidence.shape != self.labels.shape or not self.confidence.is_floating_point():
            raise ValueError("confidence must be a float tensor shaped like labels")
        if int(self.labels.max()) > max(ClueSource):
            raise ValueError(f"labels hold an unknown source {int(self.labels.max())}")

    @classmethod
    def own(cls, height: int, width: int, device: torch.device | str = "cpu") -> ClueMap:
        """A map where every pixel is the frame's own, with full confidence."""
        labels = torch.full((1, height, width), ClueSource.OWN, dtype=torch.uint8, device=device)
        return cls(labels, torch.ones((1, height, width), dtype=torch.float32, device=device))

    def mask(self, source: ClueSource) -> Tensor:
        """(1, H, W) float mask of one source, weighted by confidence."""
        return (self.labels == source).to(self.confidence.dtype) * self.confidence.clamp(0.0, 1.0)

    def fraction(self, source: ClueSource) -> float:
        """Share of pixels labelled `source`."""
        return float((self.labels == source).float().mean())

    def overlay(self, opacity: float = 0.5) -> Tensor:
        """RGBA overlay (4, H, W) in [0, 1]: colour per source, alpha = opacity x the share of the
        pixel its source gave. Confidence is the measured share (the frame's own and the
        references', engine.temporal.merge.compose), so a REFERENCE pixel shows at
        opacity x confidence and a FALLBACK pixel, filled by the ITM, at opacity x (1 - confidence).
        OWN stays transparent. shaders/preview.frag draws the same overlay."""
        colours = torch.tensor(
            [CLUE_COLOURS[s] for s in ClueSource], dtype=torch.float32, device=self.labels.device
        )
        rgb = colours[self.labels[0].long()].permute(2, 0, 1)
        confidence = self.confidence.float().clamp(0.0, 1.0)
        share = torch.where(self.labels == ClueSource.FALLBACK, 1.0 - confidence, confidence)
        alpha = opacity * (self.labels != ClueSource.OWN).float() * share
        return torch.cat([rgb, alpha], dim=0)

    def composite(self, display_rgb: Tensor, opacity: float = 0.5) -> Tensor:
        """Blend the overlay over a display-referred (3, H, W) picture in [0, 1]."""
        rgba = self.overlay(opacity).to(display_rgb.device, display_rgb.dtype)
        return torch.lerp(display_rgb, rgba[:3], rgba[3:])
