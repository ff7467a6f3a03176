"""Synthetic frames for CRF estimation: HDR stills seen through a camera with a given response.

The camera follows engine.synth and engine.models.data: scene-linear BT.2020 -> the camera's
BT.709 primaries, an exposure that clips a chosen share of the pixels, Poissonian-Gaussian
sensor noise (engine.synth.degrade), the response, 8-bit quantisation.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.color.primaries import BT709, BT2020, convert_primaries
from engine.crf.curves import ResponseCurve
from engine.models.data import clipping_multiplier
from engine.synth.degrade import SensorNoise, add_sensor_noise, quantize_8bit


def camera_light(scene: Tensor) -> Tensor:
    """(3, H, W) or (N, 3, H, W) scene BT.2020 -> the camera's BT.709 sensor light, >= 0."""
    return convert_primaries(scene, BT2020, BT709).clamp_min(0.0)


def view(still: Tensor, width: int) -> Tensor:
    """The whole still as a camera of `width` pixels would see it (area averaging of light)."""
    _, h, w = still.shape
    size = (max(8, round(h * width / w)), width)
    return tnf.interpolate(still[None], size=size, mode="area")[0]


def exposure_for(camera: Tensor, clipped_share: float) -> float:
    """The multiplier that clips `clipped_share` of the pixels (at least the one that reaches 1)."""
    return clipping_multiplier(camera, max(clipped_share, 1e-4))


def record_curve(exposure: Tensor, curve: ResponseCurve, noise: SensorNoise | None,
                 generator: torch.Generator) -> Tensor:
    """Sensor exposure -> the 8-bit signal a camera with response `curve` records, in [0, 1]."""
    noisy = exposure if noise is None else add_sensor_noise(exposure, noise, generator)
    return quantize_8bit(curve.encode(noisy.clamp(0.0, 1.0)))
