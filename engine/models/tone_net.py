"""The learned tone mapper's network: local tone curves predicted on a thumbnail, sliced at full size.

The design follows HDRNet (Gharbi, Chen, Barron, Hasinoff & Durand, "Deep bilateral learning for
real-time image enhancement", ACM TOG 36(4), 2017): a small CNN looks at a fixed-size thumbnail
of the frame's log luminance and predicts a bilateral grid, here GRID x GRID cells each holding
a monotone tone curve sampled at KNOTS log-luminance knots. Every full-resolution pixel reads
its curve by trilinear interpolation at (x, y, its log luminance) (the grid's "slice", a guided
upsampling), so the cost at full size is one grid_sample and the curves vary smoothly in space
and in luminance: no halos finer than a cell, no inversion of local contrast (each curve rises).

Log luminance is taken relative to the frame's log average (the key, stabilised over time by the
pipeline), so the result does not depend on the exposure of the HDR master. A curve's values are
the SDR signal V in (0, 1) (a logistic of an increasing sum), and the display-relative
luminance is V^2.4, which the BT.1886 SDR encode maps back to V.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as tnf

from engine.errors import FormatError
from engine.models.weights import MODELS_DIR, load_checked, load_state, read_json, save_tensors, write_json

TONE_MODEL = "deep_tmo"
# The guide's span in stops around the log average: deep shadows to a sun 2^12 above the key.
LOG2_LOW = -10.0
LOG2_HIGH = 12.0
SDR_GAMMA = 2.4  # BT.1886: the SDR display turns the signal V into light V^2.4
_TINY = 1e-9


@dataclass(frozen=True)
class ToneNetConfig:
    """Architecture: thumbnail side, grid cells per side, knots per curve, channel widths."""

    thumbnail: int = 64
    grid: int = 16
    knots: int = 16
    widths: tuple[int, int] = (16, 32)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ToneNetConfig:
        return cls(int(data["thumbnail"]), int(data["grid"]), int(data["knots"]),
                   (int(data["widths"][0]), int(data["widths"][1])))

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "widths": list(self.widths)}


def relative_log2(y: Tensor, log_average: Tensor | float, exposure: float = 0.0) -> Tensor:
    """log2 of luminance over the log average, shifted by `exposure` stops."""
    return torch.log2(y.clamp_min(_TINY)) - torch.log2(torch.as_tensor(log_average, dtype=y.dtype,
                                                                         device=y.device)) + exposure


def guide(rel_log2: Tensor) -> Tensor:
    """Relative log2 luminance -> the grid's luminance coordinate in [0, 1]."""
    return ((rel_log2 - LOG2_LOW) / (LOG2_HIGH - LOG2_LOW)).clamp(0.0, 1.0)


