"""A no-reference quality score for HDR reconstructions: a small network that predicts, from the
graded frame and the SDR frame it was graded from, the full-reference PU21-PSNR (engine.metrics)
it would score against a ground truth nobody has for real footage.

After NoR-VDPNet (Banterle, Artusi, Moreo, Carrara, Gennaro, Amato, "NoR-VDPNet: a no-reference
high dynamic range quality metric trained on HDR-VDP 2", IEEE ICIP 2020), which regresses
HDR-VDP 2's Q from the distorted image; here the target is PU21-PSNR (Mantiuk and Azimi 2021) and
the training pairs come from engine.synth's cameras over the TUNING stills, reconstructed by every
single-frame operator and the temporal mode (bench/train_quality.py).

The regressor reads ten statistics instead of the pixels. A convolutional network on the
PU21-encoded frame (NoR-VDPNet's shape, shipped until 2026-12-07) ranked held-out frames at
Spearman 0.39: what the score varies with is mostly how much of the frame the camera clipped and
how far the reconstruction expanded it, which whole-frame statistics say directly and which a
network trained on eight stills did not learn to read from pixels (docs/evaluation.md,
"No-reference quality score"). The statistics: the frame reduced to 72x128 by area averaging and
PU21-encoded per channel (scaled to [0, 1] by the encoding's value at 10 000 cd/m², so they are
perceptually uniform absolute levels, as the metric's); their mean and standard deviation; the
share of pixels whose brightest channel lies above each of seven levels from 0.3 to 0.9 of that
scale; and the share of the source frame in the evaluation's highlight region (any channel at or
above CODEC_CLIP_BAND_START), the pixels the reconstruction had to invent or find elsewhere. The
eight shares enter as log10(share + SHARE_FLOOR): PSNR is -10 log10 of the mean squared error, and
where the error sits in the highlights that mean is their share times their error, so the score
is linear in the share's logarithm, not in the share (validation renders: Spearman 0.738 -> 0.78;
docs/evaluation.md, "No-reference quality score").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional as tnf

from engine.constants import CODEC_CLIP_BAND_START
from engine.errors import FormatError
from engine.masks import clipped_map
from engine.metrics.pu21 import PU21_MAX_NITS, pu21_encode
from engine.models.weights import MODELS_DIR, load_checked, load_state, read_json, save_tensors, write_json

QUALITY_MODEL = "quality_net"
INPUT_SIZE = (72, 128)  # (height, width) the graded frame is reduced to
_PU21_TOP = float(pu21_encode(torch.tensor(PU21_MAX_NITS)))
_SHARE_LEVELS = torch.linspace(0.3, 0.9, 7)  # of the PU21 scale, for the brightest channel
FEATURES = 2 + len(_SHARE_LEVELS) + 1
# Keeps a frame with no highlight finite. Floors from 1e-4 (one pixel of the 72x128 input) to 1e-2
# rank the validation renders alike (0.76-0.79); a thousandth of the frame is their middle.
SHARE_FLOOR = 1e-3
INPUTS = "statistics, log shares"  # what the config names, so weights of other inputs are refused


def quality_input(frame: Tensor) -> Tensor:
    """(3, H, W) BT.2020 cd/m² -> (3, 72, 128) PU21 values in [0, 1]."""
    small = tnf.interpolate(frame.float().clamp_min(0.0).unsqueeze(0), size=INPUT_SIZE, mode="area")[0]
    return pu21_encode(small) / _PU21_TOP


def quality_features(frame: Tensor, source: Tensor) -> Tensor:
    """A graded (3, H, W) cd/m² frame and its SDR source's (3, h, w) code values -> (FEATURES,)
    statistics: PU21 mean and deviation, then log10(share + SHARE_FLOOR) of the shares above the
    seven levels and of the source's highlight share."""
    x = quality_input(frame)
    brightest = x.amax(dim=0).flatten()
    shares = (brightest[None] > _SHARE_LEVELS.to(x.device)[:, None]).float().mean(dim=1)
    highlight = clipped_map(source.float(), CODEC_CLIP_BAND_START).float().mean()
    logs = torch.log10(torch.cat([shares, highlight[None].to(x.device)]) + SHARE_FLOOR)
    return torch.cat([x.mean()[None], x.std()[None], logs])


