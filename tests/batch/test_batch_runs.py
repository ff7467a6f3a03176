"""`lumigrade batch` end to end: one 3-clip queue, two deliverables per clip, run on the local
process pool and on a real local Ray cluster, each checked against single-process renders.

Clip A (24 frames) is split into 3 chunks of 8; B and C (12 frames) into 2 chunks each. A's
HDR10 deliverable is joined by stream copy and checked with ffprobe against a single render:
one video stream, the frame count, the colour tags, ST 2086 and MaxCLL/MaxFALL. Chunked x265 is
a lossy encode whose rate control sees only its own chunk, so its pictures cannot equal a
single encode's bit for bit; the frame-equality check therefore uses ProRes 4444, which codes
every frame on its own (intra only), so a joined render and a single one must decode to the
same code values. The EXR sequence is compared pixel for pixel the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import ray
import torch

from app.cli import main
from engine.grade import Grade
from engine.io.exr import read_exr
from engine.render import render
from tests.batch.conftest import (
    decoded_planes,
    ffprobe,
    light_levels,
    write_grade,
    write_queue,
    write_rgb_clip,
)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("batch")
    return {
        "folder": folder,
        "a": write_rgb_clip(folder / "a.mkv", 24, seed=1, audio=True, timecode="01:00:10:12"),
        "b": write_rgb_clip(folder / "b.mkv", 12, seed=2),
        "c": write_rgb_clip(folder / "c.mkv", 12, seed=3),
        "grade": write_grade(folder / "grade.json"),
    }


def queue_for(media: dict[str, Path], name: str) -> tuple[Path, Path]:
    out = media["folder"] / name
    out.mkdir()
    grade = str(media["grade"])
    jobs = [
        {"input": str(media["a"]), "grade": grade, "outputs": [
            {"format": "hdr10", "path": str(out / "a.mp4")},
            {"format": "prores", "path": str(out / "a.mov")}]},
        {"input": str(media["b"]), "grade": grade, "outputs": [
            {"format": "hlg", "path": str(out / "b.mp4")}, {"format": "exr", "path": str(out / "b_exr")}]},
        {"input": str(media["c"]), "grade": grade, "outputs": [
            {"format": "sdr", "path": str(out / "c.mp4")}, {"format": "prores", "path": str(out / "c.mov")}]},
    ]
    return write_queue(media["folder"] / f"{name}.json", jobs, chunk_frames=8), out


def run_batch(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    assert main(["batch", *args, "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.fixture(scope="module")
def singles(media: dict[str, Path]) -> dict[str, Any]:
    """The peers: single-process renders of A (HDR10, ProRes) and B (EXR)."""
    grade = Grade.load(media["grade"])
    folder = media["folder"] / "single"
    folder.mkdir()
    summary = render(media["a"], folder / "a.mp4", grade)
    render(media["a"], folder / "a.mov", grade.replace(output=grade.output.__class__(format="prores")))
    render(media["b"], folder / "b_exr", grade.replace(output=grade.output.__class__(format="exr")))
    render(media["c"], folder / "c.mov", grade.replace(output=grade.output.__class__(format="prores")))
    return {"folder": folder, "hdr10": summary}


def start_timecode_of(path: Path) -> str | None:
    """The start timecode ffprobe reads from any stream's or the container's tags."""
    probe = ffprobe(path, "-show_streams", "-show_format")
    tags = [s.get("tags", {}) for s in probe["streams"]] + [probe["format"].get("tags", {})]
    return next((t["timecode"] for t in tags if "timecode" in t), None)


def check_outputs(out: Path, singles: dict[str, Any], events: list[dict[str, Any]]) -> None:
    single = singles["folder"]
    plan = next(e for e in events if e["event"] == "plan")
    assert plan["chunks"]["a/0"] == [[0, 8], [8, 16], [16, 24]]
    assert plan["chunks"]["b/1"] == [[0, 6], [6, 12]]
    summary = events[-1]
    assert summary["event"] == "summary" and len(summary["written"]) == 6
    assert sorted(summary["tasks_run"]) == sorted(
        [f"measure:a/0/{i}" for i in range(3)] + [f"encode:a/{o}/{i}" for o in range(2) for i in range(3)]
        + [f"encode:{j}/{o}/{i}" for j in "bc" for o in range(2) for i in range(2)])

    # The joined HDR10 file: one video stream (and the source's audio once), every frame, one set of
    # tags, ST 2086, and MaxCLL/MaxFALL over the whole clip, as the single render wrote them.
    streams = ffprobe(out / "a.mp4", "-show_streams", "-count_packets")["streams"]
    video = [s for s in streams if s["codec_type"] == "video"]
    audio = [s for s in streams if s["codec_type"] == "audio"]
    assert len(video) == 1 and len(audio) == 1
    assert int(video[0]["nb_read_packets"]) == 24
    assert (video[0]["codec_name"], video[0]["codec_tag_string"], video[0]["pix_fmt"]) == (
        "hevc", "hvc1", "yuv420p10le")
    assert (video[0]["color_transfer"], video[0]["color_primaries"], video[0]["color_space"]) == (
        "smpte2084", "bt2020", "bt2020nc")
    reference = ffprobe(single / "a.mp4", "-show_streams", "-count_packets")["streams"]
    reference_audio = next(s for s in reference if s["codec_type"] == "audio")
    assert int(reference_audio["nb_read_packets"]) == int(audio[0]["nb_read_packets"])
    assert light_levels(out / "a.mp4") == light_levels(single / "a.mp4")
    assert light_levels(out / "a.mp4")[0] == int(np.ceil(singles["hdr10"].max_cll))
    side = ffprobe(out / "a.mp4", "-select_streams", "v", "-show_frames", "-read_intervals", "%+#1",
                   "-show_entries", "frame=side_data_list")["frames"][0]["side_data_list"]
    mastering = {d["side_data_type"]: d for d in side}["Mastering display metadata"]
    # P3 D65 red (0.680, 0.320) and the grade's 1000 cd/m² peak, in ST 2086 units.
    assert (mastering["max_luminance"], mastering["red_x"]) == ("10000000/10000", "34000/50000")
    # Every picture decodes, in order: 24 frames, presentation times one frame apart.
    times = ffprobe(out / "a.mp4", "-select_streams", "v", "-show_entries", "frame=pts_time", "-show_frames")
    assert np.allclose(np.diff([float(f["pts_time"]) for f in times["frames"]]), 1 / 24, atol=2e-6)

    # The joined files carry the source's start timecode, as the single renders do.
    for name in ("a.mp4", "a.mov"):
        assert start_timecode_of(out / name) == start_timecode_of(single / name) == "01:00:10:12"
    # ProRes (intra only): the joined file decodes to exactly the single render's code values.
    for name in ("a.mov", "c.mov"):
        joined, whole = decoded_planes(out / name), decoded_planes(single / name)
        assert len(joined) == len(whole)
        assert all(np.array_equal(x, y) for x, y in zip(joined, whole, strict=True))
    # The EXR sequence written per chunk and renumbered equals the single render's, frame by frame.
    names = sorted(p.name for p in (out / "b_exr").iterdir())
    assert names == sorted(p.name for p in (single / "b_exr").iterdir()) and len(names) == 12
    for name in names:
        assert torch.equal(read_exr(out / "b_exr" / name)[0], read_exr(single / "b_exr" / name)[0])
    for name, transfer in (("b.mp4", "arib-std-b67"), ("c.mp4", "bt709")):
        stream = ffprobe(out / name, "-show_streams", "-count_packets", "-select_streams", "v")["streams"][0]
        assert (int(stream["nb_read_packets"]), stream["color_transfer"]) == (12, transfer)
    # Nothing but the deliverables is left: no parts, no temporaries.
    assert sorted(p.name for p in out.iterdir()) == ["a.mov", "a.mp4", "b.mp4", "b_exr", "c.mov", "c.mp4"]


def test_local_pool_runs_the_queue(media: dict[str, Path], singles: dict[str, Any],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    queue, out = queue_for(media, "local")
    events = run_batch(capsys, str(queue), "--workers", "2")
    assert {e["pid"] for e in events if e["event"] == "task_done"}.__len__() == 2  # both processes worked
    check_outputs(out, singles, events)
    # Run again: everything is recorded as done and nothing runs.
    again = run_batch(capsys, str(queue), "--workers", "2")
    assert again[-1]["tasks_run"] == [] and len(again[-1]["already_done"]) == 6


@pytest.fixture(scope="module")
def ray_cluster() -> Any:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_cluster_runs_the_same_queue(media: dict[str, Path], singles: dict[str, Any], ray_cluster: Any,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    queue, out = queue_for(media, "ray")
    events = run_batch(capsys, str(queue), "--ray", "auto")
    plan = next(e for e in events if e["event"] == "plan")
    assert (plan["executor"], plan["workers"]) == ("ray", 2)
    check_outputs(out, singles, events)


def test_ray_refuses_a_path_a_worker_cannot_see(ray_cluster: Any, tmp_path: Path) -> None:
    from engine.batch.executors import RayExecutor
    from engine.errors import MediaError

    executor = RayExecutor("auto")
    try:
        executor.check_paths([tmp_path])
        with pytest.raises(MediaError, match="cannot see this path") as caught:
            executor.check_paths([tmp_path, tmp_path / "not-mounted"])
        assert caught.value.path == tmp_path / "not-mounted"
    finally:
        executor.close()
