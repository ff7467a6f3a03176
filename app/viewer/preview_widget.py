"""The HDR preview: a QOpenGLWidget that draws engine frames through shaders/preview.frag.

Frames arrive as half-float arrays in cd/m² and go to persistent textures once per new frame;
everything a colourist changes while looking (view exposure, zoom, split, opacities) is a uniform
or a LUT texture, so it only costs a redraw. The modes (compare layout, false colour, mask, the
display transform's kind) pick a shader variant (ViewVariant), compiled the first time it is
shown and cached, so the shader carries no per-pixel branches on them.
The display transform arrives as a PreviewDisplay built by the engine's Pipeline: the display
ops its export runs, with their generated GLSL (engine.processor.glsl), which the shader calls.
Frames the engine has encoded already (a spatial tone mapper's SDR, a compare of two grades)
come with an identity DisplayTransform (engine.display.encoded_view): then view exposure and
false colour, which read cd/m², are off.

The preview draws straight into a native window's default framebuffer (a QWindow with its own
OpenGL context, hosted by QWidget.createWindowContainer) and swaps it, rather than into a
QOpenGLWidget: that one draws into a framebuffer object that Qt then composes with the rest of
the top-level window on every frame, which costs as much as the drawing itself on a software
rasteriser (measured on llvmpipe: 10-12 ms at 1280x720, about 35 ms at 1920x1080). The same
context also draws into float framebuffers of any size for read-back (render_offscreen).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from OpenGL import GL
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import (
    QExposeEvent,
    QImage,
    QMouseEvent,
    QOffscreenSurface,
    QOpenGLContext,
    QSurface,
    QWheelEvent,
    QWindow,
)
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.viewer.gl_format import preview_surface_format
from app.viewer.shader_program import ShaderProgram, ViewVariant
from app.viewer.textures import LutTexture, StreamingTexture2D, frame_texture, mask_texture
from app.viewer.view_state import (
    CompareMode,
    MaskView,
    ViewSettings,
    ViewTransform,
    compare_viewport,
    false_colour_bands,
)
from engine.constants import SDR_REFERENCE_WHITE_NITS
from engine.masks import CLUE_COLOURS, ClueSource
from engine.processor.glsl import PreviewDisplay

_MASK_COLOUR = (1.0, 0.0, 0.6)
_DIVIDER_GRAB_PX = 6.0
_MAX_BANDS = 8  # the most false-colour bands the shader takes
# Texture units; the display chain's tables take _UNIT_TABLES and the units after it.
_UNIT_A, _UNIT_B, _UNIT_MASK, _UNIT_CLUES, _UNIT_TABLES = range(5)


def shader_defines() -> dict[str, int]:
    """The preview shader's constants, from the Python enums and tables they mirror."""
    return {
        **{f"COMPARE_{mode.name}": int(mode) for mode in CompareMode},
        **{f"MASK_{view.name}": int(view) for view in MaskView},
        "MAX_BANDS": _MAX_BANDS,
        **{f"CLUE_{source.name}": int(source) for source in ClueSource},
    }


@dataclass
class _GlResources:
    programs: dict[ViewVariant, ShaderProgram]  # compiled on first use of each variant
    vao: int
    frame_a: StreamingTexture2D
    frame_b: StreamingTexture2D
    mask: StreamingTexture2D
    tables: dict[str, LutTexture]  # the display chain's, by sampler name
    clues: StreamingTexture2D


@dataclass
class _PendingFrames:
    source: np.ndarray | None
    result: np.ndarray | None
    mask: np.ndarray | None
    texture_size: tuple[int, int]


