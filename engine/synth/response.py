"""Camera response functions (CRFs): sensor-linear exposure in [0, 1] -> recorded signal in [0, 1].

- srgb: the IEC 61966-2-1 sRGB encoding, what most consumer cameras approximate.
- gamma: a pure power law V = E^(1/gamma).
- sigmoid: the parametric CRF of Eilertsen et al., "HDR image reconstruction from a single
  exposure using deep CNNs", ACM TOG 36(6) (SIGGRAPH Asia 2017), section 5.2:
  f(E) = (1 + σ) E^n / (E^n + σ). It was fitted to the measured curves of the DoRF database
  (Grossberg and Nayar, "What is the space of camera response functions?", CVPR 2003) and its
  parameters are drawn as n ~ N(0.9, 0.1) and σ ~ N(0.6, 0.1) to vary cameras; f(0) = 0 and
  f(1) = 1 for every (n, σ). This is the "camera-like S-curve".
- bt709: the ITU-R BT.709 OETF, V = 1.099 E^0.45 - 0.099 above E = 0.018, 4.5 E below; the
  clip is what a BT.1886 display decodes with a 2.4 power law.
- filmic: J. Hable's filmic curve ("Filmic tonemapping operators", GDC 2010; the Uncharted 2
  constants A..F), exposure-scaled so that the sensor clip maps to 1.0, then the sRGB encoding:
  a film-like shoulder as in phones' and games' "filmic" looks.
- log: a pure log curve V = ln(1 + a E) / ln(1 + a), a = 2^10 (about ten stops over the code
  range, the shape of Cineon and camera log encodings without their offsets).

Every response has an exact inverse (`decode`), closed-form or, for filmic, by bisection on
the monotone forward curve in float64.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from engine.color import transfer as tf

RESPONSES = ("srgb", "gamma", "sigmoid", "bt709", "filmic", "log")


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


@dataclass(frozen=True)
class Bt709Response:
    """ITU-R BT.709 opto-electronic transfer function (Rec. 709, item 1.2), exact piecewise."""

    name = "bt709"

    def encode(self, exposure: Tensor) -> Tensor:
        return tf.bt709_oetf(exposure)

    def decode(self, signal: Tensor) -> Tensor:
        return tf.bt709_inverse_oetf(signal)

    def params(self) -> dict[str, Any]:
        return {}


# Hable's Uncharted 2 constants: shoulder strength, linear strength, linear angle, toe strength,
# toe numerator, toe denominator; and the exposure that maps the sensor clip to the curve's white.
_HABLE = (0.15, 0.50, 0.10, 0.20, 0.02, 0.30)
_HABLE_WHITE = 11.2


def _hable(x: Tensor) -> Tensor:
    a, b, c, d, e, f = _HABLE
    return ((x * (a * x + c * b) + d * e) / (x * (a * x + b) + d * f)) - e / f


@dataclass(frozen=True)
class FilmicResponse:
    """Hable's filmic curve, white at the sensor clip, then sRGB-encoded (see the module docstring)."""

    name = "filmic"

    def _curve(self, exposure: Tensor) -> Tensor:
        white = _hable(torch.tensor(_HABLE_WHITE, dtype=torch.float64))
        return _hable(exposure.clamp(0.0, 1.0) * _HABLE_WHITE) / white.to(exposure.dtype)

    def encode(self, exposure: Tensor) -> Tensor:
        return tf.srgb_inverse_eotf(self._curve(exposure))

    def decode(self, signal: Tensor) -> Tensor:
        target = tf.srgb_eotf(signal.double())
        low, high = torch.zeros_like(target), torch.ones_like(target)
        for _ in range(48):  # bisection: 2^-48 of the range, below float32 resolution
            middle = (low + high) / 2.0
            above = self._curve(middle) > target
            high = torch.where(above, middle, high)
            low = torch.where(above, low, middle)
        return ((low + high) / 2.0).to(signal.dtype)

    def params(self) -> dict[str, Any]:
        return {"hable": list(_HABLE), "white": _HABLE_WHITE}


@dataclass(frozen=True)
class LogResponse:
    """A pure log encoding V = ln(1 + a E) / ln(1 + a)."""

    a: float = 1024.0
    name = "log"

    def encode(self, exposure: Tensor) -> Tensor:
        return torch.log1p(self.a * exposure.clamp(0.0, 1.0)) / math.log1p(self.a)

    def decode(self, signal: Tensor) -> Tensor:
        return torch.expm1(signal.clamp(0.0, 1.0) * math.log1p(self.a)) / self.a

    def params(self) -> dict[str, Any]:
        return asdict(self)


CameraResponse = SrgbResponse | GammaResponse | SigmoidResponse | Bt709Response | FilmicResponse | LogResponse


def make_response(name: str, rng: np.random.Generator | None = None, gamma: float = 2.2) -> CameraResponse:
    """The CRF called `name`; a sigmoid is drawn from Eilertsen's distribution when `rng` is given;
    `gamma` is the power law's exponent."""
    if name == "srgb":
        return SrgbResponse()
    if name == "gamma":
        return GammaResponse(gamma)
    if name == "sigmoid":
        return SigmoidResponse.sample(rng) if rng is not None else SigmoidResponse()
    if name == "bt709":
        return Bt709Response()
    if name == "filmic":
        return FilmicResponse()
    if name == "log":
        return LogResponse()
    raise ValueError(f"unknown camera response {name!r}; expected one of {', '.join(RESPONSES)}")
