"""GPU textures of the preview: streamed frames and masks, and 1-D LUT tables.

Textures are allocated once per size and then updated in place with glTexSubImage2D through
a pixel unpack buffer, which is orphaned on every upload so the driver can DMA while the
previous frame is still being drawn.
"""

from __future__ import annotations

import ctypes

import numpy as np
from OpenGL import GL

from engine.lut import Lut1D


class StreamingTexture2D:
    """A persistent 2-D texture (nearest sampling; the shader uses texelFetch) fed through a PBO."""

    def __init__(self, internal_format: int, pixel_format: int, pixel_type: int) -> None:
        self.internal_format = internal_format
        self.pixel_format = pixel_format
        self.pixel_type = pixel_type
        self.texture = int(GL.glGenTextures(1))
        self.pbo = int(GL.glGenBuffers(1))
        self.size: tuple[int, int] | None = None  # (width, height) allocated
        self.allocations = 0  # how many times storage was (re)allocated; the tests read it

    def upload(self, pixels: np.ndarray) -> None:
        """(H, W, C) array, row 0 = top of the image (the shader indexes rows the same way)."""
        height, width = pixels.shape[:2]
        data = np.ascontiguousarray(pixels)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        if self.size != (width, height):
            GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, self.internal_format, width, height, 0,
                            self.pixel_format, self.pixel_type, None)
            for param in (GL.GL_TEXTURE_MIN_FILTER, GL.GL_TEXTURE_MAG_FILTER):
                GL.glTexParameteri(GL.GL_TEXTURE_2D, param, GL.GL_NEAREST)
            self.size = (width, height)
            self.allocations += 1
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, self.pbo)
        GL.glBufferData(GL.GL_PIXEL_UNPACK_BUFFER, data.nbytes, None, GL.GL_STREAM_DRAW)
        GL.glBufferSubData(GL.GL_PIXEL_UNPACK_BUFFER, 0, data.nbytes, data)
        GL.glTexSubImage2D(GL.GL_TEXTURE_2D, 0, 0, 0, width, height, self.pixel_format, self.pixel_type,
                           ctypes.c_void_p(0))
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)

    def bind(self, unit: int) -> None:
        GL.glActiveTexture(GL.GL_TEXTURE0 + unit)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)

    def delete(self) -> None:
        GL.glDeleteTextures([self.texture])
        GL.glDeleteBuffers(1, [self.pbo])


def frame_texture() -> StreamingTexture2D:
    """Engine frames in cd/m² as half floats (H, W, 3) float16: 11-bit mantissa, max 65504."""
    return StreamingTexture2D(GL.GL_RGB16F, GL.GL_RGB, GL.GL_HALF_FLOAT)


def mask_texture() -> StreamingTexture2D:
    """Masks as (H, W, 2) uint8: channel 0 clipped source, channel 1 above the peak."""
    return StreamingTexture2D(GL.GL_RG8, GL.GL_RG, GL.GL_UNSIGNED_BYTE)


class LutTexture:
    """A Lut1D table as a GL_R32F 1-D texture, re-uploaded only when the table changes."""

    def __init__(self) -> None:
        self.texture = int(GL.glGenTextures(1))
        self.lut: Lut1D | None = None
        self.width = 0

    def upload(self, lut: Lut1D) -> None:
        if self.lut is lut:
            return
        table = np.ascontiguousarray(lut.table.detach().cpu().numpy(), dtype=np.float32)
        GL.glBindTexture(GL.GL_TEXTURE_1D, self.texture)
        if self.width != table.shape[0]:
            GL.glTexImage1D(GL.GL_TEXTURE_1D, 0, GL.GL_R32F, table.shape[0], 0, GL.GL_RED, GL.GL_FLOAT, None)
            for param in (GL.GL_TEXTURE_MIN_FILTER, GL.GL_TEXTURE_MAG_FILTER):
                GL.glTexParameteri(GL.GL_TEXTURE_1D, param, GL.GL_NEAREST)
            self.width = table.shape[0]
        GL.glTexSubImage1D(GL.GL_TEXTURE_1D, 0, 0, table.shape[0], GL.GL_RED, GL.GL_FLOAT, table)
        self.lut = lut

    def bind(self, unit: int) -> None:
        GL.glActiveTexture(GL.GL_TEXTURE0 + unit)
        GL.glBindTexture(GL.GL_TEXTURE_1D, self.texture)

    def delete(self) -> None:
        GL.glDeleteTextures([self.texture])