class QualityNet(nn.Module):
    """Standardised statistics (quality_features) -> one hidden layer -> predicted PU21-PSNR (dB)."""

    def __init__(self, hidden: int = 16) -> None:
        super().__init__()
        self.hidden = hidden
        # The training set's feature mean and deviation, so the weights see unit-scale inputs.
        self.register_buffer("feature_mean", torch.zeros(FEATURES))
        self.register_buffer("feature_std", torch.ones(FEATURES))
        self.head = nn.Sequential(nn.Linear(FEATURES, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, features: Tensor) -> Tensor:
        """(N, FEATURES) statistics -> (N,) predicted PU21-PSNR in dB."""
        return self.head((features - self.feature_mean) / self.feature_std)[:, 0]


def score_frames(model: QualityNet, frames: Sequence[Tensor], sources: Sequence[Tensor]) -> list[float]:
    """Predicted PU21-PSNR (dB) of each graded (3, H, W) cd/m² frame, given its SDR source frame."""
    if len(frames) != len(sources):
        raise ValueError(f"{len(frames)} graded frames but {len(sources)} source frames")
    device = next(model.parameters()).device
    with torch.no_grad():
        batch = torch.stack([quality_features(f.to(device), s.to(device))
                             for f, s in zip(frames, sources, strict=True)])
        return model(batch).tolist()


def score_clip(path: str | Path, sdr: str | Path, model: QualityNet, device: torch.device | str = "cpu"
               ) -> list[float]:
    """Predicted PU21-PSNR (dB) of every frame of an HDR clip or EXR sequence, graded from the SDR
    clip `sdr` (no reference needed); the two must hold the same number of frames."""
    from engine.metrics.evaluate import hdr_source, sdr_source  # the metrics' readers, not needed at import

    graded, source = hdr_source(path, device), sdr_source(sdr, device)
    if graded.count != source.count:
        raise FormatError(f"holds {graded.count} frames but the SDR clip {source.path} holds {source.count}",
                          graded.path)
    model = model.to(device)
    return [score_frames(model, [f], [s])[0] for f, s in zip(graded.frames, source.frames, strict=True)]


def save_quality(model: QualityNet, config: dict[str, Any], folder: Path = MODELS_DIR,
                 name: str = QUALITY_MODEL) -> None:
    """Write NAME.safetensors, its checksum and NAME.json."""
    save_tensors(Path(folder) / f"{name}.safetensors", model.state_dict())
    write_json(Path(folder) / f"{name}.json",
               {"model": "quality", "inputs": INPUTS, "hidden": model.hidden, **config})


def load_quality(folder: Path = MODELS_DIR, name: str = QUALITY_MODEL) -> QualityNet:
    """The trained quality network from `folder`, in eval mode; bad files raise typed errors."""
    config_path = Path(folder) / f"{name}.json"
    config = read_json(config_path)
    if (config.get("model") != "quality" or config.get("inputs") != INPUTS
            or not isinstance(config.get("hidden"), int)):
        raise FormatError(f"not a quality-model config ({INPUTS} inputs)", config_path)
    model = QualityNet(config["hidden"])
    weights = Path(folder) / f"{name}.safetensors"
    load_state(model, load_checked(weights), weights)
    return model.eval()


class HeldoutFigures(NamedTuple):
    """How far the score can be trusted, measured on held-out TEST frames."""

    spearman: float  # rank correlation with the true PU21-PSNR
    rmse_db: float  # root-mean-square error of the predicted PU21-PSNR

    def describe(self) -> str:
        """'rank correlation 0.78, RMS error 6.1 dB'."""
        return f"rank correlation {self.spearman:.2f}, RMS error {self.rmse_db:.1f} dB"


def heldout_figures(folder: Path = MODELS_DIR, name: str = QUALITY_MODEL) -> HeldoutFigures:
    """Spearman's rho and the RMSE against the true PU21-PSNR on held-out TEST frames, as
    bench/train_quality.py recorded them beside the weights (a reader of the score should know
    both: the order of frames it gets right, and how many dB one estimate may be off)."""
    config_path = Path(folder) / f"{name}.json"
    config = read_json(config_path)
    figures = []
    for key, what in (("heldout_spearman", "Spearman correlation"), ("heldout_rmse_db", "RMSE")):
        value = config.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool) or value != value:
            raise FormatError(f"the quality-model config records no held-out {what} ({key})", config_path)
        figures.append(float(value))
    return HeldoutFigures(*figures)
