"""Training data for the learned ITM networks, made from HDR stills with engine.synth's camera.

Single-frame patches (HighlightNet) follow Eilertsen et al., "HDR image reconstruction from a
single exposure using deep CNNs", ACM TOG 36(6), 2017, §5: random crops at random scales and a
random exposure that clips a random share of the crop. The camera is drawn the way
engine.synth.families draws a shot's camera (engine.synth.families.draw): a family, then its
response (exact sRGB, gamma 2.2/2.4, the BT.709 OETF, Hable's filmic curve, Eilertsen's S-curve,
a log curve), its sensor noise (none to high ISO) and its codec (H.264 or HEVC) at a CRF in the
family's range. The patches are encoded by that codec as the camera would (engine.synth.recording:
8-bit 4:2:0 BT.709), tiled into mosaic frames so that one encode serves many patches, and decoded
with the transfer the camera's metadata declares (engine.input_transform), not with the camera's
true curve: the network sees what the grade feeds it and learns to undo the mismatch in the
highlights. Its target is the patch's radiance on the scale of the decoded patch: the true
radiance times the robust scale that maps it onto the decoded light over the pixels the codec
left unclipped (engine.metrics.align.robust_scale, the alignment the evaluation applies to a
frame). Well-exposed pixels pass through the network as decoded, so highlights that continue
them must sit on their scale, not on the camera's: a log curve read as BT.1886 shows the
mid-tones about twice as bright as the sensor saw them, and its highlights must follow.
Crops are chosen as in Santos et al. 2020 §4: among a few random candidates, one is
drawn with probability proportional to the texture inside its saturated region, so that the
networks learn from highlights with something to reconstruct rather than from flat sky.

Temporal examples (RefineNet) are whole frames of engine.synth shots, passed through the
classical temporal reconstructor, with the exact ground truth each frame's camera saw.
"""

from __future__ import annotations

import math
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.color import transfer as tf
from engine.color.luminance import luminance
from engine.color.primaries import BT709, BT2020, convert_primaries
from engine.frame import Frame, Space
from engine.input_transform import InputTransform
from engine.io.open import open_clip
from engine.metrics.align import robust_scale
from engine.metrics.regions import clipped_mask
from engine.models.refine import RefineNet
from engine.models.unet import HighlightNet
from engine.operators.base import StageContext
from engine.operators.catalogue import make_operator
from engine.synth import SynthSettings, make_response, plan_shot, render_shot
from engine.synth.degrade import record
from engine.synth.families import FAMILIES, CameraShot, draw
from engine.synth.recording import open_recording
from engine.synth.render import load_still
from engine.synth.response import CameraResponse

# Held out of training entirely, for bench/learned_eval.py: a daylight city view and a sunset
# panorama, the two kinds of highlight (sun, sky, specular) the product meets most.
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
    families: tuple[str, ...] = tuple(FAMILIES)  # engine.synth.families, drawn uniformly per patch
    mosaic: int = 8  # patches per side of the frames the codec encodes


@dataclass(frozen=True)
class PatchBank:
    """Training pairs: SDR display light (N, 3, s, s) BT.2020 as the grade decodes it, and the
    radiance (N, 3, s, s) on that light's scale (see the module docstring)."""

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


