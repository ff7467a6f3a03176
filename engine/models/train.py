"""Training loop of the learned ITM networks: losses, batches, resumable checkpoints.

Losses, in the log domain ŷ = log(1 + H) where the networks predict (Santos et al. 2020 train
their reconstruction term there too), over the over-exposed pixels (1 - M) only, since the
others pass through exactly:
- L1 of ŷ against log(1 + H_true);
- L1 of its horizontal and vertical finite differences (a gradient term: edges of highlights);
- for RefineNet, the stability regulariser of Eilertsen, Mantiuk and Unger, "Single-frame
  Regularization for Temporally Stable CNNs", CVPR 2019, eq. 5: the output of a slightly warped
  input should be the warped output, ||f(W(x)) - W(f(x))||_1, with W a small random similarity
  transform standing in for the motion between frames.

Checkpoints are safetensors (model, Adam moments, torch RNG state) plus JSON (step, settings,
history); nothing is pickled, and a run resumed from a checkpoint continues the same sequence of
batches. Training stops by itself after `steps` or `max_minutes`, whichever comes first.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as tnf

from engine.models.refine import RefineNet
from engine.models.unet import HighlightNet
from engine.models.weights import load_checked, load_state, read_json, save_tensors, write_json

CHECKPOINT_NAME = "checkpoint"
Log = Callable[[str], None]


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings of one training run (saved into the model's config JSON)."""

    steps: int = 3000
    batch: int = 8
    crop: int = 64  # side of the training crops in pixels
    learning_rate: float = 2e-3
    final_learning_rate: float = 1e-4  # cosine decay (Loshchilov and Hutter, SGDR, ICLR 2017)
    # Largest gradient L2 norm, 0 = no clipping (Pascanu, Mikolov & Bengio, "On the difficulty of
    # training recurrent neural networks", ICML 2013): one batch of extreme highlights must not
    # throw Adam off, as it did at step 7050 of a 40k-step HighlightNet run at 2e-3.
    clip_norm: float = 0.0
    gradient_weight: float = 1.0
    stability_weight: float = 0.0  # Eilertsen 2019 regulariser; RefineNet uses it
    warp_pixels: float = 2.0  # largest shift of the stability warp
    warp_degrees: float = 1.0
    warp_zoom: float = 0.02
    seed: int = 0
    max_minutes: float = 12.0
    checkpoint_every: int = 100
    log_every: int = 50


@dataclass(frozen=True)
class Examples:
    """What a network trains on: its inputs (N, C, H, W), the SDR display light (N, 3, H, W) and
    the true relative radiance (N, 3, H, W). For HighlightNet the inputs are the display light."""

    inputs: Tensor
    linear: Tensor
    radiance: Tensor

    def batch(self, size: int, crop: int, generator: torch.Generator) -> Examples:
        """`size` random crops of `crop` pixels, randomly flipped and rotated by multiples of 90°."""
        n, _, h, w = self.inputs.shape
        crop = min(crop, h, w)
        picks = torch.randint(0, n, (size,), generator=generator).tolist()
        tops = torch.randint(0, h - crop + 1, (size,), generator=generator).tolist()
        lefts = torch.randint(0, w - crop + 1, (size,), generator=generator).tolist()
        turns = torch.randint(0, 8, (size,), generator=generator).tolist()
        out: list[list[Tensor]] = [[], [], []]
        for i, top, left, turn in zip(picks, tops, lefts, turns, strict=True):
            for store, source in zip(out, (self.inputs, self.linear, self.radiance), strict=True):
                piece = source[i, :, top : top + crop, left : left + crop]
                piece = piece.flip(-1) if turn & 4 else piece
                store.append(torch.rot90(piece, turn & 3, dims=(-2, -1)))
        return Examples(*(torch.stack(s) for s in out))


def over_exposed(model: nn.Module, batch: Examples) -> Tensor:
    """(N, 1, H, W) share of each pixel the network is responsible for, 1 - M."""
    if isinstance(model, RefineNet):
        return 1.0 - RefineNet.mask_of(batch.inputs)
    assert isinstance(model, HighlightNet)
    return 1.0 - model.inputs(batch.linear)[1]


