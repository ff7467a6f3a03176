"""Documented camera response curves, split into the curves that build the model and the held-out ones.

A response f maps sensor-linear exposure E in [0, 1] (1 = the sensor's clip) to the recorded
signal V in [0, 1], monotone with f(0) = 0 and f(1) = 1. Each curve is stored as its inverse
g = f⁻¹ sampled at SAMPLES evenly spaced signal values, the representation of the EMoR model
(Grossberg & Nayar, "Modeling the space of camera response functions", PAMI 26(10), 2004).

The families and their sources:
- sRGB: IEC 61966-2-1:1999 encoding.
- BT.709: the ITU-R BT.709-6 OETF, alone and with a broadcast camera's knee (the signal above
  the knee point compressed so that `latitude` times the nominal white reaches V = 1).
- power laws V = E^(1/γ), γ 1.8 to 2.6.
- the sigmoid of Eilertsen et al., "HDR image reconstruction from a single exposure using deep
  CNNs", ACM TOG 36(6), 2017, §5.2: f(E) = (1 + σ) Eⁿ / (Eⁿ + σ).
- filmic S-curves with toe and shoulder followed by the sRGB encoding, the way phone cameras
  tone-map: Narkowicz's fit of the ACES reference rendering (2015) and Hable's Uncharted 2
  curve (GDC 2010), with the white point at `white` times the sensor's clip.
- camera log encodings (Sony S-Log3 etc., as implemented by colour-science from the makers'
  white papers), over six stops above mid grey, normalised to [0, 1].

Training curves and held-out curves share no member: the held-out set holds families the
model never sees (Hable's filmic curve, Sony S-Log2, Nikon N-Log, a knee setting outside the
training grid) and power laws and sigmoids at parameters outside the training draws; each lies
more than 0.1 RMS in ln exposure from every training curve (RED Log3G10, 0.02 from F-Log once
normalised, was dropped from the held-out set for that reason). These
curves are used offline (model building, training, benchmarks); colour-science is a test
dependency, imported only where a log curve is made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from engine.color import transfer

SAMPLES = 1024  # signal values at which an inverse response is stored (as in EMoR)
_DENSE = 1 << 16  # exposure samples used to invert a forward curve
LOG_STOPS_ABOVE_GREY = 6.0  # exposure latitude of the normalised log curves
MID_GREY = 0.18


@dataclass(frozen=True)
class ResponseCurve:
    """One camera response as its inverse g sampled at `signal_grid()`; `source` cites it."""

    name: str
    source: str
    inverse: np.ndarray  # (SAMPLES,) float64, g(0) = 0, g(1) = 1, non-decreasing

    def encode(self, exposure: Tensor) -> Tensor:
        """Exposure in [0, 1] -> signal, linear between the samples of the inverse (whose own
        application is engine.temporal.crf.linearise)."""
        return interpolate(exposure, torch.from_numpy(self.inverse), torch.from_numpy(signal_grid()))


def signal_grid() -> np.ndarray:
    return np.linspace(0.0, 1.0, SAMPLES)


def interpolate(x: Tensor, xs: Tensor, ys: Tensor) -> Tensor:
    """Piecewise-linear y(x) through the points (xs, ys), xs non-decreasing; x clamped to the ends."""
    xs = xs.to(device=x.device, dtype=x.dtype)
    ys = ys.to(device=x.device, dtype=x.dtype)
    flat = x.reshape(-1).clamp(xs[0], xs[-1])
    upper = torch.searchsorted(xs, flat).clamp(1, xs.numel() - 1)
    x0, x1 = xs[upper - 1], xs[upper]
    t = ((flat - x0) / (x1 - x0).clamp_min(1e-12)).clamp(0.0, 1.0)
    return (ys[upper - 1] + t * (ys[upper] - ys[upper - 1])).reshape(x.shape)


def from_forward(name: str, source: str, forward: Callable[[np.ndarray], np.ndarray]) -> ResponseCurve:
    """Invert a forward response sampled densely (log-spaced exposures, for the steep toes)."""
    exposure = np.concatenate([[0.0], np.geomspace(1e-7, 1.0, _DENSE)])
    signal = np.asarray(forward(exposure), dtype=np.float64)
    signal = (signal - signal[0]) / (signal[-1] - signal[0])
    signal = np.maximum.accumulate(signal)
    inverse = np.interp(signal_grid(), signal, exposure)
    inverse[0], inverse[-1] = 0.0, 1.0
    return ResponseCurve(name, source, np.maximum.accumulate(inverse))


def srgb_oetf(e: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB encoding (engine.color.transfer) of float64 exposure in [0, 1]."""
    return transfer.srgb_inverse_eotf(torch.from_numpy(np.asarray(e, dtype=np.float64))).numpy()


def bt709_oetf(e: np.ndarray) -> np.ndarray:
    """ITU-R BT.709-6 OETF (engine.color.transfer), continued above 1 for the knee curves."""
    return transfer.bt709_camera_oetf(torch.from_numpy(np.asarray(e, dtype=np.float64))).numpy()


