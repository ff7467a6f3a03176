"""Training of the CRF network (engine.crf.net) on synthetic frames; offline, seeded and resumable.

Two phases. First a data set: each example is a crop of a training still (random position and
scale, as engine.models.data draws them), exposed to clip a random share of its pixels, with
sensor noise, recorded through a random training curve (engine.crf.curves) or the geometric
mean of two of them (a point between them in the EMoR space, still monotone with the same
ends), quantised to 8 bits, and kept as its statistics (engine.crf.net.features) and its true
ln g. Batches are drawn from a generator seeded by (seed, batch), and the set is checkpointed
as it grows, so a resumed run makes exactly the set the uninterrupted run would.
Then the MLP: AdamW on minibatches of the set, the loss the error the estimate makes where it
matters, the RMS of ln g_est - ln g_true over signal values from code 8 up, plus a small term
on the normalised coefficients. A tenth of the crops is kept out of the set for a validation
loss (crops of the same training stills; the held-out stills are bench/crf.py's).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from torch import Tensor

from engine.crf.curves import ResponseCurve, signal_grid
from engine.crf.data import camera_light, exposure_for
from engine.crf.emor import ERROR_FROM_CODE, EmorBasis, log_inverse
from engine.crf.net import CROP, CrfNet, features
from engine.models.data import random_crop
from engine.models.weights import save_tensors
from engine.synth.degrade import SensorNoise, add_sensor_noise, quantize_8bit

_DENSE_EXPOSURES = 1 << 16


@dataclass(frozen=True)
class TrainSettings:
    batches: int = 450  # of `batch` examples each, for the data set
    batch: int = 64
    iterations: int = 4000  # MLP steps
    minibatch: int = 256
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    bank: int = 1500  # crops drawn from the stills once
    validation_share: float = 0.1
    min_scale: float = 0.3
    max_scale: float = 1.0
    clipped_share: tuple[float, float] = (0.0, 0.15)
    noise_gain: tuple[float, float] = (0.0, 3.0)
    mix_probability: float = 0.5
    coefficient_weight: float = 0.05
    checkpoint_every: int = 25  # batches


def crop_bank(stills: Sequence[Tensor], settings: TrainSettings, seed: int) -> Tensor:
    """(bank, 3, CROP, CROP) float16 camera light of random crops of the stills."""
    rng = np.random.default_rng(seed)
    crops = []
    for _ in range(settings.bank):
        still = stills[int(rng.integers(len(stills)))]
        scale = math.exp(rng.uniform(math.log(settings.min_scale), math.log(settings.max_scale)))
        crops.append(camera_light(random_crop(still, CROP, scale, rng)).half())
    return torch.stack(crops)


def draw_batch(bank: Tensor, curves: Sequence[ResponseCurve], settings: TrainSettings, seed: int,
               step: int) -> tuple[Tensor, Tensor]:
    """(signals (B, 3, CROP, CROP), true ln g (B, SAMPLES)) of batch `step`."""
    rng = np.random.default_rng([seed, step])
    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    grid = signal_grid()
    dense = np.linspace(0.0, 1.0, _DENSE_EXPOSURES)
    logs = log_inverse(torch.from_numpy(np.stack([c.inverse for c in curves])))
    signals, targets = [], []
    for _ in range(settings.batch):
        light = bank[int(rng.integers(bank.shape[0]))].float()
        if rng.random() < 0.5:
            light = light.flip(-1)
        i, j = rng.integers(len(curves), size=2)
        w = float(rng.uniform()) if rng.random() < settings.mix_probability else 1.0
        log_g = w * logs[i] + (1.0 - w) * logs[j]
        inverse = log_g.exp()
        inverse[0] = 0.0
        exposure = light * exposure_for(light, float(rng.uniform(*settings.clipped_share)))
        gain = float(rng.uniform(*settings.noise_gain))
        if gain > 0:
            noise = SensorNoise(SensorNoise().shot * gain, SensorNoise().read * gain)
            exposure = add_sensor_noise(exposure, noise, generator)
        # The forward curve tabled at _DENSE_EXPOSURES exposures: a gather is ten times faster than
        # interpolating the inverse at every pixel, and its step (1.5e-5) is far below one code.
        forward = torch.from_numpy(np.interp(dense, inverse.numpy(), grid)).float()
        index = (exposure.clamp(0.0, 1.0) * (_DENSE_EXPOSURES - 1)).round().long()
        signals.append(quantize_8bit(forward[index]))
        targets.append(log_g)
    return torch.stack(signals), torch.stack(targets)


def loss_fn(z: Tensor, target_log: Tensor, basis: EmorBasis, weight: float) -> Tensor:
    """Mean RMS ln-exposure error of the predicted curves from code ERROR_FROM_CODE up, plus
    `weight` x the squared error of the normalised coefficients."""
    coefficients = basis.coef_mean.float() + basis.coef_std.float() * z
    start = round(ERROR_FROM_CODE / 255.0 * (basis.mean.numel() - 1))
    log_g = basis.log_curve(coefficients)[:, start:]
    curve = (log_g - target_log[:, start:].float()).square().mean(1).sqrt().mean()
    z_true = (basis.project(target_log.exp()).float() - basis.coef_mean.float()) / basis.coef_std.float()
    return curve + weight * (z - z_true).square().mean()


def make_dataset(bank: Tensor, curves: Sequence[ResponseCurve], settings: TrainSettings, seed: int,
                 checkpoint: Path, log: Callable[[str], None], seconds: float) -> tuple[Tensor, Tensor]:
    """(features (N, FEATURES), true ln g (N, SAMPLES)), resumed from and saved to `checkpoint`."""
    stats, logs, start = [], [], 0
    if checkpoint.is_file():
        saved = load_file(checkpoint)
        stats, logs, start = [saved["features"]], [saved["log_inverse"]], int(saved["batches"])
        log(f"resumed the data set at batch {start}")
    t0 = time.perf_counter()
    for step in range(start, settings.batches):
        signals, targets = draw_batch(bank, curves, settings, seed, step)
        stats.append(features(signals))
        logs.append(targets.float())
        done = step + 1
        if done % settings.checkpoint_every == 0 or done == settings.batches:
            save_tensors(checkpoint, {"features": torch.cat(stats), "log_inverse": torch.cat(logs),
                                      "batches": torch.tensor([done])}, checksum=False)
            log(f"data set: {done} batches ({time.perf_counter() - t0:.0f} s)")
            if time.perf_counter() - t0 > seconds:
                log(f"stopped the data set at batch {done}: its time budget is spent")
                break
    return torch.cat(stats), torch.cat(logs)


def fit_network(train_set: tuple[Tensor, Tensor], validation: tuple[Tensor, Tensor], basis: EmorBasis,
                settings: TrainSettings, seed: int, log: Callable[[str], None]) -> tuple[CrfNet, list[float]]:
    """The MLP fitted to the data set; returns it and the validation loss every 500 steps."""
    torch.manual_seed(seed)
    x, y = train_set
    net = CrfNet(basis.size)
    net.feature_mean.copy_(x.mean(0))
    net.feature_std.copy_(x.std(0) + 1e-3)
    optimiser = torch.optim.AdamW(net.mlp.parameters(), lr=settings.learning_rate,
                                  weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, settings.iterations)
    generator = torch.Generator().manual_seed(seed)
    history: list[float] = []
    for step in range(settings.iterations):
        pick = torch.randint(0, x.shape[0], (settings.minibatch,), generator=generator)
        loss = loss_fn(net(x[pick]), y[pick], basis, settings.coefficient_weight)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if (step + 1) % 500 == 0:
            with torch.no_grad():
                history.append(float(loss_fn(net(validation[0]), validation[1], basis, 0.0)))
            log(f"step {step + 1}: train loss {float(loss):.4f}, validation RMS ln g {history[-1]:.4f}")
    return net.eval(), history


def train(stills: Sequence[Tensor], curves: Sequence[ResponseCurve], basis: EmorBasis,
          settings: TrainSettings, seed: int, checkpoint: Path, log: Callable[[str], None] = print,
          seconds: float = math.inf) -> tuple[CrfNet, list[float]]:
    """Make (or resume) the data set within `seconds`, then fit the network."""
    bank = crop_bank(stills, settings, seed)
    held = max(1, round(bank.shape[0] * settings.validation_share))
    validation_settings = replace(settings, batches=max(1, settings.batches // 10))
    validation = make_dataset(bank[:held], curves, validation_settings, seed + 1,
                              checkpoint.with_suffix(".validation.safetensors"), log, math.inf)
    train_set = make_dataset(bank[held:], curves, settings, seed, checkpoint, log, seconds)
    return fit_network(train_set, validation, basis, settings, seed, log)


def save_model(path: Path, net: CrfNet, basis: EmorBasis) -> None:
    """The shipped file: the network under net., the basis under emor., checksum recorded."""
    save_tensors(path, {**{f"net.{k}": v for k, v in net.state_dict().items()}, **basis.to_tensors()})
