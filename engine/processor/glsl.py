"""GLSL for the display part of a chain, generated from the ops: the preview's output transform.

The preview (shaders/preview.frag) runs no hand-written colour maths: it calls
`vec3 display_chain(vec3 x)`, generated here from the same folded display ops the export's
processor runs (engine.processor.build.display_chain). Each op becomes a block of GLSL; every
number that changes with a grade or a frame's statistics (matrices, offsets, a colour step's
saturation, a table's range) is a uniform named after the op's position, and every Lut1D a
sampler1D read with lut_sample of shaders/lut.glsl (concatenated before this source), the index
arithmetic of Lut1D.sample. So the source depends only on the chain's structure: the preview's
program cache compiles it once per structure, and new statistics cost uniform and texture
updates only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.display import DisplayTransform
from engine.lut import Lut1D
from engine.processor.build import display_chain
from engine.processor.ops import BLACK_LUMINANCE, Affine, Clamp, LogLut, LumaGain, Op

# engine.color.correction's colour steps with r = C / Y: ratio r Y'; Schlick (1994)
# max(r, 0)^s Y'; Mantiuk et al. (2009), "Color correction for tone mapping", Eq. 3: ((r - 1) s + 1) Y'.
_COLOUR_STEP = {
    "ratio": "ratio * y_out",
    "schlick": "pow(max(ratio, 0.0), vec3({s})) * y_out",
    "mantiuk": "((ratio - 1.0) * {s} + 1.0) * y_out",
}


# A uniform's value: a float, a vec3 or a column-major mat3, or a lut.glsl `Lut` struct by field.
UniformValue = float | np.ndarray | dict[str, float]


@dataclass
class DisplayShader:
    """Generated source, the uniform values it expects and the tables to bind as sampler1D."""

    source: str
    uniforms: dict[str, UniformValue] = field(default_factory=dict)
    tables: dict[str, Lut1D] = field(default_factory=dict)


def _float(value: float) -> str:
    """A GLSL float literal; +inf (an open clamp) as 1e30, beyond any signal."""
    return "1e30" if value == math.inf else repr(float(value))


def _lut(shader: DisplayShader, name: str, lut: Lut1D) -> None:
    shader.tables[f"{name}_table"] = lut
    shader.uniforms[name] = {"x_min": lut.x_min, "x_max": lut.x_max,
                             "log2_min": lut.log2_min, "log2_max": lut.log2_max}


def display_shader(ops: Sequence[Op]) -> DisplayShader:
    """GLSL of `ops` (display ops only); raises TypeError for an op the preview cannot run."""
    shader = DisplayShader("")
    decls: list[str] = []
    body: list[str] = []
    for i, op in enumerate(ops):
        name = f"u_op{i}"
        if isinstance(op, Affine):
            decls += [f"uniform mat3 {name}_matrix;", f"uniform vec3 {name}_offset;"]
            shader.uniforms[f"{name}_matrix"] = np.asarray(op.matrix, np.float32).T.copy()  # column-major
            shader.uniforms[f"{name}_offset"] = np.asarray(op.offset, np.float32)
            body.append(f"x = {name}_matrix * x + {name}_offset;")
        elif isinstance(op, Clamp):
            body.append(f"x = clamp(x, {_float(op.lo)}, {_float(op.hi)});")
        elif isinstance(op, LogLut):
            decls += [f"uniform sampler1D {name}_table;", f"uniform Lut {name};"]
            _lut(shader, name, op.lut)
            body.append(f"x = lut_sample3({name}_table, {name}, x);")
        elif isinstance(op, LumaGain):
            decls += [f"uniform sampler1D {name}_table;", f"uniform Lut {name};"]
            _lut(shader, name, op.gain)
            w = ", ".join(_float(float(v)) for v in op.weights)
            mode = "ratio" if op.is_ratio else op.mode
            if mode != "ratio":
                decls.append(f"uniform float {name}_saturation;")
                shader.uniforms[f"{name}_saturation"] = float(op.saturation)
            step = _COLOUR_STEP[mode].format(s=f"{name}_saturation")
            body += [
                "{",
                f"    float y = max(dot(vec3({w}), x), 0.0);",
                f"    float gain = lut_sample({name}_table, {name}, y);",
            ]
            if op.black_to_zero:
                body += [
                    f"    vec3 ratio = y > {BLACK_LUMINANCE!r} ? x / y : vec3(0.0);",
                    "    float y_out = y * gain;",
                    f"    x = {step};",
                ]
            else:
                body.append("    x = x * gain;")
            body.append("}")
        else:
            raise TypeError(f"the preview shader has no code for {type(op).__name__}")
    lines = [*decls, "", "vec3 display_chain(vec3 x) {", *("    " + b for b in body), "    return x;", "}"]
    shader.source = "\n".join(lines) + "\n"
    return shader


@dataclass(frozen=True)
class PreviewDisplay:
    """What the preview shows frames through: the DisplayTransform (its kind and `apply`, for the
    scopes), its folded display ops, and their generated shader."""

    transform: DisplayTransform
    ops: tuple[Op, ...]
    shader: DisplayShader

    @property
    def is_identity(self) -> bool:
        return self.transform.is_identity


def preview_display(display: DisplayTransform) -> PreviewDisplay:
    """The preview's shader for `display`, from the display ops the export's processor folds."""
    ops = display_chain(display)
    return PreviewDisplay(display, ops, display_shader(ops))
