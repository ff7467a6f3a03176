"""GUI test setup: a real X display (pytest-xvfb) and an OpenGL 3.3 core context, or a skip."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

# pytest-xvfb provides the display; the offscreen platform has no GLX, so it is never used here.
os.environ.setdefault("QT_QPA_PLATFORM", "xcb")

from PySide6.QtGui import QOffscreenSurface, QOpenGLContext
from PySide6.QtWidgets import QApplication

from app.viewer.gl_format import install_default_surface_format, preview_surface_format

install_default_surface_format()  # before pytest-qt creates the QApplication


def _gl_problem(app: QApplication) -> str | None:
    context = QOpenGLContext()
    context.setFormat(preview_surface_format())
    if not context.create():
        return "no OpenGL context can be created on this display"
    surface = QOffscreenSurface()
    surface.setFormat(context.format())
    surface.create()
    if not context.makeCurrent(surface):
        return "the OpenGL context cannot be made current"
    version = context.format().version()
    context.doneCurrent()
    if version < (3, 3):
        return f"OpenGL 3.3 core is required, the driver gives {version[0]}.{version[1]}"
    return None


@pytest.fixture(scope="session")
def gl_app(qapp: QApplication) -> Iterator[QApplication]:
    """The QApplication, once an OpenGL 3.3 core context is known to work; skips otherwise."""
    problem = _gl_problem(qapp)
    if problem and os.environ.get("CI"):
        pytest.fail(f"CI must run the GUI tests: {problem}")  # CI installs Xvfb and Mesa
    if problem:
        pytest.skip(problem)
    yield qapp


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 64x48, 6-frame BT.709 H.264 clip made by the ffmpeg CLI (testsrc2: bars, gradients)."""
    path = tmp_path_factory.mktemp("clips") / "tiny.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=24", "-frames:v", "6",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-color_primaries", "bt709", "-color_trc", "bt709",
         "-colorspace", "bt709", str(path)],
        check=True,
    )
    return path
