"""The `estimated` source transform: the network's weights, the baked curve, the Pipeline's cache, the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from engine.color.primaries import BT709, BT2020, convert_primaries
from engine.crf.curves import gamma
from engine.crf.estimate import estimate_clip_response
from engine.crf.net import MODEL_NAME, frame_crops, load_crf_net, predict
from engine.errors import FormatError, GradeError
from engine.grade import Grade, OperatorChoice, SourceTransform
from engine.input_transform import InputTransform
from engine.io.open import open_clip
from engine.models.weights import CHECKSUMS_NAME, MODELS_DIR
from engine.pipeline import Pipeline
from engine.processor.build import eotf_ops
from engine.processor.ops import UniformLut
from engine.processor.optimise import optimise
from engine.processor.reference import evaluate
from tests.engine.crf.scenes import sdr_clip
from tests.engine.processor.conftest import SOURCE, TARGET_420
from tests.engine.processor.test_demo_clip import DEMO
from tests.engine.processor.test_render_path import _encoded_planes


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sdr_clip(tmp_path_factory.mktemp("crf") / "clip.mp4", 4)


def test_weights_load_from_checked_safetensors_and_a_changed_file_is_refused(tmp_path: Path) -> None:
    net, basis = load_crf_net()
    frame = torch.rand(3, 120, 160, generator=torch.Generator().manual_seed(0))
    coefficients = predict(net, basis, [frame])
    assert coefficients.shape == (basis.size,) and bool(torch.isfinite(coefficients).all())
    assert frame_crops(frame).shape == (9, 3, 96, 96)
    name = f"{MODEL_NAME}.safetensors"
    shutil.copy(MODELS_DIR / name, tmp_path / name)
    shutil.copy(MODELS_DIR / CHECKSUMS_NAME, tmp_path / CHECKSUMS_NAME)
    data = bytearray((tmp_path / name).read_bytes())
    data[-5] ^= 0xFF
    (tmp_path / name).write_bytes(bytes(data))
    with pytest.raises(FormatError, match="SHA-256 mismatch"):
        load_crf_net(tmp_path)


def test_estimated_transform_inverts_its_response_in_both_paths() -> None:
    """Exposure -> a camera's signal -> the `estimated` transform gives the exposure back, in the
    stage path (InputTransform.apply) and as the processor's baked table (one entry per code)."""
    curve = gamma(2.4)
    transform = InputTransform("estimated", 2.4, BT709, response=torch.from_numpy(curve.inverse))
    exposure = torch.logspace(-2, 0, 50, dtype=torch.float64)
    signal = curve.encode(exposure).expand(3, 1, -1)
    # A grey ramp keeps R = G = B through BT.709 -> BT.2020.
    back = transform.apply(signal)[0, 0]
    assert torch.allclose(back, exposure, rtol=2e-3)
    ops = eotf_ops(transform, SOURCE)
    folded = optimise(ops)
    assert isinstance(folded[0], UniformLut)
    codes = signal[:, 0].clone()
    assert torch.allclose(evaluate(folded, codes), evaluate(ops, codes), rtol=1e-3, atol=1e-6)


def test_pipeline_estimates_once_per_clip_and_applies_the_curve(clip_path: Path) -> None:
    grade = Grade(source=SourceTransform(transfer="estimated"))
    with open_clip(clip_path) as clip:
        first = Pipeline(grade, clip, "cpu")
        again = Pipeline(grade.replace(exposure=1.0), clip, "cpu")
        estimate = estimate_clip_response(clip)
        assert first.input.transfer == "estimated"
        assert first.input.response is estimate.inverse is again.input.response  # the cached estimate
        assert estimate.frames == (0, 1, 2, 3)
        g = estimate.inverse
        assert (float(g[0]), float(g[-1])) == (0.0, 1.0) and bool((g.diff() >= 0).all())
        signal = clip.frame(2)
        # Every code value lands where the estimated curve puts it (white at reference white).
        codes = first.source(2, signal) / grade.reference_white
        table = np.interp(signal.double().numpy().ravel(), np.linspace(0, 1, g.numel()), g.numpy())
        g_of_signal = torch.from_numpy(table).float().view_as(signal)
        assert torch.allclose(codes, convert_primaries(g_of_signal, BT709, BT2020), atol=1e-5)


