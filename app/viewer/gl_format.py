"""The OpenGL surface the preview needs: 3.3 core profile, rendering into an RGBA16F target."""

from __future__ import annotations

from PySide6.QtGui import QSurfaceFormat

GL_RGBA16F = 0x881A  # the QOpenGLWidget texture format: float, so PQ/HLG signals keep 10+ bits


def preview_surface_format() -> QSurfaceFormat:
    fmt = QSurfaceFormat()
    fmt.setRenderableType(QSurfaceFormat.RenderableType.OpenGL)
    fmt.setVersion(3, 3)
    fmt.setProfile(QSurfaceFormat.OpenGLContextProfile.CoreProfile)
    fmt.setSwapInterval(0)  # playback timing is ours; vsync would cap and jitter the benchmarks
    return fmt


def install_default_surface_format() -> None:
    """Must run before the QApplication exists, so every context gets the core profile."""
    QSurfaceFormat.setDefaultFormat(preview_surface_format())
