"""Learned single-frame ITM: the masked-feature CNN of Santos et al. 2020 (engine.models)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from engine.operators.base import SpatialOperator, StageContext
from engine.params import param


@dataclass(frozen=True)
class MaskedCnnParams:
    """Tiling of the network's inference (engine.models.tiling.tile_span). A tile is all the
    context the network sees, so where clipped areas span tiles the result depends on it."""

    tile: int = param(512, 64, 4096, "px", "largest side of the tiles the network runs on (memory, context)")
    overlap: int = param(32, 0, 256, "px", "overlap of neighbouring tiles, blended linearly")


class MaskedCnnItm(SpatialOperator):
    """Santos, Ren & Kalantari 2020, "Single image HDR reconstruction using a CNN with masked
    features and perceptual loss" (ACM TOG 39(4), SIGGRAPH 2020).

    A small U-Net with masked encoder features predicts log radiance where the SDR frame is over-
    exposed; well-exposed pixels pass through exactly, H = M lin(I) + (1 - M)(exp(ŷ) - 1). The
    output is relative radiance x reference white in cd/m²; the output stage clamps at the peak.
    Weights: resources/models/masked_unet.safetensors (SHA-256 checked on load).
    """

    name = "masked-cnn"
    kind = "itm"
    title = "Masked-feature CNN (Santos 2020)"
    Params = MaskedCnnParams

    @property
    def _overlap(self) -> int:
        return min(self.params.overlap, self.params.tile // 2)

    def context_px(self) -> int | None:
        # The tiling already treats its overlap as the context a tile's edge needs.
        return self._overlap

    def apply(self, frame: Tensor, ctx: StageContext) -> Tensor:
        # Imported on first use: listing the operator catalogue must not load the network.
        from engine.models.inference import highlight_radiance

        return highlight_radiance(frame, tile=self.params.tile, overlap=self._overlap) * ctx.reference_white
