"""An OpenColorIO display/view as the SDR tone curve: the preview and SDR output of a config.

The view's tone scale is read on the neutral axis: a grey of scene-linear value Y / reference
white (1.0 = diffuse white, as engine.ocio_input places scene-linear footage) goes through the
config's display/view transform to display code values, and those through the inverse of the
display colour space's encoding to display-referred CIE XYZ, whose Y (1.0 = 100 cd/m² in the
ACES configs) divided by the SDR display's peak is the curve's output. The curve is baked into
the gain LUT every curve TMO uses, so the preview equals the SDR export; the view's per-channel
rendering and gamut mapping are not reproduced, only its tone scale, applied to luminance with
the catalogue's colour step.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import PyOpenColorIO
import torch
from torch import Tensor

from engine.color.correction import color_param, saturation_param
from engine.errors import GradeError
from engine.ocio_input import DEFAULT_CONFIG, load_config
from engine.operators.base import StageContext
from engine.params import param
from engine.tmo.tone_curve import ToneCurveOperator

DISPLAY_REFERENCE_NITS = 100.0  # cd/m² of display-referred Y = 1 in the ACES studio config
_SCENE_SPACE = "Linear Rec.2020"  # the engine's working space, as the studio config names it


@cache
def _processors(uri: str, display: str, view: str) -> tuple[PyOpenColorIO.CPUProcessor, ...]:
    """(scene -> display codes through the view, display codes -> display-referred XYZ)."""
    config = load_config(uri)
    if view not in config.getViews(display):
        raise GradeError(f"OpenColorIO config {uri!r} has no view {view!r} on display {display!r}")
    try:
        to_codes = config.getProcessor(_SCENE_SPACE, display, view, PyOpenColorIO.TRANSFORM_DIR_FORWARD)
        space = config.getColorSpace(display)
        encoding = space.getTransform(PyOpenColorIO.COLORSPACE_DIR_FROM_REFERENCE)
        to_xyz = config.getProcessor(encoding, PyOpenColorIO.TRANSFORM_DIR_INVERSE)
    except (PyOpenColorIO.Exception, AttributeError) as exc:
        raise GradeError(f"OpenColorIO cannot render {display!r} / {view!r} ({exc})") from None
    return to_codes.getDefaultCPUProcessor(), to_xyz.getDefaultCPUProcessor()


def view_luminance(uri: str, display: str, view: str, scene: np.ndarray) -> np.ndarray:
    """Display-referred Y (1.0 = DISPLAY_REFERENCE_NITS) of neutral scene-linear values `scene`."""
    to_codes, to_xyz = _processors(uri, display, view)
    grey = np.ascontiguousarray(np.repeat(scene.astype(np.float32).reshape(-1, 1), 3, axis=1))
    to_codes.applyRGB(grey)
    to_xyz.applyRGB(grey)
    return grey[:, 1].astype(np.float64).reshape(scene.shape)


@dataclass(frozen=True)
class OcioViewParams:
    display: str = param("Rec.1886 Rec.709 - Display", help="OpenColorIO display (OCIO's studio config)")
    view: str = param("ACES 2.0 - SDR 100 nits (Rec.709)", help="OpenColorIO view of that display")
    config: str = param(DEFAULT_CONFIG, help="OpenColorIO config: a file or a built-in ocio:// name")
    color: str = color_param()
    saturation: float = saturation_param()


class OcioView(ToneCurveOperator):
    """Academy Software Foundation, OpenColorIO 2 display/view transforms (here the ACES 2.0 SDR
    Output Transform of OCIO's studio config), read on the neutral axis as a tone curve.

    out = Y_display(view(Y / reference white)) * 100 / display peak.
    """

    name = "ocio-view"
    title = "OpenColorIO display/view"
    Params = OcioViewParams

    def curve(self, y: Tensor, ctx: StageContext) -> Tensor:
        p = self.params
        scene = (y / ctx.reference_white).clamp_min(0.0).cpu().numpy()
        out = view_luminance(p.config, p.display, p.view, scene) * (DISPLAY_REFERENCE_NITS / ctx.display_peak)
        # The view is flat at black: keep black exactly black (its display codes may lift it by 1e-7).
        out = np.where(scene > 0.0, np.maximum(out, 0.0), 0.0)
        return torch.from_numpy(out).to(y.dtype).to(y.device)
