"""A whole synthetic shot through `lumigrade synth`: files read back with the engine's readers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import OpenEXR
import pytest
import torch

from app.cli import main
from engine.color.primaries import BT709, BT2020, convert_primaries
from engine.errors import FormatError, MediaError, OutputError, RenderCancelled
from engine.io.exr import read_exr, write_exr
from engine.io.open import open_clip
from engine.jobs import CancelToken
from engine.synth.camera import sample_still
from engine.synth.masks import read_mask
from engine.synth.render import SynthSettings, load_still, plan_shot, render_shot, synthesize

FRAMES, WIDTH, HEIGHT = 6, 64, 48


def make_still(path: Path) -> None:
    """A 96x72 BT.709 scene: a soft gradient with a small, very bright 'sun'."""
    ys, xs = torch.meshgrid(torch.arange(72.0), torch.arange(96.0), indexing="ij")
    base = 0.05 + 0.3 * xs / 95.0
    sun = 2.0 * torch.exp(-((xs - 60.0) ** 2 + (ys - 30.0) ** 2) / (2 * 4.0**2))
    frame = torch.stack([base + sun, base * 0.9 + sun, base * 0.7 + 0.8 * sun])
    write_exr(path, frame, chromaticities=BT709, half=False)


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("synth")
    still = root / "still.exr"
    make_still(still)
    out = root / "shot"
    code = main(["synth", str(still), "-o", str(out), "--frames", str(FRAMES), "--size", f"{WIDTH}x{HEIGHT}",
                 "--motion", "pan", "--exposure", "alternating", "--ev", "2", "--seed", "7"])
    assert code == 0
    return still, out


def settings_of(meta: dict) -> SynthSettings:
    return SynthSettings(frames=meta["frames"], fps=meta["fps"], motion=meta["motion"],
                         exposure=meta["exposure"]["mode"], ev=meta["exposure"]["ev"],
                         size=tuple(meta["size"]), crf=meta["crf"]["name"], seed=meta["seed"])


@pytest.fixture(scope="module")
def recorded(shot: tuple[Path, Path]) -> list:
    """The shot rendered again in memory from its meta.json, frame by frame."""
    still, out = shot
    source, _ = read_exr(still)
    settings = settings_of(json.loads((out / "meta.json").read_text()))
    return list(render_shot(source, plan_shot(source, settings), settings))


def test_layout_and_meta(shot: tuple[Path, Path]) -> None:
    still, out = shot
    assert sorted(p.name for p in out.iterdir()) == ["gt", "masks", "meta.json", "sdr.mp4"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporaries left
    meta = json.loads((out / "meta.json").read_text())
    assert meta["source_still"] == str(still) and meta["seed"] == 7 and meta["size"] == [WIDTH, HEIGHT]
    evs = [f["ev"] for f in meta["per_frame"]]
    base = evs[0] - 2.0
    assert evs == pytest.approx([base + (2.0 if i % 2 == 0 else -2.0) for i in range(FRAMES)], abs=1e-12)
    assert [f["multiplier"] for f in meta["per_frame"]] == pytest.approx([2.0**e for e in evs])
    assert meta["nits_scale"] == pytest.approx(203.0 * 2.0 ** evs[0])


def test_ground_truth_reads_back_as_bt2020_with_its_nits_scale(shot: tuple[Path, Path]) -> None:
    still, out = shot
    meta = json.loads((out / "meta.json").read_text())
    source, _ = read_exr(still)
    plan = plan_shot(source, settings_of(meta))
    frames = list(render_shot(source, plan, settings_of(meta)))
    for i in (0, FRAMES - 1):
        gt, info = read_exr(out / "gt" / f"frame_{i:06d}.exr")
        assert info.chromaticities == BT2020 and info.pixel_type == "half"
        assert info.white_luminance == pytest.approx(meta["nits_scale"], rel=1e-6)
        torch.testing.assert_close(gt, frames[i].scene, rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(np.array(meta["per_frame"][i]["affine"]), plan.affines[i])
    # The still was BT.709: the ground truth is its pixels, read with OpenEXR itself, resampled
    # and converted to BT.2020.
    raw = torch.from_numpy(OpenEXR.File(str(still)).channels()["RGB"].pixels.astype(np.float32))
    expected = convert_primaries(sample_still(raw.permute(2, 0, 1), plan.affines[0], (WIDTH, HEIGHT)),
                                 BT709, BT2020)
    gt, _ = read_exr(out / "gt" / "frame_000000.exr")
    torch.testing.assert_close(gt, expected, rtol=1e-3, atol=1e-4)
    # The same EXR folder opens as a linear HDR clip with the right count.
    with open_clip(out / "gt") as clip:
        assert clip.info.frame_count == FRAMES
        assert clip.info.white_luminance == pytest.approx(meta["nits_scale"])


def test_sdr_clip_is_the_recorded_signal(shot: tuple[Path, Path], recorded: list) -> None:
    _, out = shot
    frames = recorded
    with open_clip(out / "sdr.mp4") as clip:
        assert (clip.info.frame_count, clip.info.width, clip.info.height) == (FRAMES, WIDTH, HEIGHT)
        assert clip.info.codec == "h264" and clip.info.bit_depth == 8
        for i in range(FRAMES):
            decoded = clip.frame(i)
            # H.264 at CRF 18 with 4:2:0: within a few code values of what the camera recorded.
            assert float((decoded - frames[i].sdr).abs().mean()) < 3.0 / 255.0
    # Alternating exposure: the bright frames clip the sun, the dark ones do not.
    assert float(frames[0].sdr.amax()) == 1.0
    assert float(frames[1].sdr.amax()) < 1.0


def test_masks_are_the_recoverable_highlights(shot: tuple[Path, Path], recorded: list) -> None:
    _, out = shot
    for i, frame in enumerate(recorded):
        stored = read_mask(out / "masks" / f"frame_{i:06d}.png")
        assert torch.equal(stored, frame.recoverable)
    # The bright frames clip the sun and the dark frames next to them see it: recoverable.
    assert float(recorded[0].recoverable.sum()) > 0
    assert float(recorded[1].recoverable.sum()) == 0


def test_the_same_seed_gives_the_same_shot(shot: tuple[Path, Path]) -> None:
    still, _ = shot
    source = load_still(still)
    settings = SynthSettings(frames=3, size=(32, 24), motion="warp", crf="sigmoid", seed=3)
    a = [f.sdr for f in render_shot(source, plan_shot(source, settings), settings)]
    b = [f.sdr for f in render_shot(source, plan_shot(source, settings), settings)]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_bad_input_raises_typed_errors_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(MediaError):
        synthesize(tmp_path / "missing.exr", tmp_path / "out")
    assert main(["synth", str(tmp_path / "missing.exr"), "-o", str(tmp_path / "out")]) == 2
    bad = tmp_path / "nan.exr"
    frame = torch.ones(3, 40, 40)
    frame[0, 3, 3] = math.nan
    write_exr(bad, frame)
    with pytest.raises(FormatError, match=r"nan\.exr"):
        synthesize(bad, tmp_path / "out", SynthSettings(frames=2, size=(16, 16)))
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("x")
    good = tmp_path / "good.exr"
    write_exr(good, torch.ones(3, 40, 40))
    with pytest.raises(OutputError, match="not empty"):
        synthesize(good, tmp_path / "busy", SynthSettings(frames=2, size=(16, 16)))
    with pytest.raises(FormatError, match="larger than the still"):
        synthesize(good, tmp_path / "out", SynthSettings(frames=2, size=(64, 64)))
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(RenderCancelled):
        synthesize(good, tmp_path / "out", SynthSettings(frames=2, size=(16, 16)), cancel=cancel)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy", "good.exr", "nan.exr"]
