"""Torch networks of the learned ITM modes and the loader of their weights.

- unet: HighlightNet, the single-frame masked-feature U-Net (Santos et al. 2020);
- refine: RefineNet, the learned refinement of temporal highlight reconstruction;
- weights: safetensors weights checked against SHA-256 sums, and model configs;
- tiling / inference: overlapping-tile inference on CPU or CUDA, `refine_temporal`;
- data / train: training data from engine.synth, and the resumable training loop.
"""

from engine.models.refine import NEIGHBOURS, RefineNet
from engine.models.unet import HighlightNet, UNet, UNetConfig
from engine.models.weights import HIGHLIGHT_MODEL, MODELS_DIR, REFINE_MODEL, load_network

__all__ = [
    "HIGHLIGHT_MODEL",
    "MODELS_DIR",
    "NEIGHBOURS",
    "REFINE_MODEL",
    "HighlightNet",
    "RefineNet",
    "UNet",
    "UNetConfig",
    "load_network",
]
