"""A learned tone mapper: local tone curves predicted by a small network (engine.models.tone_net)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from engine.color.correction import color_param, correct_color, saturation_param
from engine.color.luminance import luminance
from engine.operators.base import SpatialOperator, StageContext
from engine.params import param
from engine.stats import StabiliserParams, filter_weight
from engine.tmo.tone_curve import with_frame_stats

# Frames: the time constant of the adaptation's low-pass within a shot, the statistics
# stabiliser's own (engine.stats.StabiliserParams). On the synth pans and pushes of the TUNING
# stills only (bench/tmo_quality.py --flicker-only, docs/operators.md) the motion-compensated
# flicker falls from 1.78 unfiltered to 1.30-1.36 at 16-24 frames and only to 1.22 at 60, while
# the same-pixel flicker rises by under 1% (14.84 -> 14.92).
DEFAULT_SMOOTHING = StabiliserParams().smoothing_period


@dataclass(frozen=True)
class DeepTmoParams:
    exposure: float = param(0.0, -4.0, 4.0, "stops", "brightness of the HDR frame before the curves")
    color: str = color_param()
    saturation: float = saturation_param()
    smoothing: float = param(DEFAULT_SMOOTHING, 0.0, 60.0, "frames",
                             "time constant of the key and curves' temporal filter within a shot (0: none)")


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

    In a sequence the operator's adaptation, the key its curves are relative to and the
    predicted curve grid, is low-pass filtered over time, as temporal TMOs stabilise theirs
    (Boitard et al. 2012, "Temporal coherency for video tone mapping"; Mantiuk et al. 2008,
    "Display adaptive tone mapping", filter their tone curves): a first-order IIR with a time
    constant of `smoothing` frames on top of the statistics stabiliser, whose new-frame weight
    rises with the stabiliser's scene-cut weight (ctx.stats.cut, engine.stats), so the first
    frame of a shot, a frame after a seek and a still are mapped by their own key and curves.
    A mix of rising curves rises, so the filtered curves stay monotone. (The shipped network's
    grid varies little with content, so in a pan the key carries most of the change.)
    """

    name = "deep"
    kind = "tmo"
    title = "Learned local tone curves (TMQI-trained)"
    Params = DeepTmoParams

    def __init__(self, params: DeepTmoParams | None = None) -> None:
        super().__init__(params)
        # The adaptation state of the previous frame: its log2 key and its (filtered) curve grid.
        self._key_log2: float | None = None
        self._curves: Tensor | None = None

    def filtered_key(self, log_average: float, cut: float) -> float:
        """This frame's key (cd/m²) after the temporal filter; the curves then follow with
        filtered_curves at the same weight."""
        key_log2 = math.log2(log_average)  # positive: measure() reports at least its black cutoff
        weight = filter_weight(self.params.smoothing, cut)
        if weight >= 1.0 or self._key_log2 is None or self._curves is None:
            # A new shot: the curves restart too, and the key is the statistics' own, unchanged.
            self._key_log2, self._curves = key_log2, None
            return log_average
        self._key_log2 += weight * (key_log2 - self._key_log2)
        return 2.0**self._key_log2

    def filtered_curves(self, curves: Tensor, cut: float) -> Tensor:
        """This frame's curve grid after the temporal filter, which it then remembers."""
        weight = filter_weight(self.params.smoothing, cut)
        if weight >= 1.0 or self._curves is None or self._curves.shape != curves.shape:
            self._curves = curves
        else:
            self._curves = torch.lerp(self._curves.to(curves), curves, weight)
        return self._curves

    def apply(self, frame: Tensor, ctx: StageContext) -> Tensor:
        # Imported on first use: listing the operator catalogue must not load the network.
        from engine.models.tone_net import SDR_GAMMA, guide, relative_log2, shipped_tone_net, slice_curves

        stats = with_frame_stats(frame, ctx).stats
        assert stats is not None
        net = shipped_tone_net(str(frame.device))
        y = luminance(frame).clamp_min(0.0)
        key = self.filtered_key(stats.log_average, stats.cut)
        with torch.no_grad():
            g = guide(relative_log2(y[None].float(), key, self.params.exposure))
            signal = slice_curves(self.filtered_curves(net(g), stats.cut), g)[0]
        y_out = signal.to(frame.dtype) ** SDR_GAMMA
        out = correct_color(frame.clamp_min(0.0), y, y_out, self.params.color, self.params.saturation)
        return out.clamp(0.0, 1.0)
