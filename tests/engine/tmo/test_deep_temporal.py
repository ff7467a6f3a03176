"""The learned tone mapper in a sequence: its curve grid is filtered within a shot and reset at cuts."""

from __future__ import annotations

import math
import statistics

import torch

from engine.color.luminance import luminance
from engine.metrics.flicker import flicker, pu21_luminance
from engine.operators.base import StageContext
from engine.operators.catalogue import make_operator
from engine.stages.stabilised import SequenceStats
from engine.stats import measure
from engine.tmo.deep import DEFAULT_SMOOTHING
from tests.engine.models.conftest import hdr_scene


def scene_nits(seed: int, scale: float = 200.0) -> torch.Tensor:
    return hdr_scene(72, 128, seed=seed) * scale


def still_mapping(frame: torch.Tensor) -> torch.Tensor:
    """The frame tone-mapped alone (its own statistics, no history): what a still gets."""
    return make_operator("tmo", "deep").apply(frame, StageContext(stats=measure(luminance(frame))))


def run_sequence(frames: list[torch.Tensor], smoothing: float = DEFAULT_SMOOTHING,
                 indices: list[int] | None = None) -> list[torch.Tensor]:
    """The frames through one operator and the pipeline's per-stream statistics, as OutputStage does."""
    op, stats = make_operator("tmo", "deep", {"smoothing": smoothing}), SequenceStats()
    indices = indices if indices is not None else list(range(len(frames)))
    return [op.apply(f, StageContext(frame_index=i, stats=stats.update(i, f)))
            for i, f in zip(indices, frames, strict=True)]


def test_the_curve_grid_decays_towards_a_held_frame_by_the_filter_constant() -> None:
    op = make_operator("tmo", "deep", {"smoothing": 5.0})
    start, target = torch.zeros(1, 16, 16, 16), torch.ones(1, 16, 16, 16)
    assert torch.equal(op.filtered_curves(start, 1.0), start)
    for n in range(1, 31):
        grid = op.filtered_curves(target, 0.0)
        # A first-order IIR with a time constant of 5 frames: the gap shrinks by exp(-1/5) a frame.
        assert torch.allclose(1.0 - grid, torch.full_like(grid, math.exp(-n / 5.0)), atol=1e-5)
    assert float((1.0 - grid).max()) < 3e-3


def test_a_held_frame_converges_to_the_still_and_the_first_frame_is_the_still() -> None:
    held = scene_nits(2)
    before = held * 2.0**0.4  # 0.4 stops brighter: below the stabiliser's cut test
    out = run_sequence([before] + [held] * 300)
    assert torch.equal(out[0], still_mapping(before))
    # The second frame still adapts to a key between the two: not yet the still's mapping.
    assert float((out[1] - still_mapping(held)).abs().max()) > 1e-2
    # The stabiliser's key and the operator's filter (20 frames each) settle: the still's mapping remains.
    assert float((out[-1] - still_mapping(held)).abs().max()) < 1e-4


def test_a_cut_or_a_seek_resets_the_adaptation() -> None:
    frames = [scene_nits(1)] * 5 + [scene_nits(2, scale=200.0 * 2.0**3)]
    out = run_sequence(frames)
    # Three stops up: the stabiliser's cut test lets the new shot through at once, curves included.
    assert torch.allclose(out[-1], still_mapping(frames[-1]), atol=1e-6)
    seek = run_sequence([scene_nits(1) * 2.0**0.4, scene_nits(2)], indices=[0, 40])
    assert torch.allclose(seek[1], still_mapping(scene_nits(2)), atol=1e-6)
    steady = run_sequence([scene_nits(1) * 2.0**0.4, scene_nits(2)])
    assert float((steady[1] - still_mapping(scene_nits(2))).abs().max()) > 1e-2


def pan_flicker(smoothing: float, step: int = 16, frames: int = 12) -> float:
    """Mean motion-compensated flicker (PU21 units, engine.metrics.flicker) of a pan across a wide
    scene by `step` pixels a frame: over the pixels two frames share the scene is the same, so
    every change of their SDR picture is one the operator adds."""
    wide = hdr_scene(72, 128 + step * frames, seed=4) * 200.0
    scenes = [wide[:, :, step * i:step * i + 128] for i in range(frames)]
    shown = [pu21_luminance(out * 100.0) for out in run_sequence(scenes, smoothing)]
    reference = [pu21_luminance(s) for s in scenes]
    return statistics.fmean(
        flicker(shown[i - 1][..., step:], shown[i][..., :-step], reference[i - 1][..., step:],
                reference[i][..., :-step]) for i in range(1, frames))


def test_filtering_lowers_the_flicker_of_a_pan() -> None:
    unfiltered, filtered = pan_flicker(0.0), pan_flicker(DEFAULT_SMOOTHING)
    print(f"pan flicker: unfiltered {unfiltered:.4f}, filtered {filtered:.4f}")
    assert filtered < 0.9 * unfiltered
