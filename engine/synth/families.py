"""Families of simulated cameras: named ranges of camera settings, drawn per shot.

A family is what a kind of camera does (a phone, a broadcast camera, an action camera, ...);
each shot draws its own settings inside the family's ranges from a seed, so a benchmark that
reports per family shows which kind of camera a method fails on. Over all families the ranges
cover: the transfer (exact piecewise sRGB, gamma 2.2 and 2.4, the BT.709 OETF that BT.1886
displays decode, Hable's filmic curve, Eilertsen's camera-like S-curve, a log curve); auto
exposure from a slow drift (time constant 4 s, 0.03 EV per frame) to sudden jumps of up to 2
stops after a dead band; exposure set in steps of 1/3, 1/2 or 1 stop or continuously; sensor
noise from none to high ISO (8x the default Poissonian-Gaussian variances); H.264 and HEVC at CRF 14
to 28; sizes 512x288 to 1920x1080; pans, push-ins, hand-held shake, rolls, and a moving object
over a static view.

`declared` is the transfer the grade is told, as a user would set it from the camera's
metadata: sRGB and gamma cameras say so; BT.709-tagged footage (BT.709 OETF, S-curves, log
shot without a LUT) is decoded as BT.1886, the H.273 default for that tag.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.synth.degrade import SensorNoise
from engine.synth.exposure import AutoExposureParams
from engine.synth.render import SynthSettings

Range = tuple[float, float]
ROLL_DEGREES = 3.0


@dataclass(frozen=True)
class CameraFamily:
    """Ranges a family's shots draw from (uniform in each range, uniform over each choice)."""

    name: str
    description: str
    transfers: tuple[tuple[str, float, str], ...]  # (response, gamma, declared source transfer)
    size: tuple[int, int]  # nominal (width, height)
    # Camera motions, "+shake" adding hand-held shake, "+roll" shake and a ±3° roll, "+object"
    # a moving object in front of the view; "object" alone is a static camera and a moving object.
    motions: tuple[str, ...]
    time_constant_s: Range
    max_ev_per_frame: Range
    hold_ev: Range
    ev_steps: tuple[float, ...]
    noise_scale: Range  # x SensorNoise's default variances; 0 is a noiseless sensor
    codecs: tuple[str, ...]
    crf: tuple[int, int]  # inclusive


@dataclass(frozen=True)
class CameraShot:
    """One drawn camera: the synth settings and the transfer the grade declares."""

    family: str
    settings: SynthSettings
    declared_transfer: str  # SourceTransform.transfer
    declared_gamma: float

    def describe(self) -> str:
        s = self.settings
        ae = s.auto_exposure
        motion = "object" if s.moving_object and s.motion == "static" else s.motion
        motion += {None: "", 0.0: "+shake"}.get(s.handheld_roll, "+roll")
        motion += "+object" if s.moving_object and s.motion != "static" else ""
        return (f"{s.crf}{'' if s.crf != 'gamma' else f' {s.gamma:g}'} {s.codec} crf {s.video_crf} "
                f"{motion} tau {ae.time_constant_s:.2f}s "
                f"hold {ae.hold_ev:.2f} step {ae.ev_step:.2f} "
                f"noise {0.0 if s.noise is None else s.noise.shot / SensorNoise().shot:.1f}x")


