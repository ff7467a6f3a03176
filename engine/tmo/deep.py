"""A learned tone mapper: local tone curves predicted by a small network (engine.models.tone_net)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from engine.color.correction import color_param, correct_color, saturation_param
from engine.color.luminance import luminance
from engine.operators.base import SpatialOperator, StageContext
from engine.params import param
from engine.tmo.tone_curve import with_frame_stats


@dataclass(frozen=True)
class DeepTmoParams:
    exposure: float = param(0.0, -4.0, 4.0, "stops", "brightness of the HDR frame before the curves")
    color: str = color_param()
    saturation: float = saturation_param()


class DeepTmo(SpatialOperator):
    """Learned local tone curves trained on TMQI (Yeganeh & Wang 2013, "Objective quality
    assessment of tone-mapped images", IEEE TIP 22(2)), sliced from a bilateral grid as in
    HDRNet (Gharbi et al. 2017, "Deep bilateral learning for real-time image enhancement").

    A small CNN sees a 64x64 thumbnail of log luminance relative to the (stabilised) log average
    and predicts a 16x16 grid of monotone curves over 22 stops; each pixel's SDR signal V is the
    trilinear slice of that grid at its position and log luminance, and its display-relative
    luminance is V^2.4. Trained without SDR ground truth: the loss is TMQI between the HDR
    luminance and the SDR signal, plus a term against flicker between frames of a pan
    (bench/train_tmo.py). Weights: resources/models/deep_tmo.safetensors (SHA-256 checked).
    """

    name = "deep"
    kind = "tmo"
    title = "Learned local tone curves (TMQI-trained)"
    Params = DeepTmoParams

    def apply(self, frame: Tensor, ctx: StageContext) -> Tensor:
        # Imported on first use: listing the operator catalogue must not load the network.
        from engine.models.tone_net import SDR_GAMMA, shipped_tone_net, tone_signal

        stats = with_frame_stats(frame, ctx).stats
        assert stats is not None
        net = shipped_tone_net(str(frame.device))
        y = luminance(frame).clamp_min(0.0)
        with torch.no_grad():
            signal = tone_signal(net, y[None].float(), stats.log_average, self.params.exposure)[0]
        y_out = signal.to(frame.dtype) ** SDR_GAMMA
        out = correct_color(frame.clamp_min(0.0), y, y_out, self.params.color, self.params.saturation)
        return out.clamp(0.0, 1.0)
