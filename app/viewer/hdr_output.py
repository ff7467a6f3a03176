"""HDR output through QRhi: the signals an HDR swap chain takes, their detection, and a QRhiWidget
that draws the graded frame (cd/m², BT.2020) as that signal.

Qt 6.6+ swap chains offer three HDR formats (QRhiSwapChain.Format):

- HDR10: 10-bit SMPTE ST 2084 (PQ) code values of BT.2020 light (Vulkan, D3D11/12);
- HDRExtendedSrgbLinear: half-float linear light in BT.709 primaries, extended range (scRGB,
  IEC 61966-2-2), where 1.0 is 80 cd/m² on Windows and the SDR white of the display (EDR) on
  macOS; negative values carry colours outside BT.709, values above 1 the highlights;
- HDRExtendedDisplayP3Linear: the same in Display P3 primaries (Metal).

What PySide6 (6.11) lets Python do, and so what this module does: QRhi.create takes init
parameters for OpenGL ES 2 and Null only, QWindow has no setVulkanInstance and
QRhi.beginOffscreenFrame loses its command buffer, so a Vulkan, Metal or D3D QRhi exists in
Python only inside a QRhiWidget, whose API is chosen per top-level window. HdrPreviewWidget is
such a widget; once Qt has made its QRhi it asks a swap chain on its window which HDR formats
the screen takes (QRhiSwapChain.isFormatSupported, which the platform answers from the
display's state) and reports them on `formats_found`. The window (app.viewer.hdr_window) keeps
it only when one is HDR; elsewhere, under Xvfb and on OpenGL among others, the SDR OpenGL
preview stays. The shader (shaders/hdr_output.vert/.frag, baked by shaders/bake_qsb.sh into
.qsb files holding SPIR-V, GLSL, HLSL and MSL) encodes the frame for the format found.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import (
    QColor,
    QRhi,
    QRhiBuffer,
    QRhiCommandBuffer,
    QRhiDepthStencilClearValue,
    QRhiGraphicsPipeline,
    QRhiSampler,
    QRhiShaderResourceBinding,
    QRhiShaderStage,
    QRhiSwapChain,
    QRhiTexture,
    QRhiTextureSubresourceUploadDescription,
    QRhiTextureUploadDescription,
    QRhiTextureUploadEntry,
    QRhiViewport,
    QShader,
)
from PySide6.QtWidgets import QRhiWidget, QWidget

from engine.assets import SHADERS_DIR
from engine.color.primaries import BT709, BT2020, P3_D65, Primaries, conversion_matrix
from engine.constants import SDR_REFERENCE_WHITE_NITS

SCRGB_NITS_PER_UNIT = 80.0  # scRGB 1.0 on Windows (IEC 61966-2-2; Microsoft's HDR guidance)
UNIFORM_BYTES = 112  # std140: mat4 + three vec4 (shaders/hdr_output.frag, block Output)


@dataclass(frozen=True)
class HdrSignal:
    """What an HDR swap chain format takes: PQ or linear light, in which primaries."""

    name: str
    swap_chain_format: QRhiSwapChain.Format
    pq: bool
    primaries: Primaries

    def nits_per_unit(self, reference_white: float) -> float:
        """cd/m² of a linear 1.0: scRGB's 80 on Windows; on macOS (EDR) 1.0 is SDR white, here
        the grade's reference white; PQ is absolute."""
        if self.pq:
            return 1.0
        return reference_white if sys.platform == "darwin" else SCRGB_NITS_PER_UNIT


HDR10 = HdrSignal("HDR10 (PQ, BT.2020)", QRhiSwapChain.Format.HDR10, True, BT2020)
SCRGB = HdrSignal("extended-linear sRGB (scRGB)", QRhiSwapChain.Format.HDRExtendedSrgbLinear, False, BT709)
P3_LINEAR = HdrSignal("extended-linear Display P3", QRhiSwapChain.Format.HDRExtendedDisplayP3Linear, False,
                      P3_D65)
HDR_SIGNALS = (HDR10, SCRGB, P3_LINEAR)  # in order of preference: PQ needs no OS tone mapping


