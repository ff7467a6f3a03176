"""`--tmo deep`: the learned tone mapper renders an SDR deliverable and takes its parameters."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.cli.test_render import run_cli


def test_deep_tmo_renders_the_sdr_deliverable(white_clip: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    def sdr_luma(*extra: str) -> np.ndarray:
        out = tmp_path / f"deep{len(list(tmp_path.iterdir()))}.mp4"
        code, _, err = run_cli(capsys, "render", str(white_clip), "-o", str(out), "--format", "sdr",
                               "--tmo", "deep", "--frames", "0:1", *extra)
        assert code == 0, err
        with av.open(str(out)) as container:
            frame = next(container.decode(video=0))
        return np.frombuffer(frame.planes[0], np.uint8).reshape(frame.planes[0].height, -1)[:, :64]

    default = sdr_luma()
    # White stays above grey, both inside the limited-range luma of an 8-bit SDR file.
    white, grey = int(np.median(default[:, 4:28])), int(np.median(default[:, 36:60]))
    assert 16 <= grey < white <= 235
    brighter = sdr_luma("--tmo-param", "exposure=1.5")
    assert int(np.median(brighter[:, 36:60])) > grey + 10
