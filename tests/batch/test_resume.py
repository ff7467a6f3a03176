"""A queue whose worker process is killed (SIGKILL) mid-queue, then resumed: only the chunks that
were not finished and verified run again, and the deliverables equal a single-process render.

ProRes 4444 is intra only, so the resumed, joined file must decode to the single render's code
values exactly, whichever chunks ran in which process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from engine.grade import Grade
from engine.render import render
from tests.batch.conftest import decoded_planes, write_grade, write_queue, write_rgb_clip

REPO = Path(__file__).resolve().parents[2]


def batch_process(queue: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "app.cli", "batch", str(queue), "--workers", "1", "--json"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=REPO)


def test_killed_worker_then_resume_redoes_only_unfinished_chunks(tmp_path: Path) -> None:
    grade = write_grade(tmp_path / "grade.json")
    clips = [write_rgb_clip(tmp_path / f"{n}.mkv", 36, seed=i) for i, n in enumerate("xyz")]
    out = tmp_path / "out"
    out.mkdir()
    jobs = [{"input": str(c), "grade": str(grade),
             "outputs": [{"format": "prores", "path": str(out / f"{c.stem}.mov")}]} for c in clips]
    queue = write_queue(tmp_path / "queue.json", jobs, chunk_frames=12)
    every = {f"encode:{n}/0/{i}" for n in "xyz" for i in range(3)}

    first = batch_process(queue)
    assert first.stdout is not None
    killed = None
    for line in first.stdout:
        event = json.loads(line)
        # The second chunk has started: kill the process that runs it, as an OOM killer would.
        if event["event"] == "task" and event["key"] == "encode:x/0/1" and killed is None:
            killed = event["pid"]
            os.kill(killed, signal.SIGKILL)
    _, err = first.communicate(timeout=120)
    assert killed is not None
    assert first.returncode == 1 and "worker process died" in err and len(err.strip().splitlines()) == 1

    state = json.loads((tmp_path / "queue.state.json").read_text())
    finished = set(state["tasks"])
    assert "encode:x/0/0" in finished and finished < every

    second = batch_process(queue)
    stdout, err = second.communicate(timeout=180)
    assert second.returncode == 0, err
    summary = json.loads(stdout.splitlines()[-1])
    assert set(summary["tasks_run"]) == every - finished
    assert set(summary["tasks_reused"]) == finished
    pids = {json.loads(line)["pid"] for line in stdout.splitlines() if '"task_done"' in line}
    assert killed not in pids

    assert sorted(p.name for p in out.iterdir()) == ["x.mov", "y.mov", "z.mov"]  # no parts, no temporaries
    single = render(clips[0], tmp_path / "single.mov",
                    Grade.load(grade).replace(output=Grade().output.__class__(format="prores")))
    joined, whole = decoded_planes(out / "x.mov"), decoded_planes(Path(single.output))
    assert len(joined) == len(whole) == 36
    assert all(np.array_equal(a, b) for a, b in zip(joined, whole, strict=True))
