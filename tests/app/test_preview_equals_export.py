"""THE preview-equals-export test: one graded frame through the GL shader and through the export.

Everything comes from the engine's own Pipeline, as in the app: the graded frame is Pipeline.hdr
of the demo clip's grade, the preview's display chain is Pipeline.preview_display (what the
worker bakes, generated GLSL included), and the export is both of the pipeline's own paths for
the same frame: the stages' output transform (Pipeline.output, the R'G'B' signal) and the
processor the render takes (Pipeline.processor: its display ops and encode, run by the torch
back end on the same frame, giving Y'CbCr codes). The shader renders into a float framebuffer
(read back as float, not 8-bit). Every curve ITM is checked in PQ and HLG, every curve TMO in
SDR (each colour step once); PQ and HLG must agree within 1 code value at 10 bits, SDR within 1
at 8 bits.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from app.viewer.view_state import CompareMode
from engine.deliverables import DELIVERABLES
from engine.grade import Grade, OperatorChoice, OutputSettings
from engine.io.encode import VideoTarget
from engine.io.open import open_clip
from engine.operators.base import CurveOperator
from engine.operators.catalogue import operators
from engine.pipeline import Pipeline
from engine.processor import torch_backend
from engine.processor.build import encode_ops
from engine.processor.formats import TargetFormat
from engine.processor.reference import evaluate
from tests.app.helpers import half_frame, shown_viewer
from tests.engine.processor.test_demo_clip import DEMO

pytestmark = pytest.mark.gui
H, W = 48, 64
VIEW_FORMATS = {"pq": "hdr10", "hlg": "hlg", "sdr": "sdr"}
CURVE_ITMS = tuple(cls.name for cls in operators("itm") if issubclass(cls, CurveOperator))
CURVE_TMOS = tuple(cls.name for cls in operators("tmo") if issubclass(cls, CurveOperator))
# Each colour step of engine.color.correction, on a tone mapper that has the parameters.
COLOUR_STEPS = {"reinhard": {"color": "mantiuk", "saturation": 1.3},
                "drago": {"color": "schlick", "saturation": 0.7}}


def _signal() -> torch.Tensor:
    """(3, H, W) SDR code values in [0, 1]: levels from black to full white along each row, in a
    different tint on each row, so the display tables are read over their whole range."""
    level = torch.linspace(0.0, 1.0, W).expand(H, W)
    tint = torch.stack([torch.linspace(0.4, 1.0, H), torch.linspace(1.0, 0.5, H),
                        torch.linspace(0.6, 0.9, H)])
    return (level[None] * tint[:, :, None]).clamp(0.0, 1.0)


@pytest.fixture(scope="module")
def demo() -> Iterator[object]:
    with open_clip(DEMO) as clip:
        yield clip


def _target(view: str) -> TargetFormat:
    """The render's code planes for the view's deliverable, chroma at full size (pixel for pixel)."""
    fmt = VIEW_FORMATS[view]
    return TargetFormat(DELIVERABLES[fmt].bits, VideoTarget(fmt).tags.matrix)


def _codes(signal: np.ndarray | torch.Tensor, bits: int) -> np.ndarray:
    return np.round(np.asarray(signal, np.float64) * (2**bits - 1))


def _check(qtbot: object, clip: object, grade: Grade, view: str) -> None:
    pipeline = Pipeline(grade, clip, "cpu")  # type: ignore[arg-type]
    target = _target(view)
    processor = pipeline.processor(view, target)
    assert processor is not None, "this grade must render through the per-pixel processor"
    index = 0
    hdr = pipeline.hdr(index, _signal())
    shown = pipeline.preview_display(view, hdr, index)  # what the worker sends the preview
    viewer = shown_viewer(qtbot, W, H, CompareMode.B)
    viewer.set_display_transform(shown, grade.peak_nits)
    frame = half_frame(hdr)
    viewer.set_frames(None, frame)
    preview = viewer.render_offscreen(W, H)[..., :3].astype(np.float64)  # (H, W, 3) R'G'B' signal
    viewer.close()
    # Both sides read the frame the texture holds (half floats), as the app's preview does.
    nits = torch.from_numpy(frame.astype(np.float32)).permute(2, 0, 1)

    stages = pipeline.output(index, nits, view).permute(1, 2, 0).numpy()
    assert np.abs(_codes(preview, target.bits) - _codes(stages, target.bits)).max() <= 1.0
    assert float(stages.std()) > 0.05  # a real picture, not a flat field

    exported = torch.stack(torch_backend.run(processor.display_tail(shown.transform), nits)).numpy()
    previewed = evaluate(encode_ops(target), torch.from_numpy(preview).permute(2, 0, 1).reshape(3, -1))
    assert np.abs(previewed.numpy().reshape(3, H, W) - exported).max() <= 1.0


@pytest.mark.parametrize("view", ["pq", "hlg"])
@pytest.mark.parametrize("itm", CURVE_ITMS)
def test_every_curve_itm_previews_as_it_exports(gl_app: object, qtbot: object, demo: object, itm: str,
                                                view: str) -> None:
    grade = Grade(itm=OperatorChoice(itm), exposure=0.3, saturation=1.1,
                  output=OutputSettings(format=VIEW_FORMATS[view]))
    _check(qtbot, demo, grade, view)


@pytest.mark.parametrize("tmo", CURVE_TMOS)
def test_every_curve_tmo_previews_as_it_exports(gl_app: object, qtbot: object, demo: object,
                                                tmo: str) -> None:
    grade = Grade(itm=OperatorChoice("bt2408"), tmo=OperatorChoice(tmo, COLOUR_STEPS.get(tmo, {})),
                  output=OutputSettings(format="sdr"))
    _check(qtbot, demo, grade, "sdr")


def test_the_suite_covers_every_curve_operator() -> None:
    assert len(CURVE_ITMS) >= 6 and len(CURVE_TMOS) >= 6
    assert set(COLOUR_STEPS) <= set(CURVE_TMOS)
