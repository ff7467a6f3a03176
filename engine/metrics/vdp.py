"""ColorVideoVDP (Mantiuk et al., "ColorVideoVDP: A visual difference predictor for image, video
and display distortions", SIGGRAPH 2024), through the authors' PyPI package `cvvdp`, when present.

The package is an optional peer (pyproject extra 'vdp'): without it the metric is reported as
unavailable. Frames go in as absolute linear BT.2020 cd/m² on the 'standard_hdr_linear' display,
the model the authors prescribe for absolute linear HDR content.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import torch
from torch import Tensor

CVVDP_DISPLAY = "standard_hdr_linear"


def cvvdp_status() -> tuple[bool, str]:
    """(available, why not): whether `import pycvvdp` works."""
    try:
        importlib.import_module("pycvvdp")
    except ImportError as exc:
        return False, f"pycvvdp is not installed ({exc.msg}); install the 'vdp' extra to enable it"
    return True, ""


def cvvdp_jod(test: Sequence[Tensor], reference: Sequence[Tensor], fps: float) -> float:
    """ColorVideoVDP quality in JOD (10 = no visible difference) of two sequences of (3, H, W) frames."""
    pycvvdp = importlib.import_module("pycvvdp")
    metric = pycvvdp.cvvdp(display_name=CVVDP_DISPLAY)
    # The package takes frames-height-width-colour tensors for video.
    test_video = torch.stack(list(test)).permute(0, 2, 3, 1)
    reference_video = torch.stack(list(reference)).permute(0, 2, 3, 1)
    jod, _ = metric.predict(test_video, reference_video, dim_order="FHWC", frames_per_second=fps)
    return float(jod)
