"""What the camera does to light after the lens: sensor noise, clipping, the CRF and 8-bit coding.

Noise follows the Poissonian-Gaussian model of Foi et al., "Practical Poissonian-Gaussian noise
modeling and fitting for single-image raw-data", IEEE TIP 17(10), 2008: a signal-dependent
(shot) part of variance a x E and a signal-independent (read) part of variance b, added to
sensor-linear exposure E with the Gaussian approximation of the Poisson part. The sensor then
saturates at 1, the camera response encodes, and the signal is rounded to 8-bit code values;
the H.264 encode that follows is the SDR writer's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from engine.synth.response import CameraResponse

SENSOR_CLIP = 1.0


@dataclass(frozen=True)
class SensorNoise:
    """Poissonian-Gaussian sensor noise; the defaults give about 3 % noise at mid-grey."""

    shot: float = 2e-4  # a: variance per unit of exposure
    read: float = 1e-6  # b: variance at black


def add_sensor_noise(exposure: Tensor, noise: SensorNoise, generator: torch.Generator) -> Tensor:
    """exposure + N(0, a E + b), the normal draws taken from a seeded CPU generator.

    Drawing on the CPU keeps a shot identical on every device for a given seed.
    """
    std = (noise.shot * exposure.clamp_min(0.0) + noise.read).sqrt()
    draws = torch.randn(exposure.shape, generator=generator, dtype=torch.float32)
    return exposure + std * draws.to(device=exposure.device, dtype=exposure.dtype)


def quantize_8bit(signal: Tensor) -> Tensor:
    """Round a [0, 1] signal to the nearest of the 256 8-bit code values (still in [0, 1])."""
    return torch.round(signal.clamp(0.0, 1.0) * 255.0) / 255.0


def record(exposure: Tensor, response: CameraResponse, noise: SensorNoise | None,
           generator: torch.Generator) -> Tensor:
    """Sensor-linear exposure (3, H, W) -> the 8-bit signal the camera records, in [0, 1]."""
    noisy = exposure if noise is None else add_sensor_noise(exposure, noise, generator)
    return quantize_8bit(response.encode(noisy.clamp(0.0, SENSOR_CLIP)))
