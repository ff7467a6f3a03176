"""A no-reference quality score for HDR reconstructions: a small CNN that predicts, from the
reconstructed frame alone, the full-reference PU21-PSNR (engine.metrics) it would score against
a ground truth nobody has for real footage.

After NoR-VDPNet (Banterle, Artusi, Moreo, Carrara, Gennaro, Amato, "NoR-VDPNet: a no-reference
high dynamic range quality metric trained on HDR-VDP 2", IEEE ICIP 2020), which regresses
HDR-VDP 2's Q from the distorted image with a small convolutional network; here the target is
PU21-PSNR (Mantiuk and Azimi 2021) and the training pairs come from engine.synth's cameras over
the TUNING stills, reconstructed by every single-frame operator and the temporal mode
(bench/train_quality.py). The frame is reduced to 72x128 by area averaging and PU21-encoded per
channel (scaled to [0, 1] by the encoding's value at 10 000 cd/m²), so the network sees
perceptually uniform absolute levels, as the metric does.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as tnf

from engine.errors import FormatError
from engine.metrics.pu21 import PU21_MAX_NITS, pu21_encode
from engine.models.weights import MODELS_DIR, load_checked, load_state, read_json, save_tensors, write_json

QUALITY_MODEL = "quality_net"
INPUT_SIZE = (72, 128)  # (height, width) the frame is reduced to
_PU21_TOP = float(pu21_encode(torch.tensor(PU21_MAX_NITS)))
# Input levels (PU21 / top) of BT.2408 reference white and of 1000 cd/m².
_STAT_LEVELS = tuple(float(pu21_encode(torch.tensor(n))) / _PU21_TOP for n in (203.0, 1000.0))


def quality_input(frame: Tensor) -> Tensor:
    """(3, H, W) BT.2020 cd/m² -> (3, 72, 128) PU21 values in [0, 1]."""
    small = tnf.interpolate(frame.float().clamp_min(0.0).unsqueeze(0), size=INPUT_SIZE, mode="area")[0]
    return pu21_encode(small) / _PU21_TOP


class QualityNet(nn.Module):
    """Four strided 3x3 convolutions, mean and max pooling, a two-layer regressor -> dB.

    With `global_stats` the regressor also reads four statistics of the input: the mean and the
    standard deviation of its PU21 values, and the share of pixels above BT.2408 reference white
    (203 cd/m²) and above 1000 cd/m², which say how much of the frame is expanded highlight.
    """

    def __init__(self, width: int = 16, offset_db: float = 30.0, global_stats: bool = False) -> None:
        super().__init__()
        self.width = width
        self.global_stats = global_stats
        channels = [3, width, 2 * width, 4 * width, 4 * width]
        self.features = nn.Sequential(*[
            layer for c_in, c_out in itertools.pairwise(channels)
            for layer in (nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.ReLU())])
        stats = len(_STAT_LEVELS) + 2 if global_stats else 0
        self.head = nn.Sequential(nn.Linear(8 * width + stats, 32), nn.ReLU(), nn.Linear(32, 1))
        # The regressor starts at a typical score, so training moves it from there.
        nn.init.constant_(self.head[2].bias, offset_db)

    def forward(self, x: Tensor) -> Tensor:
        """(N, 3, 72, 128) quality inputs -> (N,) predicted PU21-PSNR in dB."""
        f = self.features(x)
        parts = [f.mean(dim=(2, 3)), f.amax(dim=(2, 3))]
        if self.global_stats:
            parts += [x.mean(dim=(1, 2, 3))[:, None], x.std(dim=(1, 2, 3))[:, None]]
            peak = x.amax(dim=1)
            parts += [(peak > level).float().mean(dim=(1, 2))[:, None] for level in _STAT_LEVELS]
        return self.head(torch.cat(parts, dim=1))[:, 0]


def score_frames(model: QualityNet, frames: list[Tensor]) -> list[float]:
    """Predicted PU21-PSNR (dB) of each (3, H, W) cd/m² frame."""
    device = next(model.parameters()).device
    with torch.no_grad():
        batch = torch.stack([quality_input(f.to(device)) for f in frames])
        return model(batch).tolist()


def score_clip(path: str | Path, model: QualityNet, device: torch.device | str = "cpu") -> list[float]:
    """Predicted PU21-PSNR (dB) of every frame of an HDR clip or EXR sequence (no reference needed)."""
    from engine.metrics.evaluate import hdr_source  # the metrics' HDR reader, not needed at import

    model = model.to(device)
    return [score_frames(model, [frame])[0] for frame in hdr_source(path, device).frames]


def save_quality(model: QualityNet, config: dict[str, Any], folder: Path = MODELS_DIR,
                 name: str = QUALITY_MODEL) -> None:
    """Write NAME.safetensors, its checksum and NAME.json."""
    save_tensors(Path(folder) / f"{name}.safetensors", model.state_dict())
    write_json(Path(folder) / f"{name}.json",
               {"model": "quality", "width": model.width, "global_stats": model.global_stats, **config})


def load_quality(folder: Path = MODELS_DIR, name: str = QUALITY_MODEL) -> QualityNet:
    """The trained quality network from `folder`, in eval mode; bad files raise typed errors."""
    config_path = Path(folder) / f"{name}.json"
    config = read_json(config_path)
    if config.get("model") != "quality" or not isinstance(config.get("width"), int):
        raise FormatError("not a quality-model config", config_path)
    model = QualityNet(config["width"], global_stats=bool(config.get("global_stats", False)))
    weights = Path(folder) / f"{name}.safetensors"
    load_state(model, load_checked(weights), weights)
    return model.eval()


def heldout_spearman(folder: Path = MODELS_DIR, name: str = QUALITY_MODEL) -> float:
    """Spearman's rho between the score and the true PU21-PSNR on held-out TEST frames, as
    bench/train_quality.py recorded it beside the weights (a reader of the score should know it)."""
    config_path = Path(folder) / f"{name}.json"
    rho = read_json(config_path).get("heldout_spearman")
    if not isinstance(rho, int | float) or isinstance(rho, bool):
        raise FormatError("the quality-model config records no held-out Spearman correlation", config_path)
    return float(rho)
