"""The queue file and OTIO timelines: validated whole before anything starts; chunk planning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import numpy as np
import opentimelineio as otio
import pytest

from app.batch_queue import load_queue
from app.cli import main
from engine.batch.plan import Job, Output, frame_chunks, plan_chunks, shot_chunks
from engine.grade import Grade, OperatorChoice
from engine.io.open import open_clip
from tests.batch.conftest import write_grade, write_queue, write_rgb_clip


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_rgb_clip(tmp_path / "clip.mkv", 10, seed=0)


def good_job(clip: Path, out: Path) -> dict[str, Any]:
    return {"input": str(clip), "outputs": [{"format": "prores", "path": str(out / "good.mov")}]}


@pytest.mark.parametrize(("bad", "words"), [
    ({"input": "missing.mkv"}, ["job 2", "missing.mkv"]),
    ({"frames": "4:99"}, ["job 2 (bad)", "outside the clip's 0:10"]),
    ({"outputs": [{"format": "dolby", "path": "x.mp4"}]}, ["job 2 (bad)", "unknown format 'dolby'"]),
    ({"outputs": [{"format": "hdr10", "path": "out/x.avi"}]}, ["job 2 (bad)", "hdr10 needs a .mp4"]),
    ({"outputs": [{"format": "hdr10", "path": "no/x.mp4"}]}, ["job 2 (bad)", "output folder does not exist"]),
    ({"outputs": [{"format": "prores", "path": "out/good.mov"}]}, ["write the same output", "good.mov"]),
    ({"grade": "nograde.json"}, ["job 2 (bad)", "grade file not found"]),
    ({"speed": "fast"}, ["job 2 (bad)", "unknown key 'speed'"]),
    ({"chunk_frames": 0}, ["job 2 (bad)", "chunk_frames"]),
])
def test_a_bad_job_is_named_and_nothing_is_written(clip: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   bad: dict[str, Any], words: list[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    entry = {"name": "bad", "input": str(clip), **bad}
    entry.setdefault("outputs", [{"format": "hdr10", "path": "out/bad.mp4"}])
    queue = write_queue(tmp_path / "queue.json", [good_job(clip, out), entry])
    assert main(["batch", str(queue)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert captured.err.startswith(f"lumigrade: {queue}: ")
    for word in words:
        assert word in captured.err
    assert list(out.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mkv", "out", "queue.json"]  # no state file


def test_queue_paths_are_relative_to_the_queue_and_grades_load(clip: Path, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    grade = write_grade(tmp_path / "look.json", itm="akyuz")
    queue = write_queue(tmp_path / "queue.json", [
        {"input": "clip.mkv", "grade": "look.json", "frames": "2:8", "chunk_frames": 3,
         "outputs": [{"path": "out/a.mp4"}, {"format": "exr", "path": "out/a_exr"}]}])
    [job] = load_queue(queue)
    assert (job.name, job.input, job.frames, job.chunk_frames) == ("clip", clip, (2, 8), 3)
    assert [(o.path, o.format, o.grade.itm.name) for o in job.outputs] == [
        (tmp_path / "out/a.mp4", "hdr10", "akyuz"), (tmp_path / "out/a_exr", "exr", "akyuz")]
    assert Grade.load(grade).itm.name == "akyuz"


def test_timeline_clips_become_jobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each clip's media reference is the input and its source range (in media time, from the
    media's own start timecode) the frames."""
    media = write_rgb_clip(tmp_path / "media.mkv", 20, seed=4)
    timeline = otio.schema.Timeline(name="cut")
    track = otio.schema.Track()
    timeline.tracks.append(track)
    rate = 24
    hour = otio.opentime.RationalTime(3600 * rate, rate)  # the media starts at 01:00:00:00
    available = otio.opentime.TimeRange(hour, otio.opentime.RationalTime(20, rate))
    for name, first, count in (("wide", 2, 5), ("close up", 10, 8)):
        reference = otio.schema.ExternalReference(target_url=media.as_uri(), available_range=available)
        used = otio.opentime.TimeRange(hour + otio.opentime.RationalTime(first, rate),
                                       otio.opentime.RationalTime(count, rate))
        track.append(otio.schema.Clip(name=name, media_reference=reference, source_range=used))
    path = tmp_path / "cut.otio"
    otio.adapters.write_to_file(timeline, str(path))
    out = tmp_path / "renders"
    out.mkdir()

    from app.batch_queue import jobs_from_data, timeline_queue

    jobs = jobs_from_data(timeline_queue(path, ["hlg", "exr"], out, None), path)
    assert [(j.name, j.input, j.frames) for j in jobs] == [
        ("cut-000-wide", media, (2, 7)), ("cut-001-close_up", media, (10, 18))]
    assert [o.path.name for o in jobs[1].outputs] == ["001_close_up_hlg.mp4", "001_close_up_exr"]

    # A clip whose media is missing names the clip; nothing starts.
    track.append(otio.schema.Clip(name="gone", media_reference=otio.schema.ExternalReference(
        target_url=(tmp_path / "gone.mkv").as_uri()), source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(4, rate))))
    otio.adapters.write_to_file(timeline, str(path))
    assert main(["batch", str(path), "--format", "hlg", "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert "gone.mkv" in err and len(err.strip().splitlines()) == 1
    assert list(out.iterdir()) == []


def test_frame_and_shot_chunks() -> None:
    assert frame_chunks(0, 24, 8) == [(0, 8), (8, 16), (16, 24)]
    assert frame_chunks(5, 15, 4) == [(5, 8), (8, 11), (11, 15)]  # near-equal, never above 4
    shots = [range(0, 3), range(3, 10), range(10, 11), range(11, 30)]
    assert shot_chunks(shots, 8) == [(0, 10), (10, 30)]
    assert shot_chunks(shots, 100) == [(0, 30)]


def test_statistics_grades_are_chunked_at_shot_cuts(tmp_path: Path) -> None:
    """An ITM reading stabilised frame statistics (Masia 2009) gets chunks of whole shots, cut
    where the picture changes; a single-frame ITM gets plain frame ranges."""
    path = tmp_path / "cut.mkv"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264rgb", rate=24, options={"qp": "0", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "rgb24"
        rng = np.random.default_rng(5)
        dark = (rng.random((48, 64, 3)) * 40).astype(np.uint8)
        bright = np.full((48, 64, 3), 200, np.uint8)
        bright[:, :32] = 255
        for i in range(12):
            picture = av.VideoFrame.from_ndarray(dark if i < 5 else bright, format="rgb24")
            for packet in stream.encode(picture):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    statistical = Grade(itm=OperatorChoice("masia09"))
    single_frame = Grade(itm=OperatorChoice("bt2408"))
    outputs = (Output(tmp_path / "a.mov", statistical), Output(tmp_path / "b.mov", single_frame))
    job = Job("j", path, (0, 12), outputs, chunk_frames=4)
    with open_clip(path) as clip:
        chunks = plan_chunks(job, clip)
    assert [(c.output, c.start, c.stop) for c in chunks] == [
        (0, 0, 5), (0, 5, 12), (1, 0, 4), (1, 4, 8), (1, 8, 12)]
    assert json.dumps([c.key for c in chunks]) == json.dumps(["j/0/0", "j/0/1", "j/1/0", "j/1/1", "j/1/2"])
