"""The exact-recovery ceiling of a synthetic shot: what a perfect temporal reconstruction could do.

For each recoverable pixel (engine.synth.masks), the ceiling takes the scene value from the frame
that recorded the same scene point unclipped at the largest exposure, exactly where the
simulation knows it lies: that frame's decoded code values, linearised with the camera's own
exact inverse response, divided by its exposure multiplier and brought from the camera's BT.709
to BT.2020. Everywhere else it is the ground truth itself. Its error on the recoverable
highlights is therefore only what the recording lost (sensor noise, 8-bit quantisation, the
codec), which no method can get back: a reconstruction's distance to the ceiling is what its
alignment, exposure estimation and merging cost. That holds only at the reconstruction's light
level: PU21 (Mantiuk and Azimi 2021) is perceptual, so the same relative error weighs far less
at the still's own scale (scene values near 1, read as cd/m²) than at hundreds of cd/m². The
ceiling is therefore scored at `sdr_level`, where the frame's own recording puts the scene.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.color.primaries import BT709, BT2020, convert_primaries
from engine.synth.masks import recovery_views
from engine.synth.render import ShotPlan


def sample_at(image: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """(C, H, W) image bilinearly at output pixels (x, y) (pixel centres at integers) -> (C, N)."""
    _, height, width = image.shape
    grid = torch.stack([x * (2.0 / max(width - 1, 1)) - 1.0, y * (2.0 / max(height - 1, 1)) - 1.0], dim=-1)
    grid = grid.to(image.dtype).reshape(1, 1, -1, 2)
    return tnf.grid_sample(image.unsqueeze(0), grid, mode="bilinear", align_corners=True)[0, :, 0]


def sdr_level(plan: ShotPlan, index: int) -> float:
    """cd/m² per scene unit where frame `index`'s recording places the scene: the camera's clip
    at that frame's exposure (scene value 1 / multiplier) at reference white, as an SDR frame
    decoded to display light and placed by ITU-R BT.2408 shows it. The plan's `nits_scale` is
    reference white x the first frame's multiplier (engine.synth.render), so this is it scaled
    by the frame's exposure relative to the first.
    """
    return plan.nits_scale * plan.multipliers[index] / plan.multipliers[0]


def exact_recovery(index: int, truth: Tensor, decoded: Sequence[Tensor], plan: ShotPlan) -> Tensor:
    """(3, h, w) BT.2020: frame `index`'s ground truth with its recoverable highlights replaced by
    their best unclipped recording elsewhere in the shot (see the module docstring).

    truth: the frame's scene-linear BT.2020 ground truth (exposure 1); decoded: every frame's
    R'G'B' code values as decoded from the camera's clip; plan: the shot's plan.
    """
    camera = convert_primaries(truth, BT2020, BT709).clamp_min(0.0)
    views = recovery_views(index, camera.amax(0, keepdim=True), plan.affines, plan.multipliers,
                           track=plan.track)
    out = truth.clone()
    multipliers = plan.multipliers
    for j in views.frame.unique().tolist():
        if j < 0:
            continue
        pick = views.frame == j
        linear = plan.response.decode(decoded[j].to(truth.dtype)) / multipliers[j]
        values = sample_at(linear, views.x[pick], views.y[pick])
        values = convert_primaries(values.unsqueeze(-1), BT709, BT2020)[..., 0]
        out[:, views.rows[pick], views.cols[pick]] = values
    return out
