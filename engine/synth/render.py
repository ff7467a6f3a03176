"""A synthetic shot: an HDR still -> ground-truth HDR video, the SDR clip a camera records, and
masks of its recoverable highlights, written to one folder.

Output layout (DIR):
    sdr.mp4                  H.264 or HEVC 8-bit, BT.709 tags, the camera's recording
    gt/frame_000000.exr ...  scene-linear ground truth, BT.2020, half float; the file holds the
                             still's values (exposure 1.0) and whiteLuminance = nits_scale, so
                             value x whiteLuminance is cd/m² (OpenEXR's convention)
    masks/frame_000000.png   recoverable highlights of each frame, 8-bit, 255 inside
    meta.json                per-frame EV, multiplier and affine, the CRF, fps, seed, still, nits_scale

Absolute scale: nits_scale = reference white (203 cd/m², ITU-R BT.2408) x the first frame's
exposure multiplier, so a scene value the camera records at its clipping point (1.0) on the first
frame is reference white. The camera works in BT.709 primaries (its native SDR space); light
outside BT.709 is clipped at zero there, never in the ground truth.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from engine.color.primaries import BT709, BT2020, convert_primaries
from engine.constants import SDR_REFERENCE_WHITE_NITS
from engine.errors import FormatError, OutputError
from engine.io.atomic import AtomicOutput
from engine.io.exr import read_exr, write_exr
from engine.synth.camera import Size, add_shake, brightest_point, camera_path, sample_still
from engine.synth.degrade import SensorNoise, record
from engine.synth.exposure import AutoExposureParams, exposure_schedule, meter
from engine.synth.masks import mask_path, recoverable_mask, write_mask
from engine.synth.moving_object import ObjectTrack, composite, plan_object
from engine.synth.recording import open_recording
from engine.synth.response import CameraResponse, make_response

if TYPE_CHECKING:
    from engine.jobs import CancelToken, ProgressFn

SDR_NAME = "sdr.mp4"
GT_FOLDER = "gt"
GT_PATTERN = "frame_{:06d}.exr"
MASK_FOLDER = "masks"
META_NAME = "meta.json"
META_VERSION = 1
DEFAULT_SIZE_FRACTION = 0.6  # of the still's width and height: room for the camera to move


@dataclass(frozen=True)
class SynthSettings:
    """Everything that defines a synthetic shot besides the still; the same settings and seed
    give the same shot."""

    frames: int = 48
    fps: float = 24.0
    motion: str = "pan"
    exposure: str = "auto"
    ev: float = 2.0  # alternating exposure: frames at base + ev and base - ev
    size: Size | None = None  # (width, height); default 0.6 x the still, even
    crf: str = "srgb"
    gamma: float = 2.2  # exponent of the 'gamma' camera response
    seed: int = 0
    interpolation: str = "bilinear"
    # A pan of this many frame widths that ends on the brightest region; None crosses the still.
    pan_widths: float | None = None
    # A pan from this still point (u, v) to the brightest region, in a straight line.
    pan_from: tuple[float, float] | None = None
    noise: SensorNoise | None = field(default_factory=SensorNoise)
    auto_exposure: AutoExposureParams = field(default_factory=AutoExposureParams)
    reference_white_nits: float = SDR_REFERENCE_WHITE_NITS
    # A disc of the still's brightest region crossing the frame (engine.synth.moving_object).
    moving_object: bool = False
    # Hand-held shake on top of the motion, and a steady roll of ± this many degrees (None: none).
    handheld_roll: float | None = None
    codec: str = "h264"  # the camera's encoder, engine.synth.recording.CODECS
    video_crf: int = 18
    video_preset: str = "medium"


@dataclass(frozen=True)
class ShotPlan:
    """The camera's pose and exposure for every frame, known before any frame is rendered."""

    still_size: Size
    out_size: Size
    affines: list[np.ndarray]
    evs: list[float]
    response: CameraResponse
    nits_scale: float
    track: ObjectTrack | None = None

    @property
    def multipliers(self) -> list[float]:
        return [2.0**ev for ev in self.evs]