FAMILIES: dict[str, CameraFamily] = {f.name: f for f in (
    CameraFamily("phone", "sRGB, fast AE in 1/3-stop steps, hand-held, H.264",
                 (("srgb", 2.2, "srgb"),), (1280, 720), ("pan+shake", "push+shake"),
                 (0.3, 0.6), (0.2, 0.4), (0.0, 0.1), (1 / 3,), (1.0, 4.0), ("h264",), (20, 26)),
    CameraFamily("broadcast", "BT.709 OETF, slow AE drift, clean sensor, H.264 at high quality",
                 (("bt709", 2.4, "bt1886"),), (1920, 1080), ("pan", "push"),
                 (2.0, 4.0), (0.03, 0.08), (0.0, 0.0), (0.0,), (0.0, 0.0), ("h264",), (14, 18)),
    CameraFamily("action", "gamma 2.2 or 2.4, AE that holds then jumps up to 2 stops, HEVC",
                 (("gamma", 2.2, "gamma"), ("gamma", 2.4, "gamma")), (960, 540), ("pan+roll", "push+shake"),
                 (0.0, 0.0), (2.0, 2.0), (0.7, 1.0), (1.0, 0.5), (2.0, 8.0), ("hevc",), (22, 28)),
    CameraFamily("filmic", "Hable filmic look, medium AE in 1/3 stops, a moving object, HEVC",
                 (("filmic", 2.2, "srgb"),), (512, 288), ("object", "push+object"),
                 (0.5, 1.0), (0.1, 0.3), (0.0, 0.2), (1 / 3,), (1.0, 3.0), ("hevc",), (18, 24)),
    CameraFamily("camcorder", "camera-like S-curve (Eilertsen 2017), 1/2-stop AE, H.264",
                 (("sigmoid", 2.2, "bt1886"),), (1280, 720), ("pan", "pan+object"),
                 (0.5, 1.0), (0.1, 0.2), (0.0, 0.3), (0.5,), (0.5, 2.0), ("h264",), (16, 22)),
    CameraFamily("cinema-log", "log curve read as BT.709, slow continuous AE drift, HEVC",
                 (("log", 2.2, "bt1886"),), (1920, 1080), ("push", "pan"),
                 (2.0, 4.0), (0.03, 0.1), (0.0, 0.0), (0.0,), (0.0, 1.0), ("hevc",), (14, 18)),
)}


def draw(family: CameraFamily, seed: int, frames: int, size: tuple[int, int], motion: str | None = None,
         ) -> CameraShot:
    """The camera of one shot of `family`: every setting drawn from its range with `seed`.

    `size` replaces the nominal size (a bench scales it down to what its CPU allows); `motion`
    picks one of the family's motions (default: drawn).
    """
    rng = np.random.default_rng(seed)

    def uniform(bounds: Range) -> float:
        return float(rng.uniform(*bounds)) if bounds[1] > bounds[0] else float(bounds[0])

    response, gamma, declared = family.transfers[int(rng.integers(len(family.transfers)))]
    chosen = motion or family.motions[int(rng.integers(len(family.motions)))]
    if chosen not in family.motions:
        raise ValueError(f"family {family.name} has no motion {chosen!r}; expected one of {family.motions}")
    auto = AutoExposureParams(time_constant_s=uniform(family.time_constant_s),
                              max_ev_per_frame=uniform(family.max_ev_per_frame),
                              hold_ev=uniform(family.hold_ev),
                              ev_step=float(family.ev_steps[int(rng.integers(len(family.ev_steps)))]))
    scale = uniform(family.noise_scale)
    default = SensorNoise()
    noise = None if scale == 0.0 else SensorNoise(default.shot * scale, default.read * scale)
    base, *extras = chosen.split("+")
    settings = SynthSettings(
        frames=frames, motion="static" if base == "object" else base, exposure="auto", size=size,
        handheld_roll=ROLL_DEGREES if "roll" in extras else 0.0 if "shake" in extras else None,
        crf=response, gamma=gamma, seed=seed, noise=noise, auto_exposure=auto,
        moving_object=base == "object" or "object" in extras,
        codec=family.codecs[int(rng.integers(len(family.codecs)))],
        video_crf=int(rng.integers(family.crf[0], family.crf[1] + 1)), video_preset="fast")
    return CameraShot(family.name, settings, declared, gamma if declared == "gamma" else 2.4)


def scaled_size(nominal: tuple[int, int], max_width: int, still_size: tuple[int, int],
                room: float = 0.8) -> tuple[int, int]:
    """The nominal size scaled to at most `max_width` and `room` x the still, 16:9 kept, even."""
    factor = min(1.0, max_width / nominal[0], room * still_size[0] / nominal[0],
                 room * still_size[1] / nominal[1])
    return (max(2, int(nominal[0] * factor) // 2 * 2), max(2, int(nominal[1] * factor) // 2 * 2))

