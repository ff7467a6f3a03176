"""The GUI's render queue: File > Add to Render Queue writes a queue `lumigrade batch` accepts,
and the queue dialog runs it off the GUI thread to a real deliverable; the GUI never imports Ray."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from app.batch_queue import load_queue
from engine.grade import Grade, OperatorChoice
from engine.render import render
from tests.app.helpers import open_window
from tests.batch.conftest import decoded_planes, write_rgb_clip

REPO = Path(__file__).resolve().parents[2]


def test_add_to_queue_then_run_it_from_the_dialog(gl_app: QApplication, qtbot: object,
                                                  tmp_path: Path) -> None:
    clip = write_rgb_clip(tmp_path / "shot.mkv", 10, seed=7)
    grade = Grade(itm=OperatorChoice("bt2408"))
    grade = grade.replace(output=dataclasses.replace(grade.output, format="prores"))
    window = open_window(qtbot, tmp_path)
    assert window.actions.open_clip(clip, grade)
    queue = tmp_path / "reel.json"
    assert window.actions.add_to_queue(queue)

    [job] = load_queue(queue)
    assert (job.name, job.input, job.frames) == ("shot", clip, (0, 10))
    [output] = job.outputs
    assert output.path == tmp_path / "shot_prores.mov"
    assert output.grade == window.session.grade

    dialog = window.actions.show_queue(queue)
    assert dialog is not None
    dialog.workers = 1
    dialog.start()
    qtbot.waitUntil(lambda: dialog.succeeded is not None, timeout=90_000)  # type: ignore[attr-defined]
    assert dialog.succeeded, dialog.status.text()
    assert dialog.bars["whole queue"].value() == 1000 and dialog.bars["shot"].value() == 1000
    single = render(clip, tmp_path / "single.mov", grade)
    joined, whole = decoded_planes(output.path), decoded_planes(Path(single.output))
    assert len(joined) == 10 and all(np.array_equal(a, b) for a, b in zip(joined, whole, strict=True))


def test_the_gui_does_not_import_ray() -> None:
    code = "import sys, app.main_window, app.batch_dialog; print('ray' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO,
                            check=True)
    assert result.stdout.strip() == "False"


@pytest.fixture(autouse=True)
def _no_stray_state(tmp_path: Path) -> None:
    """Nothing of a queue's work is left beside the deliverables once it has run."""
    yield
    assert not [p for p in tmp_path.rglob("*.lumigrade-batch")]
