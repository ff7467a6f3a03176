"""Training of the learned tone mapper (engine.models.tone_net) without SDR ground truth.

The objective is perceptual and needs only the HDR input: 1 - TMQI (engine.metrics.tmqi; Yeganeh
& Wang 2013) between each crop's HDR luminance and the SDR signal the network gives it, i.e. its
multi-scale local structure against the HDR's as an SDR display shows it, plus its naturalness;
and a flicker term on synthetic video: each example is a pair of frames of a pan (two crops of
the same still a few pixels apart), and the mean absolute difference of the SDR signal over the
pixels both frames see is penalised (the scene did not change there, so neither should the
picture; the stabilised key is shared as the pipeline's stabiliser would share it), and
optionally the flicker of engine.metrics.flicker between the two frames at the same pixel
positions, against the HDR scene's own change (`scene_flicker`).

Crops come from the tuning stills at several scales (the held-out TEST stills never enter:
engine.models.data.EVAL_STILLS); their exposure is irrelevant by construction, as the network
reads luminance relative to the log average. Sampling runs on a seeded torch.Generator saved in
every checkpoint (engine.models.train), so a resumed run continues the same sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.color.luminance import luminance
from engine.constants import SDR_REFERENCE_WHITE_NITS
from engine.metrics.pu21 import PU21_PEAK, pu21_encode
from engine.metrics.tmqi import tmqi_terms
from engine.models.tone_net import SDR_GAMMA, ToneNet, tone_signal
from engine.models.train import Log, TrainSettings, TrainState, optimise
from engine.stats import measure

# Output pixels per still pixel at which crops are drawn: detail at full size and whole-scene
# layouts at a third of it.
CROP_SCALES = (1.0, 0.7, 0.5, 0.35)
# A synthetic shot's auto exposure puts its key near 18% of reference white (engine.synth).
KEY_NITS = 0.18 * SDR_REFERENCE_WHITE_NITS
SDR_PEAK_NITS = 100.0
# TMQI's gradient has an infinite root at a zero local variance: a tiny variance floor.
VARIANCE_EPS = 1e-6


@dataclass(frozen=True)
class PanPairs:
    """Pairs of pan frames: luminance (N, 1, C, C) each, B shifted by (dy, dx) from A."""

    a: Tensor
    b: Tensor
    shifts: list[tuple[int, int]]


class CropSampler:
    """Luminance pyramids of the tuning stills and seeded draws of pan pairs from them."""

    def __init__(self, stills: Sequence[Tensor], crop: int, max_shift: int) -> None:
        self.crop = crop
        self.max_shift = max_shift
        need = crop + 2 * max_shift
        self.images: list[Tensor] = []
        for still in stills:
            y = luminance(still.clamp_min(0.0))[None]
            for scale in CROP_SCALES:
                h, w = round(y.shape[-2] * scale), round(y.shape[-1] * scale)
                if min(h, w) >= need:
                    self.images.append(y if scale == 1.0 else tnf.interpolate(y, size=(h, w), mode="area"))
        if not self.images:
            raise ValueError(f"no still is large enough for {crop}-pixel crops")

    def draw(self, count: int, generator: torch.Generator) -> PanPairs:
        a, b, shifts = [], [], []
        c, m = self.crop, self.max_shift
        for _ in range(count):
            image = self.images[int(torch.randint(len(self.images), (1,), generator=generator))]
            h, w = image.shape[-2:]
            y0 = m + int(torch.randint(h - c - 2 * m + 1, (1,), generator=generator))
            x0 = m + int(torch.randint(w - c - 2 * m + 1, (1,), generator=generator))
            dy, dx = (int(v) for v in torch.randint(-m, m + 1, (2,), generator=generator))
            flip = bool(torch.randint(2, (1,), generator=generator))
            first = image[0, :, y0:y0 + c, x0:x0 + c]
            second = image[0, :, y0 + dy:y0 + dy + c, x0 + dx:x0 + dx + c]
            if flip:
                first, second, dx = first.flip(-1), second.flip(-1), -dx
            a.append(first)
            b.append(second)
            shifts.append((dy, dx))
        return PanPairs(torch.stack(a), torch.stack(b), shifts)


def shared_overlap(va: Tensor, vb: Tensor, shift: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """The pixels of two (1, C, C) frames that show the same scene point, B shifted by (dy, dx)."""
    dy, dx = shift
    c_h, c_w = va.shape[-2:]
    ra = slice(max(dy, 0), c_h + min(dy, 0))
    ca = slice(max(dx, 0), c_w + min(dx, 0))
    rb = slice(max(-dy, 0), c_h + min(-dy, 0))
    cb = slice(max(-dx, 0), c_w + min(-dx, 0))
    return va[:, ra, ca], vb[:, rb, cb]


@dataclass(frozen=True)
class ToneTrainSettings(TrainSettings):
    """TrainSettings (stability_weight: the aligned pan flicker; warp_pixels: the largest pan
    step) and the weight of the unaligned flicker against the HDR scene's own change."""

    scene_flicker_weight: float = 0.0


