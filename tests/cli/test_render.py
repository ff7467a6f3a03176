"""`lumigrade render` end to end: real files checked with ffprobe, PyAV and OpenEXR."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import OpenEXR
import pytest
import torch

from app.cli import main
from engine.color.transfer import pq_inverse_eotf
from engine.grade import Grade
from engine.operators.catalogue import operators
from tests.cli.conftest import ffprobe


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def decode_planes(path: Path, index: int = 0) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                return [np.frombuffer(p, np.uint16).reshape(p.height, p.line_size // 2)[:, : p.width]
                        for p in frame.planes]
    raise AssertionError("frame not found")


def test_hdr10_render_is_tagged_and_measured(white_clip: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.mp4"
    code, stdout, _ = run_cli(capsys, "render", str(white_clip), "-o", str(out), "--itm", "bt2408", "--json")
    assert code == 0
    summary = json.loads(stdout)
    # BT.2408 baseline: SDR white -> 203 nits; half the frame is white, half grey 128 (BT.1886).
    grey = 203.0 * (128 / 255) ** 2.4
    assert summary["frames"] == 6
    assert summary["max_cll"] == pytest.approx(203.0, abs=0.5)
    assert summary["max_fall"] == pytest.approx((203.0 + grey) / 2, rel=0.01)

    stream = ffprobe(out, "-show_streams", "-select_streams", "v")["streams"][0]
    assert (stream["codec_name"], stream["pix_fmt"]) == ("hevc", "yuv420p10le")
    assert (stream["color_transfer"], stream["color_primaries"], stream["color_space"]) == (
        "smpte2084", "bt2020", "bt2020nc")
    side = ffprobe(out, "-show_frames", "-read_intervals", "%+#1", "-show_entries", "frame=side_data_list")
    kinds = {d["side_data_type"]: d for d in side["frames"][0]["side_data_list"]}
    assert kinds["Content light level metadata"]["max_content"] == 203
    assert kinds["Mastering display metadata"]["max_luminance"] == "10000000/10000"

    # The white half decodes to PQ(203 nits) as 10-bit narrow-range luma.
    y = decode_planes(out)[0]
    expected = round(float(pq_inverse_eotf(torch.tensor(203.0))) * 876 + 64)
    assert abs(int(np.median(y[8:40, 4:24])) - expected) <= 1


def test_exr_render_reads_back_in_nits(white_clip: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "exr"
    code, _, _ = run_cli(capsys, "render", str(white_clip), "-o", str(out), "--format", "exr",
                         "--itm", "bt2408", "--frames", "2:4")
    assert code == 0
    files = sorted(out.glob("*.exr"))
    assert len(files) == 2
    with OpenEXR.File(str(files[0])) as f:
        header = dict(f.header())  # the File clears its header dict on close
        rgb = f.channels()["RGB"].pixels.copy()
    assert header["whiteLuminance"] == pytest.approx(100.0)
    assert tuple(header["chromaticities"])[:2] == pytest.approx((0.708, 0.292))
    # data = nits / whiteLuminance, so the white half holds 2.03.
    assert float(rgb[24, 8, 1]) == pytest.approx(2.03, rel=2e-3)


@pytest.mark.parametrize(
    ("fmt", "codec", "pix_fmt", "transfer"),
    [("hlg", "hevc", "yuv420p10le", "arib-std-b67"), ("prores", "prores", "4444", "smpte2084"),
     ("sdr", "h264", "yuv420p", "bt709")],
)
def test_other_deliverables_are_tagged(white_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       fmt: str, codec: str, pix_fmt: str, transfer: str) -> None:
    out = tmp_path / ("out.mov" if fmt == "prores" else "out.mp4")
    code, _, err = run_cli(capsys, "render", str(white_clip), "-o", str(out), "--format", fmt,
                           "--frames", "0:2")
    assert code == 0, err
    stream = ffprobe(out, "-show_streams", "-select_streams", "v")["streams"][0]
    # FFmpeg's ProRes decoder reports 4444 as 12-bit, so for ProRes the profile is what we check.
    layout = stream["profile"] if codec == "prores" else stream["pix_fmt"]
    assert (stream["codec_name"], layout, stream["color_transfer"]) == (codec, pix_fmt, transfer)


def test_itm_and_params_change_the_result(white_clip: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "akyuz.mp4"
    code, stdout, _ = run_cli(capsys, "render", str(white_clip), "-o", str(out), "--itm", "akyuz",
                              "--param", "gamma=1.0", "--peak-nits", "1000", "--frames", "0:1", "--json")
    assert code == 0
    # Akyüz 2007 maps SDR white to the display peak.
    assert json.loads(stdout)["max_cll"] == pytest.approx(1000.0, rel=0.01)


@pytest.mark.parametrize("name", [cls.name for cls in operators("itm")])
def test_every_itm_operator_renders_from_the_cli(white_clip: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str], name: str) -> None:
    out = tmp_path / f"{name}.mp4"
    code, stdout, err = run_cli(capsys, "render", str(white_clip), "-o", str(out), "--itm", name,
                                "--frames", "0:1", "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    # SDR white (half the frame) lands at or above the BT.2408 reference white, within the peak.
    assert 203.0 * 0.99 <= summary["max_cll"] <= 1000.0 + 1e-3, name
    assert out.stat().st_size > 0


def test_operators_json_lists_every_operator_with_its_params(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run_cli(capsys, "operators", "--json")
    assert code == 0
    listed = {(op["kind"], op["name"]): op for op in json.loads(stdout)}
    assert {(c.kind, c.name) for c in operators()} == set(listed)
    assert {p["name"] for p in listed[("itm", "akyuz")]["params"]} == {"gamma"}


def test_tmo_params_change_the_sdr_deliverable(white_clip: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    def sdr_luma(*extra: str) -> np.ndarray:
        out = tmp_path / f"sdr{len(list(tmp_path.iterdir()))}.mp4"
        code, _, err = run_cli(capsys, "render", str(white_clip), "-o", str(out), "--format", "sdr",
                               "--tmo", "reinhard", "--frames", "0:1", *extra)
        assert code == 0, err
        with av.open(str(out)) as container:
            frame = next(container.decode(video=0))
        return np.frombuffer(frame.planes[0], np.uint8).reshape(frame.planes[0].height, -1)[:, :64]

    default = sdr_luma()
    explicit = sdr_luma("--tmo-param", "key=0.18")
    brighter = sdr_luma("--tmo-param", "key=0.72", "--tmo-param", "color=schlick")
    assert np.array_equal(default, explicit)  # 0.18 is the default key (Reinhard et al. 2002)
    # A higher key maps the grey half brighter (Reinhard 2002, Eq. 2: L = key / L_avg * L_w).
    assert int(np.median(brighter[:, 40:60])) >= int(np.median(default[:, 40:60])) + 30


def test_tmo_params_are_parsed_typed_and_repeatable(tmp_path: Path) -> None:
    from app.cli import build_parser
    from app.commands.render import build_grade

    args = build_parser().parse_args(["render", "in.mp4", "-o", str(tmp_path / "o.mp4"), "--tmo", "reinhard",
                                      "--tmo-param", "key=0.72", "--tmo-param", "color=schlick"])
    grade = build_grade(args)
    assert (grade.tmo.name, dict(grade.tmo.params)) == ("reinhard", {"key": 0.72, "color": "schlick"})
    assert grade.itm == Grade().itm  # --tmo-param leaves the ITM alone