def gamma(g: float) -> ResponseCurve:
    return from_forward(f"gamma {g:.2f}", "power law", lambda e: e ** (1.0 / g))


def sigmoid(n: float, sigma: float) -> ResponseCurve:
    return from_forward(f"sigmoid n={n:.2f} s={sigma:.2f}", "Eilertsen et al. 2017 §5.2",
                        lambda e: (1.0 + sigma) * e**n / (e**n + sigma))


def bt709_knee(knee: float, latitude: float) -> ResponseCurve:
    """BT.709 with a knee: `latitude` x nominal white reaches V = 1, compressed above `knee`."""
    top = float(bt709_oetf(np.array(latitude)))
    slope = (1.0 - knee) / (top - knee)

    def forward(e: np.ndarray) -> np.ndarray:
        v = bt709_oetf(e * latitude)
        return np.where(v <= knee, v, knee + (v - knee) * slope)

    return from_forward(f"bt709 knee {knee:.2f} x{latitude:g}", "ITU-R BT.709-6 OETF + camera knee", forward)


def _aces_narkowicz(x: np.ndarray) -> np.ndarray:
    return x * (2.51 * x + 0.03) / (x * (2.43 * x + 0.59) + 0.14)


def _hable(x: np.ndarray) -> np.ndarray:
    a, b, c, d, e, f = 0.15, 0.50, 0.10, 0.20, 0.02, 0.30
    return (x * (a * x + c * b) + d * e) / (x * (a * x + b) + d * f) - e / f


def filmic(kind: str, white: float) -> ResponseCurve:
    """A filmic tone curve with white point `white` x the clip, then the sRGB encoding."""
    curve, source = {"aces": (_aces_narkowicz, "Narkowicz 2015 ACES fit + sRGB"),
                     "hable": (_hable, "Hable 2010 Uncharted 2 + sRGB")}[kind]
    return from_forward(f"filmic {kind} w={white:g}", source,
                        lambda e: srgb_oetf(curve(e * white) / curve(np.array(white))))


def camera_log(encoding: str) -> ResponseCurve:
    """A colour-science log encoding over LOG_STOPS_ABOVE_GREY stops above mid grey, normalised."""
    import colour  # the test extra; the curve family is only built offline

    top = MID_GREY * 2.0**LOG_STOPS_ABOVE_GREY

    def forward(e: np.ndarray) -> np.ndarray:
        # Some encodings evaluate their logarithmic branch at 0 inside np.where before discarding it.
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(colour.LOG_ENCODINGS[encoding](e * top))

    return from_forward(f"log {encoding}", f"{encoding} (colour-science)", forward)


TRAINING_GAMMAS = (1.8, 1.9, 2.1, 2.2, 2.3, 2.5, 2.6)
HELD_OUT_GAMMAS = (2.0, 2.4)
TRAINING_LOGS = ("S-Log3", "ARRI LogC3", "V-Log", "F-Log", "Canon Log 2", "Canon Log 3", "D-Log")
HELD_OUT_LOGS = ("S-Log2", "N-Log")
TRAINING_SIGMOID_SEED = 20
HELD_OUT_SIGMOIDS = ((0.65, 0.35), (1.15, 0.9))  # outside the training draws' range


def _training_sigmoids(count: int = 40) -> list[ResponseCurve]:
    """Eilertsen's distribution widened (n ~ N(0.9, 0.1), σ ~ N(0.6, 0.1)), kept inside the box
    n in [0.7, 1.1], σ in [0.4, 0.85] so that the held-out pairs stay outside it."""
    rng = np.random.default_rng(TRAINING_SIGMOID_SEED)
    n = np.clip(rng.normal(0.9, 0.1, count), 0.7, 1.1)
    s = np.clip(rng.normal(0.6, 0.1, count), 0.4, 0.85)
    return [sigmoid(float(a), float(b)) for a, b in zip(n, s, strict=True)]


def training_curves() -> list[ResponseCurve]:
    """The curves the EMoR basis and the network are built from."""
    curves = [from_forward("srgb", "IEC 61966-2-1", srgb_oetf),
              from_forward("bt709", "ITU-R BT.709-6 OETF", bt709_oetf)]
    curves += [gamma(g) for g in TRAINING_GAMMAS]
    curves += _training_sigmoids()
    curves += [bt709_knee(k, lat) for k in (0.75, 0.8, 0.9) for lat in (2.0, 4.0)]
    curves += [filmic("aces", w) for w in (1.0, 2.0, 4.0, 8.0)]
    curves += [camera_log(name) for name in TRAINING_LOGS]
    return curves


def held_out_curves() -> list[ResponseCurve]:
    """Curves no part of the model or the training sees: for benchmarks and tests."""
    curves = [gamma(g) for g in HELD_OUT_GAMMAS]
    curves += [sigmoid(n, s) for n, s in HELD_OUT_SIGMOIDS]
    curves += [bt709_knee(0.85, 6.0), filmic("hable", 4.0), filmic("hable", 11.2)]
    curves += [camera_log(name) for name in HELD_OUT_LOGS]
    return curves