class ToneNet(nn.Module):
    """forward(g (N, 1, H, W) guide) -> curves (N, KNOTS, GRID, GRID), signal values in (0, 1)."""

    def __init__(self, config: ToneNetConfig = ToneNetConfig()) -> None:
        super().__init__()
        self.config = config
        w1, w2 = config.widths
        self.down1 = nn.Conv2d(3, w1, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(w1, w2, 3, stride=2, padding=1)
        self.local1 = nn.Conv2d(w2, w2, 3, padding=1)
        self.global1 = nn.Linear(w2, w2)
        self.local2 = nn.Conv2d(w2, w2, 3, padding=1)
        self.head = nn.Conv2d(w2, config.knots + 1, 1)
        self._init_head()

    def _init_head(self) -> None:
        """Start from one global S-curve: the key at V = 0.5, about 0.55 logit units per stop."""
        k = self.config.knots
        step = (LOG2_HIGH - LOG2_LOW) / (k - 1)
        increment = 0.55 * step
        key_knot = -LOG2_LOW / step
        nn.init.zeros_(self.head.weight)
        with torch.no_grad():
            self.head.bias[0] = -increment * key_knot
            self.head.bias[1:] = float(torch.log(torch.expm1(torch.tensor(increment))))

    def features(self, g: Tensor) -> Tensor:
        """(N, 1, H, W) guide -> (N, 3, T, T): the thumbnail's mean, local spread and maximum."""
        t = self.config.thumbnail
        mean = tnf.adaptive_avg_pool2d(g, t)
        spread = (tnf.adaptive_avg_pool2d(g * g, t) - mean * mean).clamp_min(0.0).sqrt()
        top = tnf.adaptive_max_pool2d(g, t)
        return torch.cat([mean, spread, top], dim=1)

    def forward(self, g: Tensor) -> Tensor:
        x = tnf.relu(self.down1(self.features(g) * 2.0 - 1.0))
        x = tnf.relu(self.down2(x))
        x = tnf.adaptive_avg_pool2d(x, self.config.grid)
        context = tnf.relu(self.global1(x.mean(dim=(2, 3))))
        x = tnf.relu(self.local1(x) + context[:, :, None, None])
        x = tnf.relu(self.local2(x))
        out = self.head(x)
        # Monotone in luminance: the base plus a running sum of positive steps.
        logits = out[:, :1] + torch.cumsum(tnf.softplus(out[:, 1:]), dim=1)
        return torch.sigmoid(logits)


def slice_curves(curves: Tensor, g: Tensor) -> Tensor:
    """Trilinear slice: curves (N, K, G, G) and guide (N, 1, H, W) -> signal V (N, 1, H, W)."""
    n, _, h, w = g.shape
    ys = torch.linspace(-1.0, 1.0, h, dtype=g.dtype, device=g.device)
    xs = torch.linspace(-1.0, 1.0, w, dtype=g.dtype, device=g.device)
    coords = torch.stack([
        xs.view(1, 1, w).expand(n, h, w),
        ys.view(1, h, 1).expand(n, h, w),
        g[:, 0] * 2.0 - 1.0,
    ], dim=-1)
    # grid_sample's 3-D form: the volume is (depth = knots, height, width), the grid (x, y, z).
    out = tnf.grid_sample(curves.unsqueeze(1).to(g.dtype), coords.unsqueeze(1), mode="bilinear",
                          padding_mode="border", align_corners=True)
    return out[:, :, 0]


def tone_signal(net: ToneNet, y: Tensor, log_average: Tensor | float, exposure: float = 0.0) -> Tensor:
    """Luminance (N, 1, H, W) in any unit -> the SDR signal V (N, 1, H, W) of its tone-mapped luminance."""
    g = guide(relative_log2(y, log_average, exposure))
    return slice_curves(net(g), g)


def save_tone_net(net: ToneNet, config: dict[str, Any], folder: Path = MODELS_DIR,
                  name: str = TONE_MODEL) -> None:
    """NAME.safetensors (+ its SHA-256 in SHA256SUMS) and NAME.json (architecture + `config`)."""
    save_tensors(folder / f"{name}.safetensors", net.state_dict())
    write_json(folder / f"{name}.json", {"model": "tone", "architecture": net.config.to_json(), **config})


def load_tone_net(folder: Path = MODELS_DIR, name: str = TONE_MODEL) -> ToneNet:
    """The trained ToneNet NAME from `folder`, checksum-verified, in eval mode."""
    config_path = folder / f"{name}.json"
    meta = read_json(config_path)
    try:
        if meta["model"] != "tone":
            raise ValueError(f"model kind {meta['model']!r}")
        net = ToneNet(ToneNetConfig.from_json(meta["architecture"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"not a tone network config this version knows ({exc!r})", config_path) from None
    weights = folder / f"{name}.safetensors"
    load_state(net, load_checked(weights), weights)
    return net.eval()


@functools.lru_cache(maxsize=2)
def shipped_tone_net(device: str = "cpu") -> ToneNet:
    """The shipped network on `device`, loaded once per process and device (never changed)."""
    return load_tone_net().to(device)