def platform_api() -> QRhiWidget.Api:
    """The QRhi back end whose swap chains carry HDR on this platform."""
    if sys.platform == "darwin":
        return QRhiWidget.Api.Metal
    if sys.platform == "win32":
        return QRhiWidget.Api.Direct3D11
    return QRhiWidget.Api.Vulkan


def hdr_formats(rhi: QRhi, widget: QWidget) -> list[HdrSignal]:
    """The HDR signals a swap chain on `widget`'s window supports: what the screen takes now.

    OpenGL swap chains are SDR only; Vulkan asks the surface's formats, D3D the output's
    colour space, Metal the screen's extended dynamic range.
    """
    handle = widget.window().windowHandle()
    if handle is None:
        return []
    chain = rhi.newSwapChain()
    chain.setWindow(handle)
    found = [s for s in HDR_SIGNALS if chain.isFormatSupported(s.swap_chain_format)]
    chain.destroy()
    return found


def fit_rect(image: tuple[int, int], view: tuple[int, int]) -> tuple[float, float, float, float]:
    """The texture coordinates (x0, y0, width, height) spanning `view` when the image (W, H) is
    fitted inside it, centred: coordinates outside [0, 1] are the black border."""
    scale = min(view[0] / image[0], view[1] / image[1])
    width, height = view[0] / (image[0] * scale), view[1] / (image[1] * scale)
    return (1.0 - width) / 2.0, (1.0 - height) / 2.0, width, height


def uniform_block(signal: HdrSignal, exposure_stops: float, peak_nits: float, reference_white: float,
                  rect: tuple[float, float, float, float], y_up: bool) -> bytes:
    """The std140 bytes of the shader's Output block for `signal`."""
    to_output = np.eye(4, dtype=np.float32)
    to_output[:3, :3] = conversion_matrix(BT2020, signal.primaries)
    scale = (2.0**exposure_stops, 1.0 / signal.nits_per_unit(reference_white), peak_nits, float(signal.pq))
    ndc = (1.0 if y_up else -1.0, 0.0, 0.0, 0.0)
    # GLSL matrices are column-major: the transpose's rows are the columns.
    values = np.concatenate([to_output.T.ravel(), scale, rect, ndc]).astype(np.float32)
    return values.tobytes()


def _shader(name: str) -> QShader:
    return QShader.fromSerialized((SHADERS_DIR / f"{name}.qsb").read_bytes())