class _Surface(QWindow):
    """The native window the preview draws into; its input goes to the PreviewWidget hosting it.

    It never takes keyboard focus: keys pressed in an embedded native window would not reach
    the main window's shortcuts."""

    def __init__(self, owner: PreviewWidget) -> None:
        super().__init__()
        self.owner = owner
        self.setSurfaceType(QSurface.SurfaceType.OpenGLSurface)
        self.setFormat(preview_surface_format())
        self.setFlag(Qt.WindowType.WindowDoesNotAcceptFocus)

    def exposeEvent(self, event: QExposeEvent) -> None:
        if self.isExposed():
            self.owner.present()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.UpdateRequest:
            self.owner.present()
            return True
        return super().event(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.owner.mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.owner.mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self.owner.mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.owner.mouseDoubleClickEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.owner.wheelEvent(event)


class PreviewWidget(QWidget):
    """Source (A) and graded result (B) in cd/m², shown through one PreviewDisplay."""

    pixel_hovered = Signal(int, int)  # image pixel under the cursor; (-1, -1) outside the image
    split_moved = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(160, 90)
        self._redraw_posted = False  # an UpdateRequest is on its way to the surface
        self._surface = _Surface(self)
        # The container owns the window in Qt, but PySide6's createWindowContainer leaves it owned
        # by Python, whose shutdown then deletes it before a widget still holding the container
        # (one closed with deleteLater, say): ~QApplication crashed in QWindowContainer. A QObject
        # parent hands it to C++; the container then reparents it to its own holder.
        QObject.setParent(self._surface, self)
        container = QWidget.createWindowContainer(self._surface, self)
        container.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(container)
        # One context for the window and for off-screen work, so the GL resources exist (and
        # read-back works) before the window is ever shown.
        self._context = QOpenGLContext(self)
        self._context.setFormat(preview_surface_format())
        self._offscreen = QOffscreenSurface(None, self)
        self._offscreen.setFormat(self._context.format())
        self._offscreen.create()
        if not self._context.create():
            raise RuntimeError("the preview cannot create an OpenGL 3.3 core context")
        self._settings = ViewSettings()
        self._transform = ViewTransform()
        self._fit_mode: str | None = "fit"  # "fit", "1:1" or None once the user zooms or pans
        self._display: PreviewDisplay | None = None
        self._peak_nits = 1000.0
        self._reference_white = SDR_REFERENCE_WHITE_NITS
        self._pending: _PendingFrames | None = None
        self._image_size: tuple[int, int] | None = None  # full resolution, even while a proxy is shown
        self._texture_size: tuple[int, int] | None = None
        self._has = (False, False, False)  # the frame shown has a source, a result, a mask
        self._held: _PendingFrames | None = None  # its arrays, kept until each is uploaded
        self._stale: set[int] = set()  # which of them (0 A, 1 B, 2 mask) the textures lack
        self._clues_stale = False  # the clue texture lacks the shown frame's clue map
        self._pending_clues: np.ndarray | None = None
        self._clues_changed = False
        self._has_clues = False
        self._gl: _GlResources | None = None
        # Frames drawn and swapped so far (benchmarks poll it; nothing else needs to know).
        self.frames_presented = 0
        self._drag_last: QPointF | None = None
        self._dragging_divider = False
        self.makeCurrent()
        self._create_gl()
        self.doneCurrent()

    # -- state ----------------------------------------------------------------------------
    @property
    def settings(self) -> ViewSettings:
        return self._settings

    def set_settings(self, settings: ViewSettings) -> None:
        self._settings = settings
        self.update()

    @property
    def transform(self) -> ViewTransform:
        return self._transform

    @property
    def image_size(self) -> tuple[int, int] | None:
        return self._image_size

    @property
    def gl_resources(self) -> _GlResources | None:
        return self._gl

    def set_display_transform(self, display: PreviewDisplay, peak_nits: float,
                              reference_white: float = SDR_REFERENCE_WHITE_NITS) -> None:
        """The per-pixel display work (engine.pipeline.Pipeline.preview_display), and the
        mastering peak and reference white that false colour marks (the grade's)."""
        self._display = display
        self._peak_nits = peak_nits
        self._reference_white = reference_white
        self.update()

    def set_frames(self, source: np.ndarray | None, result: np.ndarray | None,
                   mask: np.ndarray | None = None, scale: float = 1.0) -> None:
        """(H, W, 3) float16 cd/m² frames (row 0 at the top) and an optional (H, W, 2) uint8 mask.

        `scale` < 1: the frames are an engine proxy of a frame that size / scale; zoom, pan and
        pixel positions stay those of the full-resolution frame.
        """
        shaped = next((f for f in (source, result) if f is not None), None)
        texture_size = self._texture_size or (0, 0)
        if shaped is not None:
            texture_size = (int(shaped.shape[1]), int(shaped.shape[0]))
            size = (round(texture_size[0] / scale), round(texture_size[1] / scale))
            if size != self._image_size:
                self._image_size = size
                self._fit_mode = self._fit_mode or "fit"
        self._pending = _PendingFrames(source, result, mask, texture_size)
        self.update()

    def set_clues(self, clues: np.ndarray | None) -> None:
        """The temporal clue map of the shown frame, (H, W, 2) uint8 (app.worker.clue_image), or None."""
        self._pending_clues, self._clues_changed = clues, True
        self.update()

    def fit(self) -> None:
        self._fit_mode = "fit"
        self.update()

    def one_to_one(self) -> None:
        self._fit_mode = "1:1"
        self.update()

    def set_transform(self, transform: ViewTransform) -> None:
        self._fit_mode = None
        self._transform = transform
        self.update()

    # -- geometry -------------------------------------------------------------------------
    def _device_size(self) -> tuple[float, float]:
        ratio = self.devicePixelRatioF()
        return self.width() * ratio, self.height() * ratio

    def _update_transform(self, width: float, height: float) -> None:
        if self._image_size is None or self._fit_mode is None:
            return
        view = compare_viewport(self._settings.compare, width, height)
        if self._fit_mode == "fit":
            self._transform = ViewTransform.fit(self._image_size, view)
        else:
            self._transform = ViewTransform.one_to_one(self._image_size)

    def image_point(self, pos: QPointF) -> tuple[float, float] | None:
        """The image coordinates under a widget position, or None outside the image."""
        if self._image_size is None:
            return None
        ratio = self.devicePixelRatioF()
        width, height = self._device_size()
        x, y = pos.x() * ratio, pos.y() * ratio
        view = compare_viewport(self._settings.compare, width, height)
        if self._settings.compare == CompareMode.SIDE_BY_SIDE and x >= view[0]:
            x -= view[0]
        ix, iy = self._transform.to_image((x, y), view)
        if not (0 <= ix < self._image_size[0] and 0 <= iy < self._image_size[1]):
            return None
        return ix, iy

    def _divider_distance(self, pos: QPointF) -> float:
        s = self._settings
        if s.compare not in (CompareMode.SPLIT, CompareMode.WIPE):
            return math.inf
        width, height = self._device_size()
        ratio = self.devicePixelRatioF()
        angle = math.radians(s.wipe_angle) if s.compare == CompareMode.WIPE else 0.0
        dx, dy = pos.x() * ratio - s.split * width, pos.y() * ratio - height / 2.0
        return abs(dx * math.cos(angle) + dy * math.sin(angle)) / ratio

    # -- events ---------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        if self._image_size is None:
            return
        self._update_transform(*self._device_size())
        ratio = self.devicePixelRatioF()
        width, height = self._device_size()
        view = compare_viewport(self._settings.compare, width, height)
        x, y = event.position().x() * ratio, event.position().y() * ratio
        if self._settings.compare == CompareMode.SIDE_BY_SIDE and x >= view[0]:
            x -= view[0]
        factor = 2.0 ** (event.angleDelta().y() / 480.0)  # one notch = a quarter stop of zoom
        self.set_transform(self._transform.zoomed(factor, (x, y), view))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag_last = event.position()
            self._dragging_divider = self._divider_distance(event.position()) <= _DIVIDER_GRAB_PX

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._drag_last is not None:
            if self._dragging_divider:
                split = min(max(pos.x() / max(self.width(), 1), 0.0), 1.0)
                self._settings = self._settings.replace(split=split)
                self.split_moved.emit(split)
                self.update()
            else:
                self._update_transform(*self._device_size())
                ratio = self.devicePixelRatioF()
                delta = ((pos.x() - self._drag_last.x()) * ratio, (pos.y() - self._drag_last.y()) * ratio)
                self.set_transform(self._transform.panned(delta))
            self._drag_last = pos
        point = self.image_point(pos)
        self.pixel_hovered.emit(*((int(point[0]), int(point[1])) if point else (-1, -1)))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_last = None
        self._dragging_divider = False

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.fit()

    # -- GL -------------------------------------------------------------------------------
    def makeCurrent(self) -> None:
        """Make the preview's context current (on its off-screen surface) for GL calls."""
        if not self._context.makeCurrent(self._offscreen):
            raise RuntimeError("the preview's OpenGL context cannot be made current")

    def doneCurrent(self) -> None:
        self._context.doneCurrent()

    def update(self) -> None:  # type: ignore[override]
        """Schedule one redraw for the next pass of the event loop, however often it is asked.

        Posted rather than QWindow.requestUpdate(), which waits for Qt's update timer (5 ms)
        even when nothing else is drawn: a slider's frame would wait for it every time."""
        super().update()
        if not self._redraw_posted:
            self._redraw_posted = True
            QCoreApplication.postEvent(self._surface, QEvent(QEvent.Type.UpdateRequest))

    def repaint(self) -> None:  # type: ignore[override]
        """Redraw now (benchmarks, tests)."""
        super().repaint()
        self.present()

    def present(self) -> None:
        """Draw into the window's own framebuffer and swap it: nothing composes it afterwards."""
        self._redraw_posted = False
        surface = self._surface
        if not surface.isExposed() or not self._context.makeCurrent(surface):
            return
        ratio = surface.devicePixelRatio()
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self._context.defaultFramebufferObject())
        self._draw(round(surface.width() * ratio), round(surface.height() * ratio))
        self._context.swapBuffers(surface)
        self.frames_presented += 1

    def _create_gl(self) -> None:
        self._gl = _GlResources(
            programs={},
            vao=int(GL.glGenVertexArrays(1)),
            frame_a=frame_texture(),
            frame_b=frame_texture(),
            mask=mask_texture(),
            tables={},
            clues=mask_texture(),
        )

    def _upload_pending(self, gl: _GlResources) -> None:
        """Upload what the view reads of the newest frame. The rest waits in `_held` until a
        view needs it: a frame is 12 MB a texture at 1080p, a third of a slider's redraw on
        llvmpipe, and B alone, without the source, mask or clues, is the usual view."""
        if self._clues_changed:
            self._has_clues = self._pending_clues is not None
            self._clues_changed = False
            self._clues_stale = self._has_clues
        pending, self._pending = self._pending, None
        if pending is not None:
            self._held = pending
            self._texture_size = pending.texture_size
            self._has = (pending.source is not None, pending.result is not None, pending.mask is not None)
            self._stale = {i for i, held in enumerate(self._has) if held}
        s = self._settings
        wanted = {
            0: s.compare != CompareMode.B or not self._has[1],  # B falls back to A when it has none
            1: s.compare != CompareMode.A,
            2: s.mask in (MaskView.CLIPPED, MaskView.OVER_PEAK),
        }
        held = self._held
        if held is not None:
            textures = ((gl.frame_a, held.source), (gl.frame_b, held.result), (gl.mask, held.mask))
            for i in sorted(self._stale):
                pixels = textures[i][1]
                if wanted[i] and pixels is not None:
                    textures[i][0].upload(pixels)
                    self._stale.discard(i)
        if self._clues_stale and s.mask == MaskView.CLUES and self._pending_clues is not None:
            gl.clues.upload(self._pending_clues)
            self._clues_stale = False

    def _draw(self, width: int, height: int) -> None:
        GL.glViewport(0, 0, width, height)
        gl = self._gl
        if gl is not None and self._display is not None:
            self._upload_pending(gl)
        if gl is None or self._display is None or self._image_size is None or not any(self._has[:2]):
            GL.glClearColor(0.08, 0.08, 0.08, 1.0)
            GL.glClear(GL.GL_COLOR_BUFFER_BIT)
            return
        # No clear otherwise: the shader writes every pixel, the background around the image too.
        self._update_transform(width, height)
        variant = self._variant()
        p = gl.programs.get(variant)
        if p is None:
            p = gl.programs[variant] = ShaderProgram({**shader_defines(), **variant.defines()},
                                                     variant.display_chain)
        p.use()
        self._set_frame_uniforms(p, width, height)
        self._set_display_uniforms(p, gl)
        self._set_overlay_uniforms(p)
        gl.frame_a.bind(_UNIT_A)
        gl.frame_b.bind(_UNIT_B)
        gl.mask.bind(_UNIT_MASK)
        gl.clues.bind(_UNIT_CLUES)
        for name, unit in (("u_frame_a", _UNIT_A), ("u_frame_b", _UNIT_B), ("u_mask", _UNIT_MASK),
                           ("u_clues", _UNIT_CLUES)):
            p.set_int(name, unit)
        GL.glBindVertexArray(gl.vao)
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        GL.glBindVertexArray(0)

    def _variant(self) -> ViewVariant:
        s, d = self._settings, self._display
        assert d is not None
        mask_on = self._has_clues if s.mask == MaskView.CLUES else s.mask != MaskView.NONE and self._has[2]
        return ViewVariant(
            compare=int(s.compare),
            # An encoded frame is a signal, not cd/m²: false colour would mislabel it.
            false_colour=s.false_colour and not d.is_identity,
            mask=int(s.mask if mask_on else MaskView.NONE),
            has_a=self._has[0],
            has_b=self._has[1],
            display_chain=d.shader.source,
        )

    def _set_frame_uniforms(self, p: ShaderProgram, width: int, height: int) -> None:
        assert self._image_size is not None
        s = self._settings
        p.set_ivec2("u_image_size", *self._image_size)
        p.set_ivec2("u_texture_size", *(self._texture_size or self._image_size))
        p.set_vec2("u_viewport_size", width, height)
        p.set_float("u_zoom", self._transform.zoom)
        p.set_vec2("u_center", *self._transform.center)
        p.set_float("u_split", s.split)
        p.set_float("u_wipe_angle", math.radians(s.wipe_angle))
        p.set_float("u_ratio_stops", s.ratio_stops)

    def _set_display_uniforms(self, p: ShaderProgram, gl: _GlResources) -> None:
        d = self._display
        assert d is not None
        # An encoded frame is a signal, not light: view exposure would only distort it.
        p.set_float("u_exposure_scale", 1.0 if d.is_identity else 2.0 ** self._settings.exposure)
        p.set_display(d.shader, gl.tables, _UNIT_TABLES)

    def _set_overlay_uniforms(self, p: ShaderProgram) -> None:
        s = self._settings
        bands = false_colour_bands(self._peak_nits, self._reference_white)[:_MAX_BANDS]
        p.set_int("u_band_count", len(bands))
        # ±inf band edges become float limits: GLSL compares them correctly, uniforms reject inf.
        big = np.finfo(np.float32).max
        p.set_float_array("u_band_lo", np.clip([b.lo for b in bands], -big, big))
        p.set_float_array("u_band_hi", np.clip([b.hi for b in bands], -big, big))
        p.set_vec3_array("u_band_colour", np.array([b.colour for b in bands]))
        p.set_float("u_mask_opacity", s.mask_opacity)
        p.set_vec3("u_mask_colour", _MASK_COLOUR)
        p.set_vec3_array("u_clue_colour", np.array([CLUE_COLOURS[source] for source in ClueSource]))

    # -- read-back (tests, benchmarks, screenshots) ---------------------------------------
    def read_framebuffer(self) -> np.ndarray:
        """The frame as the window shows it, drawn at the window's size into an RGBA32F target:
        (H, W, 4) float32, row 0 at the top. The window's own framebuffer is the screen's (8 bits
        under X11), so the float drawing is read instead."""
        width, height = (round(v) for v in self._device_size())
        return self.render_offscreen(width, height)

    def read_screen(self) -> np.ndarray:
        """What the window system shows of the preview window now, as (H, W, 4) uint8 RGBA."""
        image = self._surface.screen().grabWindow(self._surface.winId()).toImage()
        image = image.convertToFormat(QImage.Format.Format_RGBA8888)
        width, height = image.width(), image.height()
        rows = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(height, image.bytesPerLine())
        return rows[:, :width * 4].reshape(height, width, 4).copy()

    def grabFramebuffer(self) -> QImage:
        """The shown frame as an 8-bit RGBA QImage (screenshots; a widget grab misses the GL window)."""
        rgba = np.clip(self.read_framebuffer(), 0.0, 1.0)
        data = np.ascontiguousarray(np.round(rgba * 255.0).astype(np.uint8))
        height, width = data.shape[:2]
        return QImage(data.data, width, height, width * 4, QImage.Format.Format_RGBA8888).copy()

    def render_offscreen(self, width: int, height: int) -> np.ndarray:
        """Draw into a new RGBA32F framebuffer of any size and read it back: (H, W, 4) float32."""
        self.makeCurrent()
        fbo = GL.glGenFramebuffers(1)
        target = GL.glGenTextures(1)
        try:
            GL.glBindTexture(GL.GL_TEXTURE_2D, target)
            GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA32F, width, height, 0, GL.GL_RGBA, GL.GL_FLOAT,
                            None)
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
            GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, target, 0)
            self._draw(width, height)
            pixels = self._read_pixels(width, height)
        finally:
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
            GL.glDeleteFramebuffers(1, [fbo])
            GL.glDeleteTextures([target])
            self.doneCurrent()
        return pixels

    @staticmethod
    def _read_pixels(width: int, height: int) -> np.ndarray:
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        raw = GL.glReadPixels(0, 0, width, height, GL.GL_RGBA, GL.GL_FLOAT)
        pixels = np.frombuffer(raw, dtype=np.float32).reshape(height, width, 4)
        return pixels[::-1].copy()  # GL rows start at the bottom
