"""A small network that predicts a frame's EMoR coefficients: the learned single-image estimator.

In the line of the single-image calibration networks (Li & Peers, "CRF-net: single image
radiometric calibration using CNNs", CVMP 2017; Liu et al., "Single-image HDR reconstruction by
learning to reverse the camera pipeline", CVPR 2020, its Linearization-Net), but small enough
to train here on one CPU thread: an MLP over statistics of crops of code values taken at the
sensor's own pixels (no resampling, which would mix code values non-linearly):
- the per-channel histogram of code values (the histogram cue of Lin & Zhang, "Determining the
  radiometric response function from a single grayscale image", CVPR 2005);
- per level of the local mean, the mean absolute residual about it (the noise cue of
  Matsushita & Lin, "Radiometric calibration from noise distributions", CVPR 2007: sensor noise
  is known in linear light, so its spread in code values traces the response's slope);
- per level, the mean gradient magnitude (edges, Lin et al. CVPR 2004), and the share of
  pixels at that level.
The MLP maps them, normalised by their spread over the training set (kept in the weights), to
the EMoR coefficients of engine.crf.emor, normalised by theirs. A clip's estimate is the mean
over a grid of crops of a few frames. (A convolutional version trained in the same budget
stayed near the constant predictor, 0.45 against 0.50 RMS in ln exposure; this one reached 0.23
on validation crops.)

The weights and the EMoR basis live together in resources/models/crf_net.safetensors (checked
against SHA256SUMS by engine.models.weights); crf_net.json records the training.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as tnf

from engine.crf.emor import EmorBasis
from engine.errors import FormatError
from engine.models.weights import MODELS_DIR, load_checked, load_state

MODEL_NAME = "crf_net"
CROP = 96  # side of a crop in pixels
HISTOGRAM_BINS = 32
LEVELS = 16  # bins of the local mean for the noise and gradient profiles
FEATURES = 3 * HISTOGRAM_BINS + 3 * LEVELS
HIDDEN = 128
GRID = 3  # crops per side of a frame at inference
MAX_SIDE = 540  # frames are decimated (every n-th pixel) to at most this short side first
_LOG_EPSILON = 1e-3


def features(crops: Tensor) -> Tensor:
    """(N, 3, h, w) code values in [0, 1] -> (N, FEATURES) statistics (see the module docstring)."""
    x = crops.float().clamp(0.0, 1.0)
    n = x.shape[0]
    bins = (x * (HISTOGRAM_BINS - 1e-3)).long().flatten(2)
    histogram = torch.zeros(n, 3, HISTOGRAM_BINS).scatter_add_(2, bins, torch.ones_like(bins, dtype=x.dtype))
    histogram = histogram.flatten(1) / bins.shape[2]
    local = tnf.avg_pool2d(tnf.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)[:, :, 1:-1, 1:-1]
    inner = x[:, :, 1:-1, 1:-1]
    residual = (inner - local).abs().flatten(1)
    gradient = (x[:, :, 1:-1, 2:] - x[:, :, 1:-1, :-2]).abs() + (x[:, :, 2:, 1:-1] - x[:, :, :-2, 1:-1]).abs()
    level = (local * (LEVELS - 1e-3)).long().flatten(1)
    count = torch.zeros(n, LEVELS).scatter_add_(1, level, torch.ones_like(residual))
    present = (count > 0).to(x.dtype)
    noise = torch.zeros(n, LEVELS).scatter_add_(1, level, residual) / count.clamp_min(1.0)
    edges = torch.zeros(n, LEVELS).scatter_add_(1, level, gradient.flatten(1)) / count.clamp_min(1.0)
    profiles = [(noise + _LOG_EPSILON).log() * present, (edges + _LOG_EPSILON).log() * present]
    return torch.cat([histogram, *profiles, torch.log1p(count) / 5.0], dim=1)


class CrfNet(nn.Module):
    """(N, FEATURES) crop statistics -> (N, K) normalised EMoR coefficients."""

    def __init__(self, components: int) -> None:
        super().__init__()
        self.register_buffer("feature_mean", torch.zeros(FEATURES))
        self.register_buffer("feature_std", torch.ones(FEATURES))
        self.mlp = nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                                 nn.Linear(HIDDEN, components))

    def forward(self, stats: Tensor) -> Tensor:
        return self.mlp((stats - self.feature_mean) / self.feature_std)


def frame_crops(signal: Tensor, grid: int = GRID) -> Tensor:
    """(grid², 3, CROP, CROP) crops of a (3, H, W) frame on a regular grid, after decimation."""
    _, h, w = signal.shape
    step = max(1, min(h, w) // MAX_SIDE)
    frame = signal[:, ::step, ::step]
    _, h, w = frame.shape
    if min(h, w) < CROP:
        raise FormatError(f"a frame of {w}x{h} pixels is too small to estimate its response (needs {CROP})")
    tops = torch.linspace(0, h - CROP, grid).round().long().tolist()
    lefts = torch.linspace(0, w - CROP, grid).round().long().tolist()
    return torch.stack([frame[:, t : t + CROP, x : x + CROP] for t in tops for x in lefts])


def predict(net: CrfNet, basis: EmorBasis, frames: list[Tensor]) -> Tensor:
    """EMoR coefficients (K,) of one clip: the mean normalised prediction over frames and crops."""
    crops = torch.cat([frame_crops(f.detach().float().cpu()) for f in frames])
    with torch.no_grad():
        z = net(features(crops)).double().mean(0)
    return basis.coef_mean + basis.coef_std * z


def load_crf_net(folder: Path = MODELS_DIR) -> tuple[CrfNet, EmorBasis]:
    """The shipped network and the EMoR basis it predicts in, from MODEL_NAME.safetensors."""
    path = Path(folder) / f"{MODEL_NAME}.safetensors"
    tensors = load_checked(path)
    try:
        basis = EmorBasis.from_tensors(tensors)
    except KeyError as exc:
        raise FormatError(f"weights lack the EMoR basis tensor {exc}", path) from None
    net = CrfNet(basis.size)
    load_state(net, {k[len("net."):]: v for k, v in tensors.items() if k.startswith("net.")}, path)
    return net.eval(), basis
