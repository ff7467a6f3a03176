"""Exposure of the simulated camera: auto exposure, fixed, and alternating brackets.

Exposures are expressed as exposure compensation in stops (EV), multiplier = 2^EV: the camera
records multiplier x scene value, clipping at 1.

Metering is the centre-weighted log-average luminance of the scene (Reinhard et al.,
"Photographic tone reproduction for digital images", SIGGRAPH 2002, eq. 1, the "key"), with a
Gaussian weight around the frame's centre; the metered exposure puts that log-average at
mid-grey (18 %). Auto exposure follows it like a camera's AE loop: a first-order lag with a
time constant of about 0.7 s (the exponential smoothing of libplacebo's peak detection and of
camera AE controllers), its step limited to a few tenths of a stop per frame so that a sudden
change in the scene ramps instead of jumping.

Cameras differ in both: a slow loop drifts (time constant of seconds, a few hundredths of a
stop per frame), a fast one with a dead band holds its exposure until the metering is
`hold_ev` away and then jumps (up to 2 stops in one frame, as phone cameras do on a cut to a
window). Real cameras also set exposure in steps (1/3 stop shutter and ISO steps, 1 stop on
some): `ev_step` rounds the loop's state to that grid before it is applied.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from engine.color.luminance import luminance

EXPOSURE_MODES = ("auto", "fixed", "alternating")
MID_GREY = 0.18
# log2 of luminance below this is treated as this: black pixels would dominate a log-average.
METER_FLOOR = 1e-4


@dataclass(frozen=True)
class AutoExposureParams:
    """How the simulated AE loop meters and follows the scene."""

    target: float = MID_GREY  # the metered log-average is exposed to this value
    time_constant_s: float = 0.7  # first-order lag of the AE loop
    max_ev_per_frame: float = 0.15  # rate limit of the AE loop, in stops per frame
    centre_sigma: float = 0.35  # width of the centre weight, as a fraction of each frame side
    hold_ev: float = 0.0  # dead band: the loop moves only when the metering is this far off
    ev_step: float = 0.0  # exposure is applied in steps of this many stops (0: continuous)


def centre_weights(height: int, width: int, sigma: float, device: torch.device | str = "cpu") -> Tensor:
    """(1, H, W) Gaussian centre weight, standard deviation `sigma` x each side, summing to 1."""
    y = (torch.arange(height, dtype=torch.float64, device=device) - (height - 1) / 2.0) / (sigma * height)
    x = (torch.arange(width, dtype=torch.float64, device=device) - (width - 1) / 2.0) / (sigma * width)
    w = torch.exp(-0.5 * (y[:, None] ** 2 + x[None, :] ** 2))
    return (w / w.sum()).unsqueeze(0)


def meter(frame: Tensor, sigma: float = AutoExposureParams.centre_sigma) -> float:
    """Centre-weighted log-average luminance of a linear (3, H, W) BT.2020 frame (Reinhard 2002)."""
    y = luminance(frame).double().clamp_min(METER_FLOOR)
    weights = centre_weights(frame.shape[1], frame.shape[2], sigma, frame.device)
    return math.exp(float((weights * y.log()).sum()))


def metered_ev(metered: float, target: float = MID_GREY) -> float:
    """Exposure compensation that brings a metered log-average to `target`: log2(target / metered)."""
    return math.log2(target / max(metered, METER_FLOOR))


def auto_exposure(metered: Sequence[float], fps: float, params: AutoExposureParams = AutoExposureParams()
                  ) -> list[float]:
    """Per-frame EV of an AE loop following per-frame metered log-averages.

    The loop starts settled on the first frame; then each frame moves a fraction
    1 - exp(-1 / (fps x time constant)) of the way to its metered EV (all of it at time
    constant 0), at most `max_ev_per_frame` stops, and not at all while the metering is within
    `hold_ev` of the state. The applied EV is the state rounded to `ev_step`.
    """
    targets = [metered_ev(m, params.target) for m in metered]
    if not targets:
        return []
    gain = 1.0 if params.time_constant_s <= 0.0 else 1.0 - math.exp(-1.0 / (fps * params.time_constant_s))
    state = [targets[0]]
    moving = False
    for goal in targets[1:]:
        error = goal - state[-1]
        # Once the dead band is left, the loop follows until it has settled again.
        moving = abs(error) > params.hold_ev or (moving and abs(error) > 0.05)
        step = gain * error if moving else 0.0
        state.append(state[-1] + max(-params.max_ev_per_frame, min(params.max_ev_per_frame, step)))
    return [quantise_ev(ev, params.ev_step) for ev in state]


def quantise_ev(ev: float, step: float) -> float:
    """`ev` rounded to a multiple of `step` stops (unchanged when step is 0)."""
    return ev if step <= 0.0 else round(ev / step) * step


def fixed_exposure(metered: Sequence[float],
                   params: AutoExposureParams = AutoExposureParams()) -> list[float]:
    """Exposure locked on the first frame's metering, as a camera with AE lock."""
    if not metered:
        return []
    return [metered_ev(metered[0], params.target)] * len(metered)


def alternating_exposure(metered: Sequence[float], ev: float,
                         params: AutoExposureParams = AutoExposureParams()) -> list[float]:
    """Bracketed video (Kang et al., "High dynamic range video", SIGGRAPH 2003): frames alternate
    between base + ev and base - ev, with the base locked on the first frame's metering."""
    return [base + (ev if i % 2 == 0 else -ev) for i, base in enumerate(fixed_exposure(metered, params))]


def exposure_schedule(mode: str, metered: Sequence[float], fps: float, ev: float = 2.0,
                      params: AutoExposureParams = AutoExposureParams()) -> list[float]:
    """Per-frame EVs for an exposure mode: 'auto', 'fixed' or 'alternating' (± `ev` stops)."""
    if mode == "auto":
        return auto_exposure(metered, fps, params)
    if mode == "fixed":
        return fixed_exposure(metered, params)
    if mode == "alternating":
        return alternating_exposure(metered, ev, params)
    raise ValueError(f"unknown exposure mode {mode!r}; expected one of {', '.join(EXPOSURE_MODES)}")
