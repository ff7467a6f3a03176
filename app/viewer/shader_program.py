"""Compiling shaders/preview.frag (with shaders/lut.glsl) and setting its uniforms.

The shader's constants (enum values, array sizes) are not written in GLSL: the caller passes
them as #defines built from the Python enums and tables, as tev does, so they cannot drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
from OpenGL import GL

from engine.assets import SHADERS_DIR
from engine.lut import Lut1D


def fragment_source(defines: Mapping[str, int]) -> str:
    """preview.frag with `defines` and lut.glsl inserted after its #version line (GLSL has no
    #include)."""
    version, _, body = (SHADERS_DIR / "preview.frag").read_text(encoding="utf-8").partition("\n")
    lut = (SHADERS_DIR / "lut.glsl").read_text(encoding="utf-8")
    header = "".join(f"#define {name} {int(value)}\n" for name, value in defines.items())
    # #line keeps compiler messages pointing at preview.frag's own line numbers.
    return f"{version}\n{header}{lut}\n#line 2\n{body}"


@dataclass(frozen=True)
class ViewVariant:
    """The view's modes that preview.frag takes as compile-time VIEW_* constants, not uniforms.

    Each combination in use gets its own program: branches on constants are folded away, where a
    branch on a uniform costs both sides per pixel on a CPU rasteriser (llvmpipe).
    """

    compare: int           # a CompareMode
    colour: int            # the index of the DisplayTransform's colour mode in COLOR_MODES
    gain: bool             # the DisplayTransform has a gain LUT
    encode: bool           # ... and an encode LUT
    false_colour: bool
    mask: int              # a MaskView: MASK_NONE, a mask texture channel, or MASK_CLUES
    has_a: bool            # a source frame is uploaded
    has_b: bool            # a result frame is uploaded

    def defines(self) -> dict[str, int]:
        return {f"VIEW_{name.upper()}": int(value) for name, value in asdict(self).items()}


def vertex_source() -> str:
    return (SHADERS_DIR / "preview.vert").read_text(encoding="utf-8")


def _compile(stage: int, source: str) -> int:
    shader = GL.glCreateShader(stage)
    GL.glShaderSource(shader, source)
    GL.glCompileShader(shader)
    if not GL.glGetShaderiv(shader, GL.GL_COMPILE_STATUS):
        log = GL.glGetShaderInfoLog(shader).decode(errors="replace")
        GL.glDeleteShader(shader)
        raise RuntimeError(f"preview shader does not compile: {log.strip()}")
    return shader


class ShaderProgram:
    """The linked preview program; uniform locations are looked up once and cached."""

    def __init__(self, defines: Mapping[str, int]) -> None:
        vert = _compile(GL.GL_VERTEX_SHADER, vertex_source())
        frag = _compile(GL.GL_FRAGMENT_SHADER, fragment_source(defines))
        self.program = GL.glCreateProgram()
        GL.glAttachShader(self.program, vert)
        GL.glAttachShader(self.program, frag)
        GL.glLinkProgram(self.program)
        GL.glDeleteShader(vert)
        GL.glDeleteShader(frag)
        if not GL.glGetProgramiv(self.program, GL.GL_LINK_STATUS):
            log = GL.glGetProgramInfoLog(self.program).decode(errors="replace")
            raise RuntimeError(f"preview shader does not link: {log.strip()}")
        self._locations: dict[str, int] = {}

    def use(self) -> None:
        GL.glUseProgram(self.program)

    def location(self, name: str) -> int:
        loc = self._locations.get(name)
        if loc is None:
            loc = self._locations[name] = GL.glGetUniformLocation(self.program, name)
        return loc

    def set_int(self, name: str, value: int) -> None:
        GL.glUniform1i(self.location(name), int(value))

    def set_float(self, name: str, value: float) -> None:
        GL.glUniform1f(self.location(name), float(value))

    def set_vec2(self, name: str, x: float, y: float) -> None:
        GL.glUniform2f(self.location(name), float(x), float(y))

    def set_ivec2(self, name: str, x: int, y: int) -> None:
        GL.glUniform2i(self.location(name), int(x), int(y))

    def set_vec3(self, name: str, v: tuple[float, float, float]) -> None:
        GL.glUniform3f(self.location(name), *(float(c) for c in v))

    def set_mat3(self, name: str, matrix: np.ndarray) -> None:
        # numpy is row-major, GLSL column-major: let GL transpose.
        GL.glUniformMatrix3fv(self.location(name), 1, GL.GL_TRUE, np.ascontiguousarray(matrix, np.float32))

    def set_float_array(self, name: str, values: np.ndarray) -> None:
        GL.glUniform1fv(self.location(f"{name}[0]"), len(values), np.ascontiguousarray(values, np.float32))

    def set_vec3_array(self, name: str, values: np.ndarray) -> None:
        GL.glUniform3fv(self.location(f"{name}[0]"), len(values), np.ascontiguousarray(values, np.float32))

    def set_lut(self, name: str, lut: Lut1D) -> None:
        """The `Lut` struct of lut.glsl: the range in linear and log2 units, as Lut1D computes them."""
        self.set_float(f"{name}.x_min", lut.x_min)
        self.set_float(f"{name}.x_max", lut.x_max)
        self.set_float(f"{name}.log2_min", lut.log2_min)
        self.set_float(f"{name}.log2_max", lut.log2_max)

    def delete(self) -> None:
        GL.glDeleteProgram(self.program)