def _weighted_l1(a: Tensor, b: Tensor, weight: Tensor) -> Tensor:
    return ((a - b).abs() * weight).sum() / (weight.sum() * a.shape[1]).clamp_min(1.0)


def reconstruction_loss(log_radiance: Tensor, radiance: Tensor, weight: Tensor,
                        gradient_weight: float) -> Tensor:
    """L1 in log(1 + H) plus `gradient_weight` x L1 of its finite differences, weighted by (N, 1, H, W)."""
    target = torch.log1p(radiance.clamp_min(0.0))
    loss = _weighted_l1(log_radiance, target, weight)
    if gradient_weight > 0.0:
        # A difference counts where both of its pixels are the network's to predict.
        wx = torch.minimum(weight[..., 1:], weight[..., :-1])
        wy = torch.minimum(weight[..., 1:, :], weight[..., :-1, :])
        loss = loss + gradient_weight * (
            _weighted_l1(log_radiance.diff(dim=-1), target.diff(dim=-1), wx)
            + _weighted_l1(log_radiance.diff(dim=-2), target.diff(dim=-2), wy)
        )
    return loss


def random_warp(batch: int, settings: TrainSettings, size: tuple[int, int], generator: torch.Generator,
                device: torch.device) -> Tensor:
    """(N, H, W, 2) sampling grids of small random similarity transforms (Eilertsen 2019 §3.2)."""
    h, w = size
    u = torch.rand((batch, 4), generator=generator) * 2.0 - 1.0
    angle = u[:, 0] * math.radians(settings.warp_degrees)
    zoom = 1.0 + u[:, 1] * settings.warp_zoom
    shift_x = u[:, 2] * settings.warp_pixels * 2.0 / w
    shift_y = u[:, 3] * settings.warp_pixels * 2.0 / h
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, shift_x], 1), torch.stack([sin, cos, shift_y], 1)], 1)
    return tnf.affine_grid(theta.to(device), [batch, 1, h, w], align_corners=False)


def warp_batch(x: Tensor, grid: Tensor) -> Tensor:
    return tnf.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def stability_loss(model: nn.Module, batch: Examples, log_radiance: Tensor, weight: Tensor,
                   settings: TrainSettings, generator: torch.Generator) -> Tensor:
    """Eilertsen 2019 eq. 5: || f(W(x)) - W(f(x)) ||_1 over the warped over-exposed region."""
    grid = random_warp(batch.inputs.shape[0], settings, tuple(batch.inputs.shape[-2:]), generator,
                       batch.inputs.device)
    warped = Examples(warp_batch(batch.inputs, grid), warp_batch(batch.linear, grid), batch.radiance)
    return _weighted_l1(model(warped.inputs), warp_batch(log_radiance, grid), over_exposed(model, warped))


def training_loss(model: nn.Module, batch: Examples, settings: TrainSettings,
                  generator: torch.Generator) -> Tensor:
    weight = over_exposed(model, batch)
    log_radiance = model(batch.inputs)
    loss = reconstruction_loss(log_radiance, batch.radiance, weight, settings.gradient_weight)
    if settings.stability_weight > 0.0:
        loss = loss + settings.stability_weight * stability_loss(model, batch, log_radiance, weight,
                                                                 settings, generator)
    return loss


def learning_rate(step: int, settings: TrainSettings) -> float:
    """Cosine decay from the initial to the final learning rate over `settings.steps`."""
    t = min(1.0, step / max(settings.steps, 1))
    lo, hi = settings.final_learning_rate, settings.learning_rate
    return lo + 0.5 * (hi - lo) * (1.0 + math.cos(math.pi * t))


@dataclass
class TrainState:
    """Where a run stands: the step reached, wall time spent, and the loss history."""

    step: int = 0
    seconds: float = 0.0
    history: list[tuple[int, float]] | None = None


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, Tensor], dict[str, Any]]:
    state = optimizer.state_dict()
    tensors = {f"optim.{index}.{key}": value for index, entry in state["state"].items()
               for key, value in entry.items()}
    return tensors, {"param_groups": state["param_groups"]}


