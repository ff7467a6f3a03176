"""Every back end against the float64 reference over a sweep of 8-bit Y'CbCr input codes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.color.primaries import BT709 as P709
from engine.input_transform import InputTransform
from engine.processor import torch_backend
from engine.processor.formats import chroma_axis
from engine.processor.numba_backend import NumbaProcessor
from engine.processor.optimise import optimise
from engine.processor.reference import evaluate
from tests.engine.processor.conftest import SOURCE, TARGET_420, TARGET_444, chain_for

STRIDE = 3  # every third code per channel: 86^3 = 636 056 triplets, endpoints 0 and 255 included


def _codes() -> torch.Tensor:
    axis = torch.tensor(sorted({*range(0, 256, STRIDE), 255}), dtype=torch.float64)
    return torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij")).reshape(3, -1)


def _worst(out: torch.Tensor, reference: torch.Tensor) -> float:
    """Largest distance of integer output codes from the reference's unrounded codes."""
    return float((out.double() - reference).abs().max())


@pytest.mark.parametrize("grade", [(0.0, 1.0), (0.7, 1.3)])
def test_torch_backend_matches_reference(itm: str, grade: tuple[float, float]) -> None:
    chain = chain_for(itm, exposure=grade[0], saturation=grade[1])
    codes = _codes()
    reference = evaluate(chain, codes, stop_before_quantize=True)
    planes = torch_backend.run(optimise(chain), codes.view(3, 1, -1))
    # Within half a code of the exact value: the back end rounds to one of the two nearest codes.
    assert _worst(torch.stack(planes).view(3, -1), reference) <= 0.5 + 0.02


def test_torch_backend_matches_reference_for_bt709_camera_footage() -> None:
    camera = InputTransform("bt709-camera", 2.4, P709)
    chain = chain_for("bt2408", transform=camera)
    codes = _codes()
    reference = evaluate(chain, codes, stop_before_quantize=True)
    planes = torch_backend.run(optimise(chain), codes.view(3, 1, -1))
    assert _worst(torch.stack(planes).view(3, -1), reference) <= 0.5 + 0.02
    # The scene-referred reading puts mid-tones brighter than BT.1886 does: the output differs.
    assert _worst(reference, evaluate(chain_for("bt2408"), codes, stop_before_quantize=True)) > 10.0


def test_numba_backend_matches_reference(itm: str) -> None:
    chain = chain_for(itm, exposure=0.3, saturation=1.2)
    codes = _codes()
    reference = evaluate(chain, codes, stop_before_quantize=True)
    planes = codes.to(torch.uint8).view(3, 1, -1).numpy()
    out = NumbaProcessor(optimise(chain), SOURCE, TARGET_444)(planes[0], planes[1], planes[2])
    assert _worst(torch.from_numpy(np.stack(out).astype(np.int64)).view(3, -1), reference) <= 0.5 + 0.02


NO_CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
DEVICES = ["cpu", pytest.param("cuda", marks=NO_CUDA)]


