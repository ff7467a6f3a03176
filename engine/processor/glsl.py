"""GLSL for the display part of a chain, generated from the ops: the preview's output transform.

The display ops (after the graded HDR frame: gain LUT and colour step, matrices, clamps, encode
LUT) become one function `vec3 display_chain(vec3 x)`; each op reads its numbers from uniforms
named after its position, and each Lut1D is a sampler1D sampled with lut_sample of
shaders/lut.glsl (concatenated before this source), the index arithmetic of Lut1D.sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.lut import Lut1D
from engine.processor.ops import Affine, Clamp, LogLut, LumaGain, Op

_COLOUR_STEP = {
    "ratio": "ratio * y_out",
    "schlick": "pow(max(ratio, 0.0), vec3({s})) * y_out",
    "mantiuk": "((ratio - 1.0) * {s} + 1.0) * y_out",
}


@dataclass
class DisplayShader:
    """Generated source, the uniform values it expects and the tables to bind as sampler1D."""

    source: str
    uniforms: dict[str, object] = field(default_factory=dict)
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
            step = _COLOUR_STEP[mode].format(s=_float(op.saturation))
            body += [
                "{",
                f"    float y = max(dot(vec3({w}), x), 0.0);",
                f"    float gain = lut_sample({name}_table, {name}, y);",
            ]
            if op.black_to_zero:
                body += [
                    "    vec3 ratio = y > 1e-12 ? x / y : vec3(0.0);",
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
