"""bench/train_itm.py keeps the held-out TEST stills out of training (issue 19's split)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.heldout_stills import LICENCES
from bench.train_itm import holds_test_stills, main


def test_the_test_folder_is_refused_before_anything_is_written(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    test = tmp_path / "test"
    test.mkdir()
    (test / "LICENCES.md").write_text(LICENCES)
    out, checkpoints = tmp_path / "out", tmp_path / "checkpoints"
    assert holds_test_stills(test)
    assert main(["--model", "unet", "--data", str(test), "--out", str(out),
                 "--checkpoints", str(checkpoints)]) == 2
    assert "TEST stills" in capsys.readouterr().err
    assert not out.exists() and not checkpoints.exists()


def test_a_tuning_folder_with_another_licence_file_is_not_mistaken_for_test(tmp_path: Path) -> None:
    (tmp_path / "LICENCES.md").write_text("# Tuning stills\n")
    assert not holds_test_stills(tmp_path)
    assert not holds_test_stills(tmp_path / "missing")