def scene_flicker(va: Tensor, vb: Tensor, ya: Tensor, yb: Tensor, keys: Tensor) -> Tensor:
    """engine.metrics.flicker between two frames, per pixel position, divided by PU21_PEAK:
    |Δ PU21(SDR display light) - Δ PU21(HDR)|, the HDR exposed so its key sits at KEY_NITS (as a
    synthetic shot's auto exposure puts it) and the SDR on a SDR_PEAK_NITS display."""
    scale = (KEY_NITS / keys).view(-1, 1, 1, 1)
    shown = [pu21_encode(SDR_PEAK_NITS * v.clamp(0.0, 1.0) ** SDR_GAMMA) for v in (va, vb)]
    scene = [pu21_encode(y * scale) for y in (ya, yb)]
    return ((shown[1] - shown[0]) - (scene[1] - scene[0])).abs().mean() / PU21_PEAK


def pair_loss(net: ToneNet, pairs: PanPairs, flicker_weight: float,
              scene_flicker_weight: float = 0.0) -> tuple[Tensor, dict[str, float]]:
    """1 - mean TMQI over both frames of every pair + flicker_weight x mean |ΔV| on their overlap
    + scene_flicker_weight x `scene_flicker`."""
    keys = torch.tensor([measure(y).log_average for y in pairs.a], dtype=pairs.a.dtype)
    # One key per pair, as the pipeline's stabiliser holds it across consecutive frames.
    keys4 = keys.view(-1, 1, 1, 1)
    va = tone_signal(net, pairs.a, keys4)
    vb = tone_signal(net, pairs.b, keys4)
    y = torch.cat([pairs.a, pairs.b])[:, 0].double()
    v = torch.cat([va, vb])[:, 0].double() * 255.0
    q, s, n, _ = tmqi_terms(y, v, VARIANCE_EPS)
    differences = []
    for i, shift in enumerate(pairs.shifts):
        pa, pb = shared_overlap(va[i], vb[i], shift)
        differences.append((pa - pb).abs().mean())
    flicker = torch.stack(differences).mean()
    moved = scene_flicker(va, vb, pairs.a, pairs.b, keys)
    loss = (1.0 - q).mean() + flicker_weight * flicker + scene_flicker_weight * moved
    return loss, {"q": float(q.detach().mean()), "s": float(s.detach().mean()), "n": float(n.detach().mean()),
                  "flicker": float(flicker.detach()), "scene_flicker": float(moved.detach())}


def train_tone_net(net: ToneNet, sampler: CropSampler, settings: ToneTrainSettings,
                   checkpoints: Path | None = None, log: Log = print) -> TrainState:
    """Adam on `pair_loss` with `settings.batch` pairs a step and the cosine learning rate of
    engine.models.train; stops after `steps` or `max_minutes`, checkpoints and resumes like it."""
    def step_loss(generator: torch.Generator) -> tuple[Tensor, dict[str, float]]:
        return pair_loss(net, sampler.draw(settings.batch, generator), settings.stability_weight,
                         settings.scene_flicker_weight)

    return optimise(net, step_loss, settings, checkpoints, log)