def save_checkpoint(folder: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                    generator: torch.Generator, state: TrainState, settings: TrainSettings) -> None:
    """checkpoint.safetensors (model, Adam moments, RNG states) + checkpoint.json, written atomically."""
    optim_tensors, optim_json = _optimizer_tensors(optimizer)
    tensors = {**{f"model.{k}": v for k, v in model.state_dict().items()}, **optim_tensors,
               "rng.torch": torch.get_rng_state(), "rng.batches": generator.get_state()}
    save_tensors(folder / f"{CHECKPOINT_NAME}.safetensors", tensors)
    write_json(folder / f"{CHECKPOINT_NAME}.json", {
        "step": state.step, "seconds": state.seconds, "history": state.history or [],
        "settings": asdict(settings), **optim_json,
    })


def load_checkpoint(folder: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                    generator: torch.Generator) -> TrainState:
    """Restore a run saved by `save_checkpoint` (checksum-verified); returns where it stood."""
    meta = read_json(folder / f"{CHECKPOINT_NAME}.json")
    path = folder / f"{CHECKPOINT_NAME}.safetensors"
    tensors = load_checked(path)
    load_state(model, {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, path)
    entries: dict[int, dict[str, Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            entries.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": entries, "param_groups": meta["param_groups"]})
    torch.set_rng_state(tensors["rng.torch"])
    generator.set_state(tensors["rng.batches"])
    history = [(int(s), float(v)) for s, v in meta["history"]]
    return TrainState(int(meta["step"]), float(meta["seconds"]), history)


StepLoss = Callable[[torch.Generator], tuple[Tensor, dict[str, float]]]
"""One training step's loss, drawn with the run's generator, and named terms to log beside it."""


def train(model: nn.Module, examples: Examples, settings: TrainSettings, checkpoints: Path | None = None,
          log: Log = print) -> TrainState:
    """Optimise `model` on `examples` with Adam; resume from `checkpoints` when it holds a run.

    Stops after `settings.steps` steps or `settings.max_minutes` of wall time (summed over
    resumed runs); returns the final state with the mean loss of every `log_every` steps.
    """
    def step_loss(generator: torch.Generator) -> tuple[Tensor, dict[str, float]]:
        batch = examples.batch(settings.batch, settings.crop, generator)
        return training_loss(model, batch, settings, generator), {}

    return optimise(model, step_loss, settings, checkpoints, log)


def optimise(model: nn.Module, step_loss: StepLoss, settings: TrainSettings, checkpoints: Path | None = None,
             log: Log = print) -> TrainState:
    """The resumable training loop every network here shares: Adam with the cosine learning rate,
    seeded, checkpointed every `checkpoint_every` steps and resumed from `checkpoints` exactly.

    Logs a JSON line of the mean loss and terms every `log_every` steps.
    """
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    state = TrainState(history=[])
    if checkpoints is not None and (checkpoints / f"{CHECKPOINT_NAME}.json").is_file():
        state = load_checkpoint(checkpoints, model, optimizer, generator)
        log(f"resumed at step {state.step} ({state.seconds / 60:.1f} min)")
    model.train()
    started = time.perf_counter() - state.seconds
    running: list[dict[str, float]] = []
    while state.step < settings.steps and (time.perf_counter() - started) < settings.max_minutes * 60.0:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(state.step, settings)
        loss, terms = step_loss(generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if settings.clip_norm > 0.0:
            nn.utils.clip_grad_norm_(model.parameters(), settings.clip_norm)
        optimizer.step()
        state.step += 1
        running.append({"loss": float(loss.detach()), **terms})
        logging = state.step % settings.log_every == 0 or state.step == settings.steps
        if logging:
            mean = {k: sum(r[k] for r in running) / len(running) for k in running[0]}
            running.clear()
            assert state.history is not None
            state.history.append((state.step, mean["loss"]))
        # The checkpoint comes before the log line: a run killed while logging resumes from here.
        if checkpoints is not None and state.step % settings.checkpoint_every == 0:
            state.seconds = time.perf_counter() - started
            save_checkpoint(checkpoints, model, optimizer, generator, state, settings)
        if logging:
            log(json.dumps({"step": state.step, **{k: round(v, 5) for k, v in mean.items()},
                            "minutes": round((time.perf_counter() - started) / 60.0, 2)}))
    state.seconds = time.perf_counter() - started
    if checkpoints is not None:
        save_checkpoint(checkpoints, model, optimizer, generator, state, settings)
    model.eval()
    return state