@pytest.mark.parametrize("device", DEVICES)
def test_torch_backend_runs_on_the_device_of_its_input(device: str) -> None:
    # 8-bit codes as a decoder hands them over, 4:2:0 output as HDR10 encodes it.
    chain = optimise(chain_for("bt2446a", exposure=0.3, saturation=1.2))
    codes = torch.randint(0, 256, (3, 64, 96), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    planes = torch_backend.run(chain, codes.to(device), subsample=True)
    assert [p.device.type for p in planes] == [device] * 3
    assert [tuple(p.shape) for p in planes] == [(64, 96), (32, 48), (32, 48)]
    # Against the CPU kernel on the same codes (upsampled chroma read directly, 4:4:4 in).
    y, cb, cr = codes.numpy()
    want = NumbaProcessor(chain, SOURCE, TARGET_420)(y, cb, cr)
    for got, expected in zip(planes, want, strict=True):
        assert int((got.cpu().long() - torch.from_numpy(expected.astype(np.int64))).abs().max()) <= 1


def test_numba_top_left_siting_matches_torch_and_the_encoder() -> None:
    """The kernel's second (top-left [1, 2, 1]) chroma pass against the torch back end and
    engine.io.encode.encode_planes on the same frame."""
    from dataclasses import replace

    from engine.io.encode import encode_planes

    chain = optimise(chain_for("bt2446a"))
    codes = torch.randint(0, 256, (3, 48, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    y, cb, cr = codes.numpy()
    want = NumbaProcessor(chain, SOURCE, replace(TARGET_420, siting="topleft"))(y, cb, cr)
    got = torch_backend.run(chain, codes, subsample=True, siting="topleft")
    centre = NumbaProcessor(chain, SOURCE, TARGET_420)(y, cb, cr)
    for plane, expected in zip(got, want, strict=True):
        assert int((plane.long() - torch.from_numpy(expected.astype(np.int64))).abs().max()) <= 1
    assert int(np.abs(want[1].astype(np.int64) - centre[1]).max()) > 1  # the siting changed chroma
    # The encoder's path on a frame whose chroma is one blue sample (Cb > 0). At luma (2, 2),
    # co-sited with chroma (1, 1), it reaches that sample alone, with the filter's centre 4/16.
    # At luma (3, 3), between four chroma sites, it reaches all four with the corner 1/16
    # (centre siting would put it, as 4/16, into chroma (1, 1) alone).
    def cb_of(row: int, col: int) -> np.ndarray:
        frame = torch.zeros(3, 8, 8)
        frame[2, row, col] = 1.0
        return encode_planes(frame, TARGET_420.matrix, 10, True, "topleft")[1].astype(np.int64) - 512

    cosited, between = cb_of(2, 2), cb_of(3, 3)
    peak = cosited[1, 1]
    assert peak > 100 and np.count_nonzero(cosited) == 1
    assert np.count_nonzero(between) == 4
    assert all(abs(between[r, c] - peak / 4) <= 1 for r, c in ((1, 1), (1, 2), (2, 1), (2, 2)))


@pytest.mark.parametrize("chroma_div", [1, 2])
def test_statistics_kernel_gives_the_reference_luminance_on_the_sampling_grid(chroma_div: int) -> None:
    """Without a target the kernel evaluates the luminance at just the pixels engine.stats.measure
    reads (every 4th of every 4th row here), equal to the reference chain's there."""
    from engine.processor.build import decode_ops, eotf_ops
    from engine.processor.grade_processor import LUMINANCE
    from engine.stats import measure, measure_samples
    from tests.engine.processor.conftest import SDR_709

    height, width = 270, 302  # both sides past measure's sampling threshold, odd sizes on the grid
    gen = torch.Generator().manual_seed(3)
    y = torch.randint(16, 236, (height, width), dtype=torch.uint8, generator=gen)
    chroma = torch.randint(16, 241, (2, height // chroma_div, width // chroma_div), dtype=torch.uint8,
                           generator=gen)
    ops = [*decode_ops(SOURCE), *eotf_ops(SDR_709, SOURCE), LUMINANCE]
    (samples,) = NumbaProcessor(optimise(ops), SOURCE, None)(y.numpy(), chroma[0].numpy(), chroma[1].numpy())
    assert samples.shape == (68, 76)
    # The reference on chroma upsampled bilinearly at the source's phase (formats.chroma_axis).
    full = chroma.double()
    if chroma_div > 1:
        (ry, wy), (rx, wx) = (chroma_axis(n, c, p) for n, c, p in
                              ((height, chroma.shape[1], SOURCE.chroma_phase[1]),
                               (width, chroma.shape[2], SOURCE.chroma_phase[0])))
        ry1, rx1 = np.minimum(ry + 1, chroma.shape[1] - 1), np.minimum(rx + 1, chroma.shape[2] - 1)
        wy_, wx_ = torch.from_numpy(wy)[:, None], torch.from_numpy(wx)[None]
        rows = full[:, ry] + (full[:, ry1] - full[:, ry]) * wy_
        full = rows[:, :, rx] + (rows[:, :, rx1] - rows[:, :, rx]) * wx_
    codes = torch.cat([y.double()[None], full]).reshape(3, -1)
    reference = evaluate(ops, codes)[0].view(height, width)
    np.testing.assert_allclose(samples, reference[::4, ::4].numpy(), rtol=1e-4, atol=1e-7)
    got, want = measure_samples(torch.from_numpy(samples)), measure(reference[None].float())
    assert got.log_average == pytest.approx(want.log_average, rel=1e-4)
    assert got.peak == pytest.approx(want.peak, rel=1e-4)
