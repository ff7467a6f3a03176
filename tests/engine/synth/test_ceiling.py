"""The exact-recovery ceiling and moving-object masks on constructed shots with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.synth.ceiling import exact_recovery, sdr_level
from engine.synth.degrade import quantize_8bit
from engine.synth.masks import recoverable_mask
from engine.synth.moving_object import ObjectTrack
from engine.synth.render import ShotPlan
from engine.synth.response import GammaResponse, SrgbResponse


def shifted(dx: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, 0.0]])


def test_ceiling_takes_the_darker_frames_recording_where_the_point_moved() -> None:
    # Frame 0 (k = 1) shows still columns 0..15, frame 1 (k = 0.25) columns 8..23. A grey
    # patch of value 2 in still columns 10..13 clips in frame 0 and records 0.5 in frame 1,
    # where it sits 8 pixels to the left. With a linear response the 8-bit recording of 0.5 is
    # code 128, so the ceiling reads 128/255 / 0.25 there, and the truth elsewhere.
    still = torch.full((3, 6, 24), 0.1)
    still[:, :, 10:14] = 2.0
    affines = [shifted(0.0), shifted(8.0)]
    truth = [still[:, :, 0:16].clone(), still[:, :, 8:24].clone()]
    response = GammaResponse(1.0)
    decoded = [quantize_8bit(response.encode(t * k)) for t, k in zip(truth, (1.0, 0.25), strict=True)]
    plan = ShotPlan((24, 6), (16, 6), affines, [0.0, -2.0], response, 203.0)
    ceiling = exact_recovery(0, truth[0], decoded, plan)
    assert torch.allclose(ceiling[:, :, 10:14], torch.full((3, 6, 4), 128.0 / 255.0 / 0.25), atol=1e-5)
    outside = torch.ones(16, dtype=torch.bool)
    outside[10:14] = False
    assert torch.equal(ceiling[:, :, outside], truth[0][:, :, outside])
    # Frame 1 clips nothing: its ceiling is its truth.
    assert torch.equal(exact_recovery(1, truth[1], decoded, plan), truth[1])


def test_ceiling_error_is_the_recordings_quantisation_only() -> None:
    # Value 1.6 recorded at k = 0.5 through sRGB: 0.8 -> code round(0.8 encoded x 255); the
    # ceiling is that code decoded exactly, / 0.5, within half a code of 1.6.
    still = torch.full((3, 4, 8), 1.6)
    plan = ShotPlan((8, 4), (8, 4), [shifted(0.0)] * 2, [0.0, -1.0], SrgbResponse(), 203.0)
    truth = [still.clone(), still.clone()]
    decoded = [quantize_8bit(SrgbResponse().encode(still * k)) for k in (1.0, 0.5)]
    ceiling = exact_recovery(0, truth[0], decoded, plan)
    code = round(float(SrgbResponse().encode(torch.tensor(0.8, dtype=torch.float64))) * 255)
    expected = float(SrgbResponse().decode(torch.tensor(code / 255.0, dtype=torch.float64))) / 0.5
    assert float(ceiling[0, 0, 0]) == pytest.approx(expected, rel=1e-5)
    assert abs(expected - 1.6) < 0.01


def test_a_moving_object_hides_the_background_and_carries_its_own_points() -> None:
    # Static camera; frame 0 bright (k = 1), frame 1 dark (k = 0.25). The scene clips
    # everywhere in frame 0 (value 2). In frame 1 a disc of radius 2 centred on (5, 3) covers
    # the background: background pixels under it are not recoverable, the others are. The
    # object's own pixels of frame 0 (disc at (10, 3)) are recoverable: frame 1 shows them.
    peak = torch.full((1, 7, 16), 2.0)
    track = ObjectTrack(source=(0.0, 0.0), radius=2.0, centres=[(10.0, 3.0), (5.0, 3.0)])
    mask = recoverable_mask(0, peak, [shifted(0.0)] * 2, [1.0, 0.25], track=track)[0]
    y, x = torch.meshgrid(torch.arange(7.0), torch.arange(16.0), indexing="ij")
    hidden = (x - 5.0) ** 2 + (y - 3.0) ** 2 <= 4.0
    on_object = (x - 10.0) ** 2 + (y - 3.0) ** 2 <= 4.0
    assert torch.equal(mask.bool(), ~hidden | on_object)
    # Without the object every pixel is recoverable.
    assert bool(recoverable_mask(0, peak, [shifted(0.0)] * 2, [1.0, 0.25])[0].bool().all())



def test_sdr_level_puts_each_frames_clip_at_reference_white() -> None:
    # nits_scale = 203 x the first frame's multiplier (2^1): frame 0 clips at scene value 0.5,
    # frame 1 (2^-1) at 2.0; both clips land on 203 cd/m².
    plan = ShotPlan((8, 4), (8, 4), [shifted(0.0)] * 2, [1.0, -1.0], SrgbResponse(), 406.0)
    assert sdr_level(plan, 0) == pytest.approx(406.0)
    assert sdr_level(plan, 1) == pytest.approx(101.5)
    assert 0.5 * sdr_level(plan, 0) == pytest.approx(203.0)
    assert 2.0 * sdr_level(plan, 1) == pytest.approx(203.0)


def test_a_placed_ceiling_reads_what_the_sdr_frame_shows_where_nothing_clipped() -> None:
    # Scene value 0.3 at k = 1 and k = 0.5 through sRGB: unclipped in both frames, so the
    # ceiling is the truth, and placed it reads the decoded code x 203 cd/m² (BT.2408), within
    # the 8-bit step.
    still = torch.full((3, 4, 8), 0.3)
    plan = ShotPlan((8, 4), (8, 4), [shifted(0.0)] * 2, [0.0, -1.0], SrgbResponse(), 203.0)
    truth = [still.clone(), still.clone()]
    decoded = [quantize_8bit(SrgbResponse().encode(still * k)) for k in (1.0, 0.5)]
    for index in (0, 1):
        placed = exact_recovery(index, truth[index], decoded, plan) * sdr_level(plan, index)
        shown = SrgbResponse().decode(decoded[index]) * 203.0
        torch.testing.assert_close(placed, shown, rtol=0.01, atol=0.0)