@dataclass(frozen=True)
class SynthFrame:
    """One rendered frame: scene-linear BT.2020 (exposure 1.0), the recorded SDR signal, the mask."""

    scene: Tensor  # (3, h, w)
    sdr: Tensor  # (3, h, w) R'G'B' in [0, 1], 8-bit code values
    recoverable: Tensor  # (1, h, w)


@dataclass(frozen=True)
class SynthSummary:
    """What `synthesize` reports."""

    output: str
    frames: int
    width: int
    height: int
    ev_min: float
    ev_max: float
    recoverable_fraction: float  # of all pixels of all frames
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_size(still_size: Size) -> Size:
    """0.6 of the still's width and height, rounded down to even numbers (4:2:0 video)."""
    return (max(2, int(still_size[0] * DEFAULT_SIZE_FRACTION) // 2 * 2),
            max(2, int(still_size[1] * DEFAULT_SIZE_FRACTION) // 2 * 2))


def plan_shot(still: Tensor, settings: SynthSettings) -> ShotPlan:
    """Poses, exposures, CRF and absolute scale of a shot over a (3, H, W) BT.2020 scene-linear still."""
    if settings.frames < 1:
        raise ValueError(f"a shot needs at least one frame, got {settings.frames}")
    still_size = (still.shape[2], still.shape[1])
    out_size = settings.size or default_size(still_size)
    if out_size[0] > still_size[0] or out_size[1] > still_size[1]:
        raise ValueError(f"output {out_size[0]}x{out_size[1]} is larger than the still "
                         f"{still_size[0]}x{still_size[1]}")
    aims = settings.motion == "push" or (
        settings.motion == "pan" and (settings.pan_widths is not None or settings.pan_from is not None))
    target = brightest_point(still, out_size) if aims else None
    affines = camera_path(settings.motion, settings.frames, out_size, still_size, fps=settings.fps,
                          seed=settings.seed, target=target, pan_widths=settings.pan_widths,
                          pan_from=settings.pan_from)
    if settings.handheld_roll is not None:
        affines = add_shake(affines, out_size, still_size, fps=settings.fps, seed=settings.seed,
                            roll_degrees=settings.handheld_roll)
    track = plan_object(still, out_size, settings.frames) if settings.moving_object else None
    metered = [meter(scene_frame(still, affines, track, i, out_size, settings.interpolation),
                     settings.auto_exposure.centre_sigma) for i in range(len(affines))]
    evs = exposure_schedule(settings.exposure, metered, settings.fps, settings.ev, settings.auto_exposure)
    response = make_response(settings.crf, np.random.default_rng(settings.seed), settings.gamma)
    nits_scale = settings.reference_white_nits * 2.0 ** evs[0]
    return ShotPlan(still_size, out_size, affines, evs, response, nits_scale, track)


def scene_frame(still: Tensor, affines: list[np.ndarray], track: ObjectTrack | None, index: int,
                out_size: Size, mode: str) -> Tensor:
    """Frame `index` of the scene: the still through the camera, the moving object in front."""
    background = sample_still(still, affines[index], out_size, mode)
    return background if track is None else composite(background, still, track, index, out_size, mode)


def render_shot(still: Tensor, plan: ShotPlan, settings: SynthSettings) -> Iterator[SynthFrame]:
    """Render the planned frames in order, on the still's device."""
    generator = torch.Generator().manual_seed(settings.seed)
    for index, k in enumerate(plan.multipliers):
        scene = scene_frame(still, plan.affines, plan.track, index, plan.out_size, settings.interpolation)
        camera = convert_primaries(scene, BT2020, BT709).clamp_min(0.0)
        sdr = record(camera * k, plan.response, settings.noise, generator)
        peak = camera.amax(0, keepdim=True)
        mask = recoverable_mask(index, peak, plan.affines, plan.multipliers, track=plan.track)
        yield SynthFrame(scene, sdr, mask)


def load_still(path: Path, device: torch.device | str = "cpu") -> Tensor:
    """Read an HDR still as scene-linear BT.2020 (3, H, W) at the file's scale.

    NaN or Inf raise FormatError (a ground truth must not hold invented pixels); negative filter
    overshoot becomes 0.
    """
    still, _ = read_exr(path, strict=True)
    return still.to(device=device, dtype=torch.float32)


def _meta(still_path: Path, plan: ShotPlan, settings: SynthSettings) -> dict[str, Any]:
    return {
        "version": META_VERSION,
        "source_still": str(Path(still_path).absolute()),
        "still_size": list(plan.still_size),
        "size": list(plan.out_size),
        "frames": settings.frames,
        "fps": settings.fps,
        "seed": settings.seed,
        "motion": settings.motion,
        "interpolation": settings.interpolation,
        "pan_widths": settings.pan_widths,
        "pan_from": None if settings.pan_from is None else list(settings.pan_from),
        "exposure": {"mode": settings.exposure, "ev": settings.ev, "auto": asdict(settings.auto_exposure)},
        "crf": {"name": plan.response.name, "params": plan.response.params()},
        "noise": None if settings.noise is None else asdict(settings.noise),
        "sensor_clip": 1.0,
        "camera_primaries": BT709.name,
        "gt_primaries": BT2020.name,
        "nits_scale": plan.nits_scale,
        "reference_white_nits": settings.reference_white_nits,
        "handheld_roll": settings.handheld_roll,
        "moving_object": None if plan.track is None else {
            "source": list(plan.track.source), "radius": plan.track.radius,
            "centres": [list(c) for c in plan.track.centres]},
        "sdr": {"file": SDR_NAME, "codec": settings.codec, "crf": settings.video_crf,
                "preset": settings.video_preset},
        "gt": f"{GT_FOLDER}/{GT_PATTERN.replace('{:06d}', '%06d')}",
        "masks": f"{MASK_FOLDER}/frame_%06d.png",
        "per_frame": [
            {"index": i, "ev": ev, "multiplier": 2.0**ev, "affine": a.tolist()}
            for i, (ev, a) in enumerate(zip(plan.evs, plan.affines, strict=True))
        ],
    }


def synthesize(still_path: str | Path, out_dir: str | Path, settings: SynthSettings = SynthSettings(), *,
               device: torch.device | str = "cpu", progress: ProgressFn | None = None,
               cancel: CancelToken | None = None) -> SynthSummary:
    """Simulate a camera shot over an HDR still and write it to `out_dir` (see the module docstring).

    The folder appears only when complete; a failure or a cancel leaves nothing behind.
    """
    started = time.perf_counter()
    still_path, out_dir = Path(still_path), Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise OutputError("the output folder exists and is not empty", out_dir)
    still = load_still(still_path, device)
    try:
        plan = plan_shot(still, settings)
    except ValueError as exc:
        raise FormatError(str(exc), still_path) from None
    width, height = plan.out_size
    recoverable = 0.0
    with AtomicOutput(out_dir, directory=True) as temp:
        (temp / GT_FOLDER).mkdir()
        (temp / MASK_FOLDER).mkdir()
        writer = open_recording(temp / SDR_NAME, settings.codec, settings.video_crf, settings.video_preset,
                                width, height, settings.fps)
        try:
            for index, frame in enumerate(render_shot(still, plan, settings)):
                if cancel is not None:
                    cancel.check(out_dir)
                writer.write(frame.sdr)
                write_exr(temp / GT_FOLDER / GT_PATTERN.format(index), frame.scene,
                          chromaticities=BT2020, white_luminance=plan.nits_scale)
                write_mask(mask_path(temp / MASK_FOLDER, index), frame.recoverable)
                recoverable += float(frame.recoverable.mean())
                if progress is not None:
                    progress("synth", index + 1, settings.frames)
            writer.close()
        except BaseException:
            writer.abort()
            raise
        (temp / META_NAME).write_text(json.dumps(_meta(still_path, plan, settings), indent=2))
    return SynthSummary(str(out_dir), settings.frames, width, height, min(plan.evs), max(plan.evs),
                        recoverable / settings.frames, time.perf_counter() - started)
