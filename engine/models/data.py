"""Training data for the learned ITM networks, made from HDR stills with engine.synth's camera.

Single-frame patches (HighlightNet) follow Eilertsen et al., "HDR image reconstruction from a
single exposure using deep CNNs", ACM TOG 36(6), 2017, §5: random crops at random scales, a
random exposure that clips a random share of the crop, a random camera response (their sigmoid
CRF, sRGB or a gamma), sensor noise, 8-bit quantisation and, for half of them, JPEG compression.
Crops are chosen as in Santos et al. 2020 §4: among a few random candidates, one is drawn with
probability proportional to the texture inside its saturated region, so that the networks learn
from highlights with something to reconstruct rather than from flat sky.

Temporal examples (RefineNet) are whole frames of engine.synth shots, passed through the
classical temporal reconstructor, with the exact ground truth each frame's camera saw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.color import transfer as tf
from engine.color.luminance import luminance
from engine.color.primaries import BT709, BT2020, convert_primaries
from engine.frame import Frame, Space
from engine.metrics.align import robust_scale
from engine.metrics.regions import clipped_mask
from engine.models.refine import RefineNet
from engine.operators.base import StageContext
from engine.operators.catalogue import make_operator
from engine.synth import SynthSettings, make_response, plan_shot, render_shot
from engine.synth.degrade import SensorNoise, record
from engine.synth.render import load_still

if TYPE_CHECKING:
    from engine.pipeline import Pipeline
    from engine.temporal import TemporalReconstructor

# Held out of training entirely: TEST stills (bench/heldout_stills.py), a daylight city view
# and a sunset panorama, the two kinds of highlight (sun, sky, specular) the product meets most.
EVAL_STILLS = ("GoldenGate", "sunset")
# The display EOTFs an SDR source may be decoded with before it reaches an ITM operator.
DISPLAY_EOTFS = ("srgb", "bt1886")
_LOG_FLOOR = 1e-4


@dataclass(frozen=True)
class PatchSettings:
    """How single-frame training patches are drawn (Eilertsen 2017 §5, Santos 2020 §4)."""

    size: int = 64  # side of a patch in pixels
    count: int = 2048
    candidates: int = 6  # random crops scored per kept patch
    min_scale: float = 0.3  # output pixels per still pixel
    max_scale: float = 1.0
    clipped_share: tuple[float, float] = (0.03, 0.35)  # share of the crop the exposure clips
    jpeg_probability: float = 0.5
    jpeg_quality: tuple[int, int] = (60, 95)
    noise_gain: tuple[float, float] = (0.0, 4.0)  # x engine.synth's default sensor noise


@dataclass(frozen=True)
class PatchBank:
    """Training pairs: SDR display light (N, 3, s, s) BT.2020 and relative radiance (N, 3, s, s)."""

    sdr: Tensor
    radiance: Tensor

    def __len__(self) -> int:
        return self.sdr.shape[0]


def training_stills(folder: Path, held_out: Sequence[str] = EVAL_STILLS) -> list[Path]:
    """The stills used for training: every EXR in `folder` except the held-out ones."""
    return [p for p in sorted(Path(folder).glob("*.exr")) if p.stem not in held_out]


def texture_score(scene: Tensor, clipped: Tensor) -> float:
    """Mean gradient magnitude of log luminance inside the clipped region of a (3, h, w) crop
    (Santos 2020 §4 keep textured saturated patches); 0 when nothing is clipped."""
    log_y = torch.log(luminance(scene).clamp_min(_LOG_FLOOR))[0]
    gx = (log_y[:, 1:] - log_y[:, :-1]).abs()[:-1]
    gy = (log_y[1:] - log_y[:-1]).abs()[:, :-1]
    inside = clipped[0, :-1, :-1]
    area = float(inside.sum())
    return float(((gx + gy) * inside).sum()) / area if area else 0.0


def random_crop(still: Tensor, size: int, scale: float, rng: np.random.Generator) -> Tensor:
    """A (3, size, size) crop of a still seen at `scale` output pixels per still pixel."""
    _, height, width = still.shape
    side = min(height, width, max(size, round(size / scale)))
    top = int(rng.integers(0, height - side + 1))
    left = int(rng.integers(0, width - side + 1))
    crop = still[:, top : top + side, left : left + side]
    if side == size:
        return crop.clone()
    return tnf.interpolate(crop[None], size=(size, size), mode="area")[0]


def clipping_multiplier(camera: Tensor, clipped_share: float) -> float:
    """The exposure multiplier at which `clipped_share` of the pixels reach the sensor's clip."""
    peak = camera.amax(0).flatten()
    level = float(torch.quantile(peak, 1.0 - clipped_share))
    return 1.0 / max(level, 1e-6)


