"""Running the trained networks on engine frames: device, precision, tiles, units.

On CUDA the networks run in half precision with channels-last memory (the layout tensor cores
read); on the CPU in float32, also channels-last, which oneDNN's convolutions prefer. The
networks predict log radiance tile by tile (engine.models.tiling); the blend with the frame's
well-exposed pixels happens afterwards at full resolution in float32, so those pixels pass
through exactly whatever the precision.

`refine_temporal` is the pipeline's entry for the learned temporal mode.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from engine.errors import FormatError
from engine.finite import all_finite
from engine.models.refine import RefineNet, measured_support
from engine.models.tiling import run_tiled
from engine.models.unet import HighlightNet, blend_prediction, sdr_inputs
from engine.models.weights import HIGHLIGHT_MODEL, MODELS_DIR, REFINE_MODEL, load_network
from engine.operators.base import StageContext
from engine.temporal.region import mask_regions

DEFAULT_TILE = 512
DEFAULT_OVERLAP = 32


def inference_dtype(device: torch.device) -> torch.dtype:
    return torch.float16 if device.type == "cuda" else torch.float32


def prepare(model: nn.Module, device: torch.device) -> nn.Module:
    """The model on `device`, in its inference precision and channels-last layout, in eval mode."""
    return model.to(device=device, dtype=inference_dtype(device),
                    memory_format=torch.channels_last).eval()


@functools.lru_cache(maxsize=4)
def cached_network(name: str, device: str, folder: str = str(MODELS_DIR)) -> nn.Module:
    """The named network loaded once per device (weights checked on first use)."""
    return prepare(load_network(name, Path(folder)), torch.device(device))


def predict_log_radiance(model: nn.Module, inputs: Tensor, multiple: int, tile: int = DEFAULT_TILE,
                         overlap: int = DEFAULT_OVERLAP, needed: Tensor | None = None) -> Tensor:
    """model over a (1, C, H, W) batch in tiles, in the model's precision -> float32 ŷ, exact
    at the `needed` pixels ((H, W) bool; all by default) and 0 where no tile that ran reached."""
    dtype = next(model.parameters()).dtype

    def run(x: Tensor) -> Tensor:
        return model(x.to(dtype).contiguous(memory_format=torch.channels_last))

    with torch.inference_mode():
        return run_tiled(run, inputs, tile, overlap, multiple, needed)


def _check_frame(frame: Tensor, what: str) -> Tensor:
    if frame.ndim != 3 or frame.shape[0] != 3:
        raise FormatError(f"{what}: expected a (3, H, W) frame, got {tuple(frame.shape)}")
    if not all_finite(frame):
        raise FormatError(f"{what}: holds NaN or infinite values")
    return frame.float().clamp_min(0.0)


def highlight_radiance(linear: Tensor, model: HighlightNet | None = None, tile: int = DEFAULT_TILE,
                       overlap: int = DEFAULT_OVERLAP) -> Tensor:
    """SDR display light (3, H, W), 1.0 = SDR peak -> relative radiance (3, H, W), on its device.

    `model` defaults to the shipped masked-feature network (resources/models/masked_unet).
    """
    linear = _check_frame(linear, "SDR frame")
    net = model if model is not None else cached_network(HIGHLIGHT_MODEL, str(linear.device))
    assert isinstance(net, HighlightNet)
    batch = linear.unsqueeze(0)
    # The prediction counts only where the mask is below 1 (Santos eq. 1, blend_prediction): a
    # well-exposed pixel is the frame's own light whatever the network says there, so the
    # tiles holding none of the others need not run (a frame with none runs no tile at all).
    _, mask = net.inputs(batch)
    needed = mask[0, 0] < 1.0
    if not bool(needed.any()):
        return linear
    log_radiance = predict_log_radiance(net, batch, net.config.multiple, tile, overlap, needed)
    return blend_prediction(batch, mask, log_radiance)[0]


class TemporalRefiner:
    """The learned refinement of the classical temporal reconstruction, frame by frame.

    refiner(classical_nits, clue_confidence, sdr_relative, neighbour_keyframes, ctx) -> nits:
    classical_nits (3, H, W) cd/m² from engine.temporal; clue_confidence (1, H, W) in [0, 1]
    (ClueMap.confidence); sdr_relative (3, H, W) the frame's SDR display light (1.0 = SDR peak,
    BT.2020), what the ITM stage receives; neighbour_keyframes: the reconstructions, in cd/m², of
    the keyframes before and after the frame (zero, one or two; missing ones repeat the
    frame). The network runs only on the boxes of the pixels left to correct; every other pixel
    is the classical one. ctx.reference_white converts cd/m² to the network's relative units and
    back.
    Returns (3, H, W) cd/m² on the input's device.
    """

    def __init__(self, model: RefineNet | None = None, tile: int = DEFAULT_TILE,
                 overlap: int = DEFAULT_OVERLAP) -> None:
        self.model = model
        self.tile = tile
        self.overlap = overlap

    def __call__(self, classical_nits: Tensor, clue_confidence: Tensor, sdr_relative: Tensor,
                 neighbour_keyframes: Sequence[Tensor], ctx: StageContext) -> Tensor:
        linear = _check_frame(sdr_relative, "SDR frame")
        classical = _check_frame(classical_nits, "temporal reconstruction")
        if classical.shape != linear.shape or clue_confidence.shape != (1, *linear.shape[1:]):
            raise FormatError(f"temporal refinement: sizes differ: frame {tuple(linear.shape)}, "
                              f"reconstruction {tuple(classical.shape)}, "
                              f"confidence {tuple(clue_confidence.shape)}")
        if any(k.shape != linear.shape for k in neighbour_keyframes):
            raise FormatError("temporal refinement: a neighbour keyframe's size differs from the frame's")
        net = self.model if self.model is not None else cached_network(REFINE_MODEL, str(linear.device))
        assert isinstance(net, RefineNet)
        white = ctx.reference_white
        confidence = clue_confidence.float().to(linear.device).clamp(0.0, 1.0)[None]
        support = measured_support(confidence)
        # The correction applies only to over-exposed pixels (Santos' mask M < 1: a channel's
        # signal L^(1/gamma) above tau, so L above tau^gamma), and there only to the share no
        # frame measured (RefineNet.reconstruct); everywhere else the classical reconstruction
        # stands whatever the network says. So it runs only on the boxes around the pixels left
        # to correct, grown by the context a tile's edge needs, as the tiling assumes, and only
        # the boxes are read. The support spreads over the whole frame, so it is measured there
        # and cropped.
        over = linear.amax(dim=0, keepdim=True) > net.config.tau**net.config.input_gamma
        boxes = mask_regions(over & (support[0] < 1.0), self.overlap)
        refined = classical.clone()
        for box in boxes:
            part = box.crop(linear)
            inputs = sdr_inputs(part[None], net.config)
            _, mask = inputs
            keys = [_check_frame(box.crop(k), "neighbour keyframe")[None] / white
                    for k in neighbour_keyframes]
            with torch.inference_mode():
                features = net.features(box.crop(classical)[None] / white, box.crop(confidence),
                                        part[None], keys, inputs)
            # Inside a box, too, the tiles run only where they weigh a pixel the correction
            # reaches (mask and support below 1, exactly): the result is bit for bit that of
            # every tile run, and where no tile runs nothing reads the prediction.
            needed = (mask[0, 0] < 1.0) & (box.crop(support)[0, 0] != 1.0)
            log_radiance = torch.zeros_like(features[:, :3])
            if bool(needed.any()):
                log_radiance = predict_log_radiance(net, features, net.config.multiple, self.tile,
                                                    self.overlap, needed)
            result = net.reconstruct(features, part[None], log_radiance, box.crop(support))[0]
            # reconstruct keeps a well-exposed pixel's classical value only up to rounding (it
            # passes through log1p and relative units): here it is kept exactly.
            kept = torch.where(mask[0] < 1.0, result * white, box.crop(classical))
            box.crop(refined).copy_(kept)  # the boxes are disjoint
        return refined


def refine_temporal(classical_nits: Tensor, clue_confidence: Tensor, sdr_relative: Tensor,
                    neighbour_keyframes: Sequence[Tensor], ctx: StageContext) -> Tensor:
    """TemporalRefiner with the shipped weights (resources/models/refine_unet); see its docstring."""
    return TemporalRefiner()(classical_nits, clue_confidence, sdr_relative, neighbour_keyframes, ctx)
