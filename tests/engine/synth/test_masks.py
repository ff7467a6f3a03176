"""Recoverable-highlight masks on a constructed shot whose answer is known pixel by pixel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import FormatError, MediaError
from engine.synth.camera import sample_still
from engine.synth.masks import read_mask, recoverable_mask, write_mask


def shifted(dx: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, 0.0]])


def test_mask_is_exact_on_a_constructed_pan() -> None:
    # A 40x12 still: value 2 in columns 4..19, 4 in columns 20..23, 0.1 elsewhere.
    still = torch.full((3, 12, 40), 0.1)
    still[:, :, 4:20] = 2.0
    still[:, :, 20:24] = 4.0
    out = (16, 12)
    affines = [shifted(0.0), shifted(8.0), shifted(24.0)]  # frame j shows still columns dx..dx+15
    multipliers = [1.0, 0.25, 1.0]
    peaks = [sample_still(still, a, out).amax(0, keepdim=True) for a in affines]

    mask0 = recoverable_mask(0, peaks[0], affines, multipliers)[0]
    # Frame 0 clips columns 4..15; frame 1 (k = 0.25) sees still columns 8..23, where value 2
    # records as 0.5. Columns 4..7 are clipped but never seen elsewhere.
    expected = torch.zeros(12, 16)
    expected[:, 8:16] = 1.0
    assert torch.equal(mask0, expected)

    # Frame 2 shows only the 0.1 background (columns 24..39): nothing clips.
    assert not bool(recoverable_mask(2, peaks[2], affines, multipliers).any())
    # Frame 1 clips only the value-4 columns (4 x 0.25 = 1.0 reaches the clip level), and no
    # other frame sees them darker: frame 0 does not contain them and frame 2 has k = 1.
    mask1 = recoverable_mask(1, peaks[1], affines, multipliers)[0]
    assert not bool(mask1.any())
    assert bool((multipliers[1] * peaks[1][0] >= 1.0).any())


def test_png_round_trip(tmp_path: Path) -> None:
    mask = torch.zeros(1, 6, 8)
    mask[:, 2:4, 1:7] = 1.0
    write_mask(tmp_path / "m.png", mask)
    assert torch.equal(read_mask(tmp_path / "m.png"), mask)


def test_bad_mask_files_raise_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="not found"):
        read_mask(tmp_path / "missing.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(FormatError, match=r"broken\.png"):
        read_mask(tmp_path / "broken.png")