def jpeg(signal: Tensor, quality: int) -> Tensor:
    """8-bit JPEG round trip of a (3, H, W) signal in [0, 1] (OpenCV's libjpeg)."""
    codes = (signal.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()
    ok, data = cv2.imencode(".jpg", codes[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1].copy()
    return torch.from_numpy(decoded).permute(2, 0, 1).float() / 255.0


def display_light(signal: Tensor, eotf: str) -> Tensor:
    """An SDR signal decoded as the input transform would: display light, BT.709 -> BT.2020."""
    linear = tf.srgb_eotf(signal) if eotf == "srgb" else tf.bt1886_eotf(signal)
    return convert_primaries(linear, BT709, BT2020).clamp_min(0.0)


def camera_pair(scene: Tensor, rng: np.random.Generator, generator: torch.Generator,
                settings: PatchSettings) -> tuple[Tensor, Tensor, Tensor]:
    """One SDR exposure of a BT.2020 scene crop: (SDR display light, relative radiance, clipped).

    The radiance is the scene x the exposure multiplier, so 1.0 is the level the camera clipped at.
    """
    camera = convert_primaries(scene, BT2020, BT709).clamp_min(0.0)
    k = clipping_multiplier(camera, float(rng.uniform(*settings.clipped_share)))
    response = make_response(str(rng.choice(["srgb", "gamma", "sigmoid"])), rng)
    default = SensorNoise()
    gain = float(rng.uniform(*settings.noise_gain))
    noise = SensorNoise(default.shot * gain, default.read * gain) if gain > 0 else None
    signal = record(camera * k, response, noise, generator)
    if rng.random() < settings.jpeg_probability:
        signal = jpeg(signal, int(rng.integers(*settings.jpeg_quality, endpoint=True)))
    clipped = (camera * k).amax(0, keepdim=True) >= 1.0
    return display_light(signal, str(rng.choice(DISPLAY_EOTFS))), scene * k, clipped.float()


def make_patch_bank(stills: Sequence[Tensor], settings: PatchSettings, seed: int) -> PatchBank:
    """`settings.count` patches from scene-linear BT.2020 stills, reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    sdr, radiance = [], []
    for _ in range(settings.count):
        still = stills[int(rng.integers(len(stills)))]
        options = []
        for _ in range(settings.candidates):
            scale = math.exp(rng.uniform(math.log(settings.min_scale), math.log(settings.max_scale)))
            crop = random_crop(still, settings.size, scale, rng)
            options.append((crop, *camera_pair(crop, rng, generator, settings)))
        scores = np.array([texture_score(crop, clipped) for crop, _, _, clipped in options]) + 1e-3
        pick = int(rng.choice(len(options), p=scores / scores.sum()))
        sdr.append(options[pick][1])
        radiance.append(options[pick][2])
        if rng.random() < 0.5:
            sdr[-1], radiance[-1] = sdr[-1].flip(-1), radiance[-1].flip(-1)
    return PatchBank(torch.stack(sdr), torch.stack(radiance))


def load_stills(paths: Sequence[Path]) -> list[Tensor]:
    """Scene-linear BT.2020 stills (engine.synth's reader: NaN/Inf refused, negatives to 0)."""
    return [load_still(p) for p in paths]


@dataclass(frozen=True)
class TemporalExamples:
    """Frames of synthetic shots for RefineNet: features (N, REFINE_CHANNELS, H, W), the SDR
    display light (N, 3, H, W) and the true relative radiance (N, 3, H, W)."""

    features: Tensor
    linear: Tensor
    radiance: Tensor


def temporal_examples(still: Tensor, settings: SynthSettings, fallback: str = "bt2446a") -> TemporalExamples:
    """Every frame of one synthetic shot over `still`, reconstructed by the classical temporal
    stage with the `fallback` operator, as RefineNet inputs and targets (relative units:
    1.0 = each frame's SDR peak)."""
    from engine.temporal import TemporalParams, TemporalReconstructor

    plan = plan_shot(still, settings)
    frames = list(render_shot(still, plan, settings))
    # The camera wrote sRGB code values in BT.709; the input transform decodes them exactly.
    decoded = [Frame(display_light(f.sdr, "srgb"), Space.RELATIVE, f.sdr) for f in frames]
    reconstructor = TemporalReconstructor(
        source=lambda i: decoded[i], frame_count=len(decoded),
        # The recipe of the shipped weights, made before the shoulder correction was the default.
        params=TemporalParams(response="display"), fallback=make_operator("itm", fallback),
        context=StageContext(), primaries=BT709,
    )
    radiance = [f.scene * k for f, k in zip(frames, plan.multipliers, strict=True)]
    return _refine_examples(reconstructor, decoded, radiance)


def pipeline_examples(pipeline: Pipeline, truth: Sequence[Tensor]) -> TemporalExamples:
    """Every frame of a clip as `pipeline`'s temporal stage reconstructs it (the decode, response
    and fallback its grade sets), as RefineNet inputs and targets.

    `truth` is each frame's scene light at any scale. The target is the truth on the scale of the
    frame's decoded light, aligned by engine.metrics.align.robust_scale over the pixels the SDR
    frame did not clip, as the evaluation aligns it: where the declared transfer is not the
    camera's, that is the scale the network's untouched pixels are judged on.
    """
    if pipeline.temporal is None:
        raise ValueError("pipeline_examples needs a grade with the temporal mode on")
    reconstructor = pipeline.temporal.reconstructor
    decoded = [reconstructor.source(i) for i in range(reconstructor.frame_count)]
    scales = []
    for frame, scene in zip(decoded, truth, strict=True):
        assert frame.code is not None
        scales.append(robust_scale(frame.pixels, scene, 1.0 - clipped_mask(frame.code)))
    usable = [s for s in scales if math.isfinite(s)]
    if not usable:
        raise ValueError(f"{pipeline.clip.info.path}: no frame has unclipped pixels to align the truth on")
    # A frame with no usable pixel (clipped whole) takes the shot's median scale, not none.
    typical = float(np.median(usable))
    radiance = [scene * (s if math.isfinite(s) else typical) for scene, s in zip(truth, scales, strict=True)]
    return _refine_examples(reconstructor, decoded, radiance)


def _refine_examples(reconstructor: TemporalReconstructor, decoded: Sequence[Frame],
                     radiance: Sequence[Tensor]) -> TemporalExamples:
    """RefineNet's inputs for every frame the reconstructor holds (its analysis run here), given
    each frame as its source decodes it (decoded once by the caller), with `radiance` (relative
    units) as the targets."""
    net = RefineNet()
    white = reconstructor.context.reference_white
    reconstructor.analyse()
    outputs = [reconstructor.frame(i, frame) for i, frame in enumerate(decoded)]
    analysis = reconstructor.analysis
    features = []
    with torch.no_grad():
        for i, (nits, clues) in enumerate(outputs):
            linear = decoded[i].pixels[None]
            neighbours = [outputs[k][0][None] / white for k in analysis.neighbours(i) if k is not None]
            features.append(net.features((nits / white)[None], clues.confidence[None], linear,
                                         neighbours)[0])
    linear_frames = torch.stack([frame.pixels for frame in decoded])
    return TemporalExamples(torch.stack(features), linear_frames, torch.stack(list(radiance)))
