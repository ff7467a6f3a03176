"""Camera simulation: an HDR still -> ground-truth HDR video, the SDR clip a camera records, and
exact masks of the highlights that other frames of the shot saw unclipped."""

from engine.synth.camera import MOTIONS, camera_path, sample_still
from engine.synth.exposure import EXPOSURE_MODES, AutoExposureParams, exposure_schedule
from engine.synth.masks import read_mask, recoverable_mask
from engine.synth.render import ShotPlan, SynthSettings, SynthSummary, plan_shot, render_shot, synthesize
from engine.synth.response import RESPONSES, make_response

__all__ = [
    "EXPOSURE_MODES",
    "MOTIONS",
    "RESPONSES",
    "AutoExposureParams",
    "ShotPlan",
    "SynthSettings",
    "SynthSummary",
    "camera_path",
    "exposure_schedule",
    "make_response",
    "plan_shot",
    "read_mask",
    "recoverable_mask",
    "render_shot",
    "sample_still",
    "synthesize",
]