def test_a_known_response_is_decoded_through_without_estimating_one(clip_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A response given to the Pipeline (bench/temporal.py's exact camera curve) replaces the
    clip's estimate for the 'estimated' transfer; another transfer does not take it."""
    import engine.crf.estimate

    def refuse(_clip: object) -> None:
        raise AssertionError("the clip's response was estimated although one was given")

    monkeypatch.setattr(engine.crf.estimate, "estimate_clip_response", refuse)
    known = torch.linspace(0.0, 1.0, 1024) ** 3.0
    with open_clip(clip_path) as clip:
        given = Pipeline(Grade(source=SourceTransform(transfer="estimated")), clip, "cpu", response=known)
        other = Pipeline(Grade(source=SourceTransform(transfer="srgb")), clip, "cpu", response=known)
        signal = clip.frame(1)
        linear = given.source(1, signal) / given.grade.reference_white
    assert given.input.response is known and other.input.response is None
    # A cube: a code of 0.5 is an eighth of the clip's light.
    assert torch.allclose(linear, convert_primaries(signal.clamp(0.0, 1.0) ** 3.0, BT709, BT2020), atol=2e-6)


@pytest.mark.parametrize(("table", "problem"), [
    (torch.linspace(0.0, 1.0, 16).view(4, 4), "1-D table"),
    (torch.tensor([0.0, float("nan"), 1.0]), "finite"),
    (torch.tensor([0.0, 0.6, 0.5, 1.0]), "never fall"),
    (torch.linspace(0.0, 2.0, 8), "to 1.0"),
])
def test_a_known_response_that_is_no_camera_curve_is_refused(clip_path: Path, table: torch.Tensor,
                                                             problem: str) -> None:
    with open_clip(clip_path) as clip, pytest.raises(GradeError, match=problem):
        Pipeline(Grade(source=SourceTransform(transfer="estimated")), clip, "cpu", response=table)


def test_estimated_transfer_is_refused_for_hdr_sources(tmp_path: Path) -> None:
    from engine.io.exr import write_exr

    write_exr(tmp_path / "still.exr", torch.ones(3, 4, 4), chromaticities=BT709, white_luminance=100.0)
    with open_clip(tmp_path / "still.exr") as clip, pytest.raises(FormatError, match="SDR camera footage"):
        Pipeline(Grade(source=SourceTransform(transfer="estimated")), clip, "cpu")


def test_cli_param_sets_the_source_transfer(tmp_path: Path) -> None:
    from app.cli import build_parser
    from app.commands.render import build_grade

    def grade_of(*extra: str) -> Grade:
        args = build_parser().parse_args(["render", "in.mp4", "-o", str(tmp_path / "o.mp4"), *extra])
        return build_grade(args)

    grade = grade_of("--param", "source.transfer=estimated", "--itm", "bt2408")
    assert grade.source == SourceTransform(transfer="estimated")
    assert grade.itm.name == "bt2408" and dict(grade.itm.params) == {}
    with pytest.raises(GradeError, match="transfer"):
        grade_of("--param", "source.transfer=guess")


def test_estimated_source_renders_alike_through_the_processor_and_the_stages(monkeypatch: pytest.MonkeyPatch,
                                                                              tmp_path: Path) -> None:
    """The fused processor folds the estimated curve into its EOTF table; the stage path samples
    it: the encoder gets the same planes within one code value."""
    grade = Grade(source=SourceTransform(transfer="estimated"), itm=OperatorChoice("bt2408"))
    with open_clip(DEMO) as clip:
        assert Pipeline(grade, clip, "cpu").processor("pq", TARGET_420) is not None
    fast, _ = _encoded_planes(monkeypatch, tmp_path, grade, False, ".mkv")
    slow, _ = _encoded_planes(monkeypatch, tmp_path, grade, True, ".mkv")
    for got, want in zip(fast, slow, strict=True):
        for a, b in zip(got, want, strict=True):
            assert np.abs(a.astype(np.int64) - b.astype(np.int64)).max() <= 1


def test_a_clip_too_small_for_the_estimator_is_refused_naming_it() -> None:
    small = SimpleNamespace(info=SimpleNamespace(path=Path("small.mov"), frame_count=2),
                            frame=lambda _i: torch.full((3, 48, 64), 0.5))
    with pytest.raises(FormatError, match=r"small\.mov: a frame of 64x48 pixels is too small"):
        estimate_clip_response(small)  # type: ignore[arg-type]
