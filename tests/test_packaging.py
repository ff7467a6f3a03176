"""A wheel built from the repository carries what Lumigrade reads at run time, and works alone.

The wheel is built from a copy of the sources (a build in the checkout would reuse setuptools'
build/ folder, where files deleted since can linger), installed with its dependencies into a
fresh virtual environment outside the checkout, and run from a folder outside it with no
PYTHONPATH, so nothing can come from the repository by accident.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from app.viewer.preview_widget import shader_defines
from app.viewer.shader_program import fragment_source
from tests.cli.conftest import ffprobe

REPO = Path(__file__).resolve().parents[1]
# What the build reads: the metadata, the code, and the data folders pyproject.toml maps in.
BUILD_INPUTS = ("pyproject.toml", "README.md", "engine", "app", "shaders", "resources")
# The repository's data folders -> where the wheel carries them (see engine/assets.py).
DATA_FOLDERS = {"shaders": "engine/_assets/shaders", "resources/demo": "engine/_assets/resources/demo",
                "resources/models": "engine/_assets/resources/models"}
# The CPU build cached on the team's machines; pip would otherwise pull a multi-GB CUDA build.
TORCH = "torch==2.13.0"
INSTALL_TIMEOUT_S = 600


def run(cmd: list[str | Path], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run outside the checkout's environment: no PYTHONPATH pointing into the repository."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{cmd} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, source], cwd=dist)
    (built,) = dist.glob("lumigrade-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment with the wheel and its dependencies; torch first, pinned to the CPU build.

    --no-compile: byte-compiling torch's and PySide6's thousands of modules would take most of
    the install's time; the few modules the commands import are compiled when first imported.
    """
    root = tmp_path_factory.mktemp("venv")
    assert not root.is_relative_to(REPO)
    run([sys.executable, "-m", "venv", root], cwd=root)
    pip = [root / "bin" / "python", "-m", "pip", "install", "-q", "--no-compile"]
    run([*pip, TORCH], cwd=root, timeout=INSTALL_TIMEOUT_S)
    run([*pip, wheel], cwd=root, timeout=INSTALL_TIMEOUT_S)
    return root


@pytest.fixture(scope="module")
def installed_resources(venv: Path) -> Path:
    """The installed copy of resources/, as the installed engine.assets finds it."""
    code = "import engine.assets; print(engine.assets.RESOURCES_DIR)"
    return Path(run([venv / "bin" / "python", "-c", code], cwd=venv).stdout.strip())


def checkout_files(folder: str) -> dict[str, str]:
    """File name -> SHA-256 of the files the repository keeps in one of its data folders."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((REPO / folder).iterdir()) if p.is_file()}


def test_wheel_carries_shaders_demo_clip_and_weights(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        for folder, packaged in DATA_FOLDERS.items():
            inside = {Path(n).name: hashlib.sha256(archive.read(n)).hexdigest()
                      for n in archive.namelist() if Path(n).parent.as_posix() == packaged}
            assert inside == checkout_files(folder), folder
    assert {"preview.frag", "preview.vert", "lut.glsl"} <= checkout_files("shaders").keys()
    assert {"candle_push.mp4", "NOTICE.md"} <= checkout_files("resources/demo").keys()
    assert {"masked_unet.safetensors", "refine_unet.safetensors", "SHA256SUMS"} <= (
        checkout_files("resources/models").keys())


def test_wheel_carries_every_package_of_the_checkout(wheel: Path) -> None:
    # pyproject.toml lists the packages by hand; a new one missing there would be left out.
    wanted = {p.parent.relative_to(REPO).as_posix() for layer in ("engine", "app")
              for p in (REPO / layer).rglob("__init__.py")}
    with zipfile.ZipFile(wheel) as archive:
        packaged = {Path(n).parent.as_posix() for n in archive.namelist() if n.endswith("/__init__.py")}
    assert wanted - packaged == set()


def test_installed_resources_lie_in_the_environment(venv: Path, installed_resources: Path) -> None:
    assert installed_resources.is_relative_to(venv)
    assert not installed_resources.is_relative_to(REPO)


def test_installed_lumigrade_runs_outside_the_checkout(venv: Path, installed_resources: Path,
                                                      tmp_path: Path) -> None:
    lumigrade = venv / "bin" / "lumigrade"
    demo = installed_resources / "demo" / "candle_push.mp4"

    info = json.loads(run([lumigrade, "probe", demo, "--json"], cwd=tmp_path).stdout)
    assert (info["width"], info["height"], info["frame_count"]) == (512, 384, 72)

    names = {op["name"] for op in json.loads(run([lumigrade, "operators", "--json"], cwd=tmp_path).stdout)}
    assert {"bt2408", "masked-cnn", "reinhard"} <= names

    # masked-cnn loads the packaged weights (their SHA-256 checked against the packaged SHA256SUMS).
    out = tmp_path / "demo_hdr10.mp4"
    summary = json.loads(run([lumigrade, "render", demo, "-o", out, "--frames", "0:2", "--itm", "masked-cnn",
                              "--json"], cwd=tmp_path).stdout)
    assert summary["frames"] == 2
    stream = ffprobe(out, "-count_frames", "-show_entries",
                     "stream=codec_name,width,height,color_transfer,color_primaries,nb_read_frames")["streams"][0]
    assert stream == {"codec_name": "hevc", "width": 512, "height": 384, "color_transfer": "smpte2084",
                      "color_primaries": "bt2020", "nb_read_frames": "2"}

    # The GUI's shader loading reads the packaged GLSL (no GL context needed to assemble it).
    code = ("import sys; from app.viewer.shader_program import fragment_source; "
            "from app.viewer.preview_widget import shader_defines; "
            "sys.stdout.write(fragment_source(shader_defines(), ''))")
    installed = run([venv / "bin" / "python", "-c", code], cwd=tmp_path).stdout
    assert installed == fragment_source(shader_defines(), "")