class HdrPreviewWidget(QRhiWidget):
    """The graded frame, fitted, through the HDR signal's encoding, drawn with QRhi."""

    formats_found = Signal(list)  # the HdrSignals the screen takes, once Qt has made the QRhi

    def __init__(self, api: QRhiWidget.Api, parent: QWidget | None = None,
                 texture_format: QRhiWidget.TextureFormat = QRhiWidget.TextureFormat.RGBA16F) -> None:
        super().__init__(parent)
        self.setApi(api)
        self.setColorBufferFormat(texture_format)  # float: the signal must not be clipped at 1
        self.signal: HdrSignal = HDR10
        self.exposure = 0.0
        self.peak_nits = 1000.0
        self.reference_white = SDR_REFERENCE_WHITE_NITS
        self._frame: np.ndarray | None = None  # (H, W, 4) float16, the latest frame
        self._uploaded = False  # whether the texture holds it
        self._rhi: QRhi | None = None
        self._texture: QRhiTexture | None = None

    def set_frame(self, frame: np.ndarray) -> None:
        """(H, W, 3) float16 cd/m² (BT.2020), row 0 at the top: the worker's graded frame."""
        height, width = frame.shape[:2]
        rgba = np.ones((height, width, 4), np.float16)
        rgba[..., :3] = frame
        self._frame, self._uploaded = rgba, False
        self.update()

    def set_output(self, signal: HdrSignal, exposure: float, peak_nits: float,
                   reference_white: float) -> None:
        """The signal to encode, view exposure in stops, the mastering peak (PQ clips there) and
        the reference white (EDR's 1.0 on macOS)."""
        self.signal, self.exposure, self.peak_nits = signal, exposure, peak_nits
        self.reference_white = reference_white
        self.update()

    # -- QRhiWidget -----------------------------------------------------------------------
    def initialize(self, cb: QRhiCommandBuffer) -> None:
        rhi = self.rhi()
        if rhi is self._rhi:
            return  # a resize: the pipeline and buffers stay
        self._rhi = rhi
        self._texture = None
        self._uniforms = rhi.newBuffer(QRhiBuffer.Type.Dynamic, QRhiBuffer.UsageFlag.UniformBuffer,
                                       UNIFORM_BYTES)
        self._uniforms.create()
        linear, clamp = QRhiSampler.Filter.Linear, QRhiSampler.AddressMode.ClampToEdge
        self._sampler = rhi.newSampler(linear, linear, QRhiSampler.Filter.None_, clamp, clamp)
        self._sampler.create()
        self._bindings = rhi.newShaderResourceBindings()
        self._ensure_texture((1, 1))
        self._pipeline = rhi.newGraphicsPipeline()
        self._pipeline.setShaderStages([
            QRhiShaderStage(QRhiShaderStage.Type.Vertex, _shader("hdr_output.vert")),
            QRhiShaderStage(QRhiShaderStage.Type.Fragment, _shader("hdr_output.frag")),
        ])
        self._pipeline.setTopology(QRhiGraphicsPipeline.Topology.Triangles)
        self._pipeline.setShaderResourceBindings(self._bindings)
        self._pipeline.setRenderPassDescriptor(self.renderTarget().renderPassDescriptor())
        self._pipeline.create()
        self._uploaded = False  # a new QRhi: the frame goes to its new texture
        self.formats_found.emit(hdr_formats(rhi, self))

    def _ensure_texture(self, size: tuple[int, int]) -> None:
        if self._texture is not None and self._texture.pixelSize() == QSize(*size):
            return
        assert self._rhi is not None
        if self._texture is not None:
            self._texture.destroy()
        self._texture = self._rhi.newTexture(QRhiTexture.Format.RGBA16F, QSize(*size))
        self._texture.create()
        stage = QRhiShaderResourceBinding.StageFlag
        both = stage.VertexStage | stage.FragmentStage  # the vertex stage reads the NDC orientation
        self._bindings.destroy()
        self._bindings.setBindings([
            QRhiShaderResourceBinding.uniformBuffer(0, both, self._uniforms),
            QRhiShaderResourceBinding.sampledTexture(1, stage.FragmentStage, self._texture, self._sampler),
        ])
        self._bindings.create()

    def render(self, cb: QRhiCommandBuffer) -> None:
        rhi = self._rhi
        assert rhi is not None
        batch = rhi.nextResourceUpdateBatch()
        frame = self._frame
        size = (frame.shape[1], frame.shape[0]) if frame is not None else None
        if frame is not None and not self._uploaded:
            self._ensure_texture((frame.shape[1], frame.shape[0]))
            upload = QRhiTextureSubresourceUploadDescription(frame.tobytes())
            entry = QRhiTextureUploadEntry(0, 0, upload)
            batch.uploadTexture(self._texture, QRhiTextureUploadDescription(entry))
            self._uploaded = True
        target = self.renderTarget()
        pixels = target.pixelSize()
        rect = fit_rect(size, (pixels.width(), pixels.height())) if size else (0.0, 0.0, 0.0, 0.0)
        block = uniform_block(self.signal, self.exposure, self.peak_nits, self.reference_white, rect,
                              rhi.isYUpInNDC())
        batch.updateDynamicBuffer(self._uniforms, 0, block)
        cb.beginPass(target, QColor(0, 0, 0), QRhiDepthStencilClearValue(1.0, 0), batch)
        if size is not None:
            cb.setGraphicsPipeline(self._pipeline)
            cb.setViewport(QRhiViewport(0, 0, pixels.width(), pixels.height()))
            cb.setShaderResources()
            cb.draw(3)
        cb.endPass()

    def releaseResources(self) -> None:
        for name in ("_pipeline", "_bindings", "_sampler", "_uniforms", "_texture"):
            resource = getattr(self, name, None)
            if resource is not None:
                resource.destroy()
        self._rhi = self._texture = None
