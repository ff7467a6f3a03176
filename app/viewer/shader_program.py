"""Compiling shaders/preview.frag (with shaders/lut.glsl and a generated display chain) and
setting its uniforms.

The shader's constants (enum values, array sizes) are not written in GLSL: the caller passes
them as #defines built from the Python enums and tables, as tev does, so they cannot drift. The
display transform is not written in GLSL either: engine.processor.glsl generates it from the
display ops the export runs, and ShaderProgram.set_display feeds it its uniforms and tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
from OpenGL import GL

from app.viewer.textures import LutTexture
from engine.assets import SHADERS_DIR
from engine.processor.glsl import DisplayShader


def fragment_source(defines: Mapping[str, int], display_chain: str) -> str:
    """preview.frag with `defines`, lut.glsl and the generated `display_chain` source inserted
    after its #version line (GLSL has no #include)."""
    version, _, body = (SHADERS_DIR / "preview.frag").read_text(encoding="utf-8").partition("\n")
    lut = (SHADERS_DIR / "lut.glsl").read_text(encoding="utf-8")
    header = "".join(f"#define {name} {int(value)}\n" for name, value in defines.items())
    # #line keeps compiler messages pointing at preview.frag's own line numbers.
    return f"{version}\n{header}{lut}\n{display_chain}\n#line 2\n{body}"


@dataclass(frozen=True)
class ViewVariant:
    """The view's modes that preview.frag takes as compile-time VIEW_* constants, not uniforms.

    Each combination in use gets its own program: branches on constants are folded away, where a
    branch on a uniform costs both sides per pixel on a CPU rasteriser (llvmpipe). The display
    chain's source is part of the variant: it changes with the chain's structure only (a view,
    a tone mapper's colour step), never with a grade's numbers or a frame's statistics.
    """

    compare: int           # a CompareMode
    false_colour: bool
    mask: int              # a MaskView: MASK_NONE, a mask texture channel, or MASK_CLUES
    has_a: bool            # a source frame is uploaded
    has_b: bool            # a result frame is uploaded
    display_chain: str     # DisplayShader.source

    def defines(self) -> dict[str, int]:
        modes = {name: value for name, value in asdict(self).items() if name != "display_chain"}
        return {f"VIEW_{name.upper()}": int(value) for name, value in modes.items()}


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

    def __init__(self, defines: Mapping[str, int], display_chain: str) -> None:
        vert = _compile(GL.GL_VERTEX_SHADER, vertex_source())
        frag = _compile(GL.GL_FRAGMENT_SHADER, fragment_source(defines, display_chain))
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

    def set_float_array(self, name: str, values: np.ndarray) -> None:
        GL.glUniform1fv(self.location(f"{name}[0]"), len(values), np.ascontiguousarray(values, np.float32))

    def set_vec3_array(self, name: str, values: np.ndarray) -> None:
        GL.glUniform3fv(self.location(f"{name}[0]"), len(values), np.ascontiguousarray(values, np.float32))

    def set_lut(self, name: str, lut: Mapping[str, float]) -> None:
        """The `Lut` struct of lut.glsl: the range in linear and log2 units, as Lut1D computes them."""
        for field_name in ("x_min", "x_max", "log2_min", "log2_max"):
            self.set_float(f"{name}.{field_name}", lut[field_name])

    def set_display(self, shader: DisplayShader, tables: dict[str, LutTexture], first_unit: int) -> None:
        """The generated display chain's uniforms, and its tables bound from texture unit
        `first_unit` on (LutTextures made as needed in `tables`, which outlives programs)."""
        # Uploads bind to the active unit, so all uploads come before the unit bindings.
        for name, lut in shader.tables.items():
            texture = tables.get(name)
            if texture is None:
                texture = tables[name] = LutTexture()
            texture.upload(lut)
        for unit, name in enumerate(shader.tables, first_unit):
            tables[name].bind(unit)
            self.set_int(name, unit)
        for name, value in shader.uniforms.items():
            if isinstance(value, dict):
                self.set_lut(name, value)
            elif isinstance(value, float):
                self.set_float(name, value)
            elif value.shape == (3, 3):
                # display_shader stores matrices column-major already, as GLSL reads them.
                matrix = np.ascontiguousarray(value, np.float32)
                GL.glUniformMatrix3fv(self.location(name), 1, GL.GL_FALSE, matrix)
            else:
                self.set_vec3(name, tuple(value))

    def delete(self) -> None:
        GL.glDeleteProgram(self.program)
