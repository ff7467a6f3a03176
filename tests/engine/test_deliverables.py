"""The deliverables table: one record per format, and the writers and views that follow it."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import get_args

import pytest
import torch

from engine.deliverables import DELIVERABLES, MUXERS, ViewKind
from engine.grade import OutputSettings
from engine.io.encode import SIGNALS, VideoWriter, open_frame_writer
from engine.io.encode_exr import ExrSequenceWriter
from engine.params import param_specs
from tests.cli.conftest import ffprobe

# The codec FFmpeg reports for a stream made by each encoder of the table.
DECODED = {"libx265": "hevc", "prores_ks": "prores", "libx264": "h264"}


def test_the_table_lists_each_format_once_with_a_known_view() -> None:
    assert list(DELIVERABLES) == ["hdr10", "hlg", "prores", "exr", "sdr"]
    assert {d.view for d in DELIVERABLES.values()} == set(get_args(ViewKind))
    fmt = next(s for s in param_specs(OutputSettings) if s.name == "format")
    assert fmt.choices == tuple(DELIVERABLES)
    for d in DELIVERABLES.values():
        if d.writer == "video":
            # The stream carries the view's signal by default, in a container FFmpeg can mux.
            assert d.signals[0] == d.view and set(d.containers) <= set(MUXERS), d.name
            assert d.extension == d.containers[0] and d.bits == (8 if d.view == "sdr" else 10)
        else:
            assert (d.view, d.containers, d.extension, d.encoder) == ("linear", (), "", None)


@pytest.mark.parametrize("name", list(DELIVERABLES))
def test_the_frame_writer_is_the_table_s(tmp_path: Path, name: str) -> None:
    d = DELIVERABLES[name]
    out = tmp_path / f"out{d.extension}"
    writer = open_frame_writer(out, OutputSettings(format=name), width=16, height=16, fps=Fraction(24))
    if d.writer == "exr":
        assert isinstance(writer, ExrSequenceWriter)
        writer.abort()
        assert list(tmp_path.iterdir()) == []
        return
    assert isinstance(writer, VideoWriter)
    assert writer.target.kind == name and writer.target.tags == SIGNALS[d.view]
    for _ in range(2):
        writer.write(torch.full((3, 16, 16), 0.5))
    writer.close()
    # What the file holds, as FFmpeg reads it back: the table's codec and pixel format.
    stream = ffprobe(out, "-show_streams", "-select_streams", "v:0")["streams"][0]
    assert stream["codec_name"] == DECODED[d.encoder]
    if d.encoder == "prores_ks":
        # FFmpeg's ProRes decoder reads every 4444 stream as 12-bit, whatever the encoder was fed.
        assert (stream["profile"], stream["pix_fmt"]) == ("4444", "yuv444p12le")
    else:
        assert stream["pix_fmt"] == d.pix_fmt
