"""Camera response functions (CRFs): sensor-linear exposure in [0, 1] -> recorded signal in [0, 1].

- srgb: the IEC 61966-2-1 sRGB encoding, what most consumer cameras approximate.
- gamma: a pure power law V = E^(1/gamma).
- sigmoid: the parametric CRF of Eilertsen et al., "HDR image reconstruction from a single
  exposure using deep CNNs", ACM TOG 36(6) (SIGGRAPH Asia 2017), section 5.2:
  f(E) = (1 + σ) E^n / (E^n + σ). It was fitted to the measured curves of the DoRF database
  (Grossberg and Nayar, "What is the space of camera response functions?", CVPR 2003) and its
  parameters are drawn as n ~ N(0.9, 0.1) and σ ~ N(0.6, 0.1) to vary cameras; f(0) = 0 and
  f(1) = 1 for every (n, σ).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from torch import Tensor

from engine.color import transfer as tf

RESPONSES = ("srgb", "gamma", "sigmoid")


@dataclass(frozen=True)
class SrgbResponse:
    """IEC 61966-2-1 sRGB encoding as a camera response."""

    name = "srgb"

    def encode(self, exposure: Tensor) -> Tensor:
        return tf.srgb_inverse_eotf(exposure)

    def decode(self, signal: Tensor) -> Tensor:
        return tf.srgb_eotf(signal)

    def params(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class GammaResponse:
    """Power-law camera response V = E^(1/gamma)."""

    gamma: float = 2.2
    name = "gamma"

    def encode(self, exposure: Tensor) -> Tensor:
        return tf.gamma_inverse_eotf(exposure, self.gamma)

    def decode(self, signal: Tensor) -> Tensor:
        return tf.gamma_eotf(signal, self.gamma)

    def params(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SigmoidResponse:
    """Eilertsen et al. 2017 sigmoid CRF f(E) = (1 + σ) E^n / (E^n + σ); defaults are the means."""

    n: float = 0.9
    sigma: float = 0.6
    name = "sigmoid"

    @classmethod
    def sample(cls, rng: np.random.Generator) -> SigmoidResponse:
        """A random camera, n ~ N(0.9, 0.1) in [0.2, 2.5], σ ~ N(0.6, 0.1) in [0, 5] (Eilertsen 2017)."""
        return cls(n=float(np.clip(rng.normal(0.9, 0.1), 0.2, 2.5)),
                   sigma=float(np.clip(rng.normal(0.6, 0.1), 1e-3, 5.0)))

    def encode(self, exposure: Tensor) -> Tensor:
        en = exposure.clamp(0.0, 1.0) ** self.n
        return (1.0 + self.sigma) * en / (en + self.sigma)

    def decode(self, signal: Tensor) -> Tensor:
        v = signal.clamp(0.0, 1.0)
        return (self.sigma * v / (1.0 + self.sigma - v)) ** (1.0 / self.n)

    def params(self) -> dict[str, Any]:
        return asdict(self)


CameraResponse = SrgbResponse | GammaResponse | SigmoidResponse


def make_response(name: str, rng: np.random.Generator | None = None) -> CameraResponse:
    """The CRF called `name`; a sigmoid is drawn from Eilertsen's distribution when `rng` is given."""
    if name == "srgb":
        return SrgbResponse()
    if name == "gamma":
        return GammaResponse()
    if name == "sigmoid":
        return SigmoidResponse.sample(rng) if rng is not None else SigmoidResponse()
    raise ValueError(f"unknown camera response {name!r}; expected one of {', '.join(RESPONSES)}")