def through_codec(signals: Sequence[Tensor], camera: CameraShot, mosaic: int) -> list[Tensor]:
    """(3, s, s) 8-bit code values as `camera`'s codec records and a decoder reads them back.

    The patches are tiled `mosaic` x `mosaic` into frames of one clip (engine.synth.recording at
    the camera's codec, CRF and preset); a patch's side being a multiple of 16 keeps it on whole
    macroblocks, so neighbours meet only at block edges, as regions of one frame do.
    """
    size = signals[0].shape[-1]
    per_frame = mosaic * mosaic
    frames = []
    for first in range(0, len(signals), per_frame):
        canvas = torch.zeros((3, mosaic * size, mosaic * size))
        for j, signal in enumerate(signals[first:first + per_frame]):
            row, column = divmod(j, mosaic)
            canvas[:, row * size:(row + 1) * size, column * size:(column + 1) * size] = signal
        frames.append(canvas)
    shot, side = camera.settings, mosaic * size
    with tempfile.TemporaryDirectory(prefix="lumigrade-patches-") as folder:
        path = Path(folder) / "patches.mp4"
        writer = open_recording(path, shot.codec, shot.video_crf, shot.video_preset, side, side, shot.fps)
        for canvas in frames:
            writer.write(canvas)
        writer.close()
        with open_clip(path) as clip:
            decoded = [signal for _, signal in clip.frames()]
    out = []
    for i in range(len(signals)):
        row, column = divmod(i % per_frame, mosaic)
        out.append(decoded[i // per_frame][:, row * size:(row + 1) * size, column * size:(column + 1) * size])
    return out


def declared_light(signal: Tensor, camera: CameraShot) -> Tensor:
    """Code values decoded as the grade does with the transfer the camera declares (BT.709
    primaries, to BT.2020): the display light an ITM operator receives."""
    source = InputTransform(camera.declared_transfer, camera.declared_gamma, BT709)
    return source.apply(signal).clamp_min(0.0)


def display_light(signal: Tensor, eotf: str) -> Tensor:
    """An SDR signal decoded as the input transform would: display light, BT.709 -> BT.2020."""
    linear = tf.srgb_eotf(signal) if eotf == "srgb" else tf.bt1886_eotf(signal)
    return convert_primaries(linear, BT709, BT2020).clamp_min(0.0)


def display_scale(light: Tensor, signal: Tensor, radiance: Tensor) -> float:
    """The scale that puts `radiance` on the scale of the decoded `light`, fitted over the pixels
    whose code values (`signal`) are not clipped (engine.metrics' alignment); 1 when none is."""
    scale = robust_scale(light, radiance, 1.0 - clipped_mask(signal))
    return 1.0 if math.isnan(scale) else scale


def camera_pair(scene: Tensor, camera: CameraShot, response: CameraResponse, rng: np.random.Generator,
                generator: torch.Generator, settings: PatchSettings) -> tuple[Tensor, Tensor, Tensor]:
    """One 8-bit exposure of a BT.2020 scene crop by `camera` with `response`, before its codec:
    (code values, relative radiance, clipped).

    The radiance is the scene x the exposure multiplier, so 1.0 is the level the camera clipped at.
    """
    light = convert_primaries(scene, BT2020, BT709).clamp_min(0.0)
    k = clipping_multiplier(light, float(rng.uniform(*settings.clipped_share)))
    signal = record(light * k, response, camera.settings.noise, generator)
    clipped = (light * k).amax(0, keepdim=True) >= 1.0
    return signal, scene * k, clipped.float()


def make_patch_bank(stills: Sequence[Tensor], settings: PatchSettings, seed: int) -> PatchBank:
    """`settings.count` patches from scene-linear BT.2020 stills, reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    signals, radiance, cameras = [], [], []
    for _ in range(settings.count):
        still = stills[int(rng.integers(len(stills)))]
        family = FAMILIES[settings.families[int(rng.integers(len(settings.families)))]]
        camera = draw(family, int(rng.integers(2**31)), 1, (settings.size, settings.size))
        response = make_response(camera.settings.crf, rng, camera.settings.gamma)
        options = []
        for _ in range(settings.candidates):
            scale = math.exp(rng.uniform(math.log(settings.min_scale), math.log(settings.max_scale)))
            crop = random_crop(still, settings.size, scale, rng)
            options.append((crop, *camera_pair(crop, camera, response, rng, generator, settings)))
        scores = np.array([texture_score(crop, clipped) for crop, _, _, clipped in options]) + 1e-3
        pick = int(rng.choice(len(options), p=scores / scores.sum()))
        flip = rng.random() < 0.5
        signals.append(options[pick][1].flip(-1) if flip else options[pick][1])
        radiance.append(options[pick][2].flip(-1) if flip else options[pick][2])
        cameras.append(camera)
    # One clip per codec setting: patches that share a codec and CRF are encoded together.
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, camera in enumerate(cameras):
        groups[(camera.settings.codec, camera.settings.video_crf)].append(i)
    sdr: list[Tensor] = [torch.empty(0)] * len(cameras)
    for key in sorted(groups):
        members = groups[key]
        recorded = through_codec([signals[i] for i in members], cameras[members[0]], settings.mosaic)
        for i, signal in zip(members, recorded, strict=True):
            sdr[i] = declared_light(signal, cameras[i])
            radiance[i] = radiance[i] * display_scale(sdr[i], signal, radiance[i])
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


def temporal_examples(still: Tensor, settings: SynthSettings, single_frame: HighlightNet,
                      fallback: str = "bt2446a") -> TemporalExamples:
    """Every frame of one synthetic shot over `still`, reconstructed by the classical temporal
    stage and by the single-frame network, as RefineNet inputs and targets (relative units:
    1.0 = each frame's SDR peak)."""
    from engine.temporal import TemporalParams, TemporalReconstructor

    net = RefineNet()
    plan = plan_shot(still, settings)
    frames = list(render_shot(still, plan, settings))
    # The camera wrote sRGB code values in BT.709; the input transform decodes them exactly.
    linear = [display_light(f.sdr, "srgb") for f in frames]
    ctx = StageContext()
    reconstructor = TemporalReconstructor(
        source=lambda i: Frame(linear[i], Space.RELATIVE, frames[i].sdr), frame_count=len(linear),
        params=TemporalParams(), fallback=make_operator("itm", fallback), context=ctx, primaries=BT709,
    )
    reconstructor.analyse()
    outputs = [reconstructor.frame(i) for i in range(len(linear))]
    analysis = reconstructor.analysis
    features = []
    with torch.no_grad():
        for i, (nits, clues) in enumerate(outputs):
            neighbours = [outputs[k][0][None] / ctx.reference_white
                          for k in analysis.neighbours(i) if k is not None]
            learned = single_frame.reconstruct(linear[i][None])
            features.append(net.features((nits / ctx.reference_white)[None], learned, clues.confidence[None],
                                         linear[i][None], neighbours)[0])
    radiance = [f.scene * k for f, k in zip(frames, plan.multipliers, strict=True)]
    return TemporalExamples(torch.stack(features), torch.stack(linear), torch.stack(radiance))
