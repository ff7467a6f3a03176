"""Held-out HDR stills rendered with Mitsuba 3 (Jakob et al., "Mitsuba 3 renderer", 2022, BSD-3-Clause).

Run by bench/heldout_stills.py in a separate interpreter that has `mitsuba` 3.6.4 (never the
project's environment); it imports nothing from Lumigrade. Releases 3.3.0 to 3.6.4 rendered
the scenes tried to the same pixels; 3.7.1 and later path-trace them differently (nearly every
pixel of a validation scene moves, and a filmic validation shot loses its exposure drift), so
any other release is refused unless `--any-mitsuba` says that figures on other pixels are
wanted (bench/still_digests.py names such stills). Each scene is a small
path-traced interior or exterior with emitters seen directly by the camera, so the still spans
12 to 20 stops, as real scenes with lamps, windows and the sun do. Output: scene-linear RGB
OpenEXR (Rec. 709 primaries, Mitsuba's `scalar_rgb` colour space), one file per scene.
Each still renders as one image block, so on one thread (17 s for a validation scene here):
Mitsuba adds the borders of parallel blocks into the film in the order the threads finish them,
so two parallel renders of a scene differed in about a thousand of their million values (by up
to 2e-6), and the temporal evaluation turns such a change into tenths of a dB
(docs/evaluation.md, "The split"). One block renders the same file byte for byte every time.

    python bench/mitsuba_scenes.py OUT_DIR [--width 768 --height 432 --spp 48] [--set validation]

`--set validation` renders four other scenes (val_*) instead: a validation split of renders for
choices that the TUNING photographs cannot inform (the TEST set is mostly renders, TUNING all
photographs), so that such a choice never needs the TEST scenes. No TEST scene's geometry or
lighting is reused in them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mitsuba as mi

mi.set_variant("scalar_rgb")

MITSUBA_VERSION = "3.6.4"

Scene = dict[str, Any]


def _diffuse(r: float, g: float, b: float) -> dict[str, Any]:
    return {"type": "diffuse", "reflectance": {"type": "rgb", "value": [r, g, b]}}


def _plastic(r: float, g: float, b: float, alpha: float | None = None) -> dict[str, Any]:
    """Rough plastic of roughness `alpha`, or smooth plastic when alpha is None."""
    bsdf: dict[str, Any] = {"type": "plastic" if alpha is None else "roughplastic",
                            "diffuse_reflectance": {"type": "rgb", "value": [r, g, b]}}
    if alpha is not None:
        bsdf["alpha"] = alpha
    return bsdf


def _area(r: float, g: float, b: float) -> dict[str, Any]:
    return {"type": "area", "radiance": {"type": "rgb", "value": [r, g, b]}}


def _sensor(width: int, height: int, spp: int, origin: list[float], target: list[float], fov: float,
            seed: int) -> dict[str, Any]:
    return {
        "type": "perspective", "fov": fov, "fov_axis": "x",
        "to_world": mi.ScalarTransform4f().look_at(origin=origin, target=target, up=[0, 1, 0]),
        "sampler": {"type": "independent", "sample_count": spp, "seed": seed},
        "film": {"type": "hdrfilm", "width": width, "height": height, "rfilter": {"type": "gaussian"},
                 "pixel_format": "rgb"},
    }


def _emitting_sphere(centre: list[float], radius: float, rgb: list[float]) -> dict[str, Any]:
    return {"type": "sphere", "center": centre, "radius": radius,
            "emitter": {"type": "area", "radiance": {"type": "rgb", "value": rgb}}}


def _box(centre: list[float], size: list[float], bsdf: dict[str, Any]) -> dict[str, Any]:
    return {"type": "cube", "bsdf": bsdf,
            "to_world": mi.ScalarTransform4f().translate(centre).scale([s / 2 for s in size])}


def cornell_hot(width: int, height: int, spp: int) -> Scene:
    """The Cornell box with its ceiling light 60x brighter and a glass and a metal sphere."""
    scene = mi.cornell_box()
    scene["sensor"] = _sensor(width, height, spp, [0, 0, 3.9], [0, 0, 0], 52.0, 1)
    scene["light"]["emitter"]["radiance"]["value"] = [18.387 * 60, 13.9873 * 60, 6.75357 * 60]
    scene["glass"] = {"type": "sphere", "center": [-0.4, -0.68, 0.2], "radius": 0.3,
                      "bsdf": {"type": "dielectric"}}
    scene["metal"] = {"type": "sphere", "center": [0.45, -0.7, -0.3], "radius": 0.28,
                      "bsdf": {"type": "roughconductor", "material": "Au", "alpha": 0.08}}
    return scene


def window_room(width: int, height: int, spp: int) -> Scene:
    """A dim room lit through a bright window in the back wall (daylight 3 000x the wall)."""
    wall = _diffuse(0.6, 0.55, 0.5)
    return {
        "type": "scene", "integrator": {"type": "path", "max_depth": 6},
        "sensor": _sensor(width, height, spp, [0.0, 1.2, 4.5], [0.2, 1.1, 0.0], 70.0, 2),
        "floor": {"type": "rectangle", "bsdf": _diffuse(0.35, 0.25, 0.18),
                  "to_world": mi.ScalarTransform4f().rotate([1, 0, 0], -90).scale(4)},
        "ceiling": {"type": "rectangle", "bsdf": wall,
                    "to_world": mi.ScalarTransform4f().translate([0, 3, 0]).rotate([1, 0, 0], 90).scale(4)},
        "back": {"type": "rectangle", "bsdf": wall,
                 "to_world": mi.ScalarTransform4f().translate([0, 1.5, -2]).scale([4, 1.5, 1])},
        "left": {"type": "rectangle", "bsdf": _diffuse(0.3, 0.45, 0.6),
                 "to_world": mi.ScalarTransform4f().translate([-3, 1.5, 0]).rotate([0, 1, 0], 90).scale(4)},
        "window": {"type": "rectangle",
                   "emitter": {"type": "area", "radiance": {"type": "rgb", "value": [300.0, 330.0, 380.0]}},
                   "to_world": mi.ScalarTransform4f().translate([0.8, 1.7, -1.99]).scale([0.7, 0.6, 1])},
        "table": _box([-0.6, 0.4, -0.3], [1.2, 0.8, 0.8], _diffuse(0.4, 0.2, 0.1)),
        "vase": {"type": "sphere", "center": [-0.6, 1.05, -0.3], "radius": 0.25,
                 "bsdf": _plastic(0.1, 0.3, 0.6, 0.05)},
    }


def night_lamps(width: int, height: int, spp: int) -> Scene:
    """A street at night: dark ground and walls, three coloured lamps 10^4 x the ambient light."""
    return {
        "type": "scene", "integrator": {"type": "path", "max_depth": 5},
        "sensor": _sensor(width, height, spp, [0.0, 1.6, 6.0], [0.0, 1.2, 0.0], 75.0, 3),
        "sky": {"type": "constant", "radiance": {"type": "rgb", "value": [0.004, 0.006, 0.012]}},
        "ground": {"type": "rectangle", "bsdf": _diffuse(0.15, 0.15, 0.16),
                   "to_world": mi.ScalarTransform4f().rotate([1, 0, 0], -90).scale(12)},
        "wall": {"type": "rectangle", "bsdf": _diffuse(0.5, 0.4, 0.35),
                 "to_world": mi.ScalarTransform4f().translate([0, 2.5, -3]).scale([10, 2.5, 1])},
        "lamp_a": _emitting_sphere([-2.5, 3.0, -1.5], 0.12, [400.0, 260.0, 90.0]),
        "lamp_b": _emitting_sphere([0.5, 2.6, -2.2], 0.10, [120.0, 220.0, 400.0]),
        "lamp_c": _emitting_sphere([3.0, 3.2, -0.5], 0.14, [380.0, 300.0, 220.0]),
        "post": _box([-2.5, 1.45, -1.5], [0.08, 2.9, 0.08], _diffuse(0.05, 0.05, 0.05)),
        "car": _box([1.2, 0.5, 0.5], [2.2, 1.0, 1.1],
                    _plastic(0.5, 0.05, 0.05, 0.1)),
    }


def sunlit_yard(width: int, height: int, spp: int) -> Scene:
    """Outdoors: a blue sky, a sun disc 10^5 x the sky seen low in the frame, white walls in sun and shade."""
    return {
        "type": "scene", "integrator": {"type": "path", "max_depth": 4},
        "sensor": _sensor(width, height, spp, [0.0, 1.5, 7.0], [0.0, 2.0, 0.0], 80.0, 4),
        "sky": {"type": "constant", "radiance": {"type": "rgb", "value": [0.35, 0.5, 0.9]}},
        "sun_light": {"type": "directional", "direction": [0.3, -0.35, 1.0],
                      "irradiance": {"type": "rgb", "value": [9.0, 8.2, 7.0]}},
        "sun_disc": _emitting_sphere([-12.0, 14.0, -40.0], 0.9, [40000.0, 36000.0, 30000.0]),
        "ground": {"type": "rectangle", "bsdf": _diffuse(0.3, 0.28, 0.22),
                   "to_world": mi.ScalarTransform4f().rotate([1, 0, 0], -90).scale(30)},
        "house": _box([-2.0, 1.5, -3.0], [3.0, 3.0, 2.0], _diffuse(0.85, 0.85, 0.82)),
        "shed": _box([2.5, 0.8, -1.0], [1.6, 1.6, 1.6], _diffuse(0.7, 0.3, 0.2)),
        "ball": {"type": "sphere", "center": [0.4, 0.5, 1.5], "radius": 0.5,
                 "bsdf": {"type": "roughconductor", "material": "Al", "alpha": 0.02}},
    }


def desk_lamp(width: int, height: int, spp: int) -> Scene:
    """A desk in a dark room under a small hot bulb seen directly, and its chrome reflections."""
    return {
        "type": "scene", "integrator": {"type": "path", "max_depth": 6},
        "sensor": _sensor(width, height, spp, [0.0, 1.6, 2.6], [0.0, 0.9, 0.0], 65.0, 5),
        "ambient": {"type": "constant", "radiance": {"type": "rgb", "value": [0.01, 0.01, 0.012]}},
        "desk": _box([0.0, 0.35, 0.0], [2.4, 0.7, 1.2], _diffuse(0.45, 0.3, 0.18)),
        "wall": {"type": "rectangle", "bsdf": _diffuse(0.7, 0.7, 0.65),
                 "to_world": mi.ScalarTransform4f().translate([0, 1.5, -0.8]).scale([4, 2, 1])},
        "bulb": _emitting_sphere([0.5, 1.45, -0.1], 0.05, [6000.0, 4800.0, 2800.0]),
        "shade": {"type": "cylinder", "p0": [0.5, 1.4, -0.1], "p1": [0.5, 1.62, -0.1], "radius": 0.16,
                  "bsdf": {"type": "twosided", "bsdf": _diffuse(0.8, 0.75, 0.6)}},
        "chrome": {"type": "sphere", "center": [-0.4, 0.85, 0.2], "radius": 0.15,
                   "bsdf": {"type": "conductor", "material": "Cr"}},
        "paper": {"type": "rectangle", "bsdf": _diffuse(0.9, 0.9, 0.88),
                  "to_world": mi.ScalarTransform4f().translate([0.1, 0.705, 0.2]).rotate([1, 0, 0], -90)
                  .scale([0.3, 0.2, 1])},
    }


def studio_spheres(width: int, height: int, spp: int) -> Scene:
    """A product shot: glossy and glass spheres lit by two softboxes in frame, a dark backdrop."""
    return {
        "type": "scene", "integrator": {"type": "path", "max_depth": 8},
        "sensor": _sensor(width, height, spp, [0.0, 1.0, 5.0], [0.0, 0.8, 0.0], 60.0, 6),
        "backdrop": {"type": "rectangle", "bsdf": _diffuse(0.08, 0.08, 0.09),
                     "to_world": mi.ScalarTransform4f().rotate([1, 0, 0], -90).scale(10)},
        "back": {"type": "rectangle", "bsdf": _diffuse(0.1, 0.1, 0.12),
                 "to_world": mi.ScalarTransform4f().translate([0, 2, -3]).scale([10, 3, 1])},
        "softbox_l": {"type": "rectangle",
                      "emitter": {"type": "area", "radiance": {"type": "rgb", "value": [90.0, 90.0, 95.0]}},
                      "to_world": mi.ScalarTransform4f().translate([-2.2, 1.8, -1.0]).rotate([0, 1, 0], 60)
                      .scale([0.5, 0.8, 1])},
        "softbox_r": {"type": "rectangle",
                      "emitter": _area(240.0, 200.0, 150.0),
                      "to_world": mi.ScalarTransform4f().translate([2.4, 2.2, -1.5]).rotate([0, 1, 0], -50)
                      .scale([0.4, 0.4, 1])},
        "red": {"type": "sphere", "center": [-1.0, 0.5, 0.0], "radius": 0.5,
                "bsdf": _plastic(0.6, 0.05, 0.05)},
        "glass": {"type": "sphere", "center": [0.2, 0.45, 0.6], "radius": 0.45,
                  "bsdf": {"type": "dielectric"}},
        "gold": {"type": "sphere", "center": [1.3, 0.55, -0.3], "radius": 0.55,
                 "bsdf": {"type": "roughconductor", "material": "Au", "alpha": 0.05}},
    }


def attic_skylight(width: int, height: int, spp: int) -> Scene:
    """An attic under a skylight: a slanted bright opening, beams and the sunlit patch on the floor."""
    return {
        "type": "scene", "integrator": {"type": "path", "max_depth": 6},
        "sensor": _sensor(width, height, spp, [0.0, 1.4, 4.0], [0.0, 1.6, 0.0], 72.0, 7),
        "sky": {"type": "constant", "radiance": {"type": "rgb", "value": [0.002, 0.002, 0.002]}},
        "floor": {"type": "rectangle", "bsdf": _diffuse(0.5, 0.4, 0.3),
                  "to_world": mi.ScalarTransform4f().rotate([1, 0, 0], -90).scale(5)},
        "roof_l": {"type": "rectangle", "bsdf": {"type": "twosided", "bsdf": _diffuse(0.55, 0.5, 0.45)},
                   "to_world": mi.ScalarTransform4f().translate([-1.5, 2.0, 0]).rotate([0, 0, 1], -50)
                   .rotate([1, 0, 0], 90).scale([2.4, 5, 1])},
        "roof_r": {"type": "rectangle", "bsdf": {"type": "twosided", "bsdf": _diffuse(0.55, 0.5, 0.45)},
                   "to_world": mi.ScalarTransform4f().translate([1.5, 2.0, 0]).rotate([0, 0, 1], 50)
                   .rotate([1, 0, 0], 90).scale([2.4, 5, 1])},
        "skylight": {"type": "rectangle",
                     "emitter": {"type": "area", "radiance": {"type": "rgb", "value": [500.0, 560.0, 700.0]}},
                     "to_world": mi.ScalarTransform4f().translate([1.2, 2.3, -0.8]).rotate([0, 0, 1], 50)
                     .rotate([1, 0, 0], 90).scale([0.45, 0.6, 1])},
        "back": {"type": "rectangle", "bsdf": _diffuse(0.4, 0.35, 0.3),
                 "to_world": mi.ScalarTransform4f().translate([0, 1.5, -2.5]).scale([4, 3, 1])},
        "beam": _box([0.0, 2.6, -0.5], [4.0, 0.15, 0.15], _diffuse(0.3, 0.2, 0.1)),
        "chest": _box([-1.0, 0.3, -1.2], [1.0, 0.6, 0.6], _diffuse(0.35, 0.2, 0.1)),
    }


def corridor_door(width: int, height: int, spp: int) -> Scene:
    """A long corridor ending in an open door onto daylight (2 000x the walls), a bench on one side."""
    wall = _diffuse(0.7, 0.68, 0.6)
    return {
        "type": "scene", "integrator": {"type": "path", "max_depth": 6},
        "sensor": _sensor(width, height, spp, [0.3, 1.5, 5.0], [0.0, 1.3, -6.0], 65.0, 11),
        "floor": {"type": "rectangle", "bsdf": _plastic(0.25, 0.2, 0.15, 0.2),
                  "to_world": mi.ScalarTransform4f().translate([0, 0, -1]).rotate([1, 0, 0], -90)
                  .scale([1.2, 7, 1])},
        "ceiling": {"type": "rectangle", "bsdf": wall,
                    "to_world": mi.ScalarTransform4f().translate([0, 2.6, -1]).rotate([1, 0, 0], 90)
                    .scale([1.2, 7, 1])},
        "left": {"type": "rectangle", "bsdf": wall,
                 "to_world": mi.ScalarTransform4f().translate([-1.2, 1.3, -1]).rotate([0, 1, 0], 90)
                 .scale([7, 1.3, 1])},
        "right": {"type": "rectangle", "bsdf": _diffuse(0.55, 0.6, 0.5),
                  "to_world": mi.ScalarTransform4f().translate([1.2, 1.3, -1]).rotate([0, 1, 0], -90)
                  .scale([7, 1.3, 1])},
        "end": {"type": "rectangle", "bsdf": wall,
                "to_world": mi.ScalarTransform4f().translate([0, 1.3, -8]).scale([1.2, 1.3, 1])},
        "door": {"type": "rectangle",
                 "emitter": {"type": "area", "radiance": {"type": "rgb", "value": [220.0, 240.0, 260.0]}},
                 "to_world": mi.ScalarTransform4f().translate([0.2, 1.05, -7.99]).scale([0.45, 1.05, 1])},
        "bench": _box([-0.85, 0.25, -2.5], [0.5, 0.5, 1.8], _diffuse(0.3, 0.15, 0.08)),
    }


def candle_table(width: int, height: int, spp: int) -> Scene:
    """Five small candle flames (10^4 x the room) on a dark table, a glossy bowl and a bottle."""
    spots = [(-0.8, -0.2), (-0.4, 0.1), (0.0, -0.3), (0.45, 0.05), (0.85, -0.25)]
    flames = {f"flame_{i}": _emitting_sphere([x, 0.95 + 0.05 * (i % 2), z], 0.025, [900.0, 520.0, 160.0])
              for i, (x, z) in enumerate(spots)}
    wax = _diffuse(0.9, 0.88, 0.8)
    candles = {f"candle_{i}": _box([x, 0.82 + 0.025 * (i % 2), z], [0.06, 0.2, 0.06], wax)
               for i, (x, z) in enumerate(spots)}
    return {
        "type": "scene", "integrator": {"type": "path", "max_depth": 6},
        "sensor": _sensor(width, height, spp, [0.0, 1.5, 2.2], [0.0, 0.8, -0.2], 60.0, 12),
        "sky": {"type": "constant", "radiance": {"type": "rgb", "value": [0.01, 0.01, 0.012]}},
        "table": _box([0.0, 0.35, -0.1], [2.4, 0.7, 1.2], _plastic(0.2, 0.1, 0.05, 0.15)),
        "floor": {"type": "rectangle", "bsdf": _diffuse(0.2, 0.18, 0.15),
                  "to_world": mi.ScalarTransform4f().rotate([1, 0, 0], -90).scale(6)},
        "wall": {"type": "rectangle", "bsdf": _diffuse(0.45, 0.3, 0.25),
                 "to_world": mi.ScalarTransform4f().translate([0, 1.5, -1.5]).scale([4, 1.5, 1])},
        "bowl": {"type": "sphere", "center": [-0.2, 0.85, 0.35], "radius": 0.14,
                 "bsdf": {"type": "roughconductor", "material": "Cu", "alpha": 0.05}},
        "bottle": {"type": "cylinder", "p0": [0.6, 0.7, 0.3], "p1": [0.6, 1.15, 0.3], "radius": 0.06,
                   "bsdf": {"type": "dielectric", "int_ior": 1.5}},
        **flames, **candles,
    }


def garden_noon(width: int, height: int, spp: int) -> Scene:
    """A garden at noon: a high sun disc in the frame's corner, a white fence, a glossy dark car."""
    return {
        "type": "scene", "integrator": {"type": "path", "max_depth": 4},
        "sensor": _sensor(width, height, spp, [-1.0, 1.3, 6.0], [0.5, 2.2, 0.0], 85.0, 13),
        "sky": {"type": "constant", "radiance": {"type": "rgb", "value": [0.4, 0.55, 0.85]}},
        "sun_light": {"type": "directional", "direction": [-0.2, -1.0, -0.3],
                      "irradiance": {"type": "rgb", "value": [12.0, 11.0, 9.5]}},
        "sun_disc": _emitting_sphere([14.0, 22.0, -30.0], 1.0, [50000.0, 46000.0, 40000.0]),
        "lawn": {"type": "rectangle", "bsdf": _diffuse(0.15, 0.35, 0.1),
                 "to_world": mi.ScalarTransform4f().rotate([1, 0, 0], -90).scale(30)},
        "fence": _box([0.0, 0.6, -2.0], [8.0, 1.2, 0.1], _diffuse(0.92, 0.92, 0.9)),
        "car": _box([1.5, 0.6, 0.8], [2.6, 1.2, 1.3], _plastic(0.03, 0.05, 0.1, 0.03)),
        "tree": {"type": "sphere", "center": [-3.0, 2.5, -3.5], "radius": 1.3,
                 "bsdf": _diffuse(0.1, 0.3, 0.08)},
    }


def office_lamp(width: int, height: int, spp: int) -> Scene:
    """An office at dusk: a bare desk-lamp bulb (3 000x the walls), a glowing monitor, a chair."""
    return {
        "type": "scene", "integrator": {"type": "path", "max_depth": 6},
        "sensor": _sensor(width, height, spp, [1.2, 1.5, 3.2], [-0.2, 1.0, -0.5], 68.0, 14),
        "sky": {"type": "constant", "radiance": {"type": "rgb", "value": [0.02, 0.025, 0.04]}},
        "floor": {"type": "rectangle", "bsdf": _diffuse(0.3, 0.3, 0.32),
                  "to_world": mi.ScalarTransform4f().rotate([1, 0, 0], -90).scale(5)},
        "wall": {"type": "rectangle", "bsdf": _diffuse(0.65, 0.62, 0.55),
                 "to_world": mi.ScalarTransform4f().translate([0, 1.5, -1.5]).scale([5, 1.5, 1])},
        "desk": _box([-0.3, 0.74, -0.8], [1.8, 0.06, 0.8], _plastic(0.5, 0.4, 0.3, 0.1)),
        "monitor": {"type": "rectangle",
                    "emitter": {"type": "area", "radiance": {"type": "rgb", "value": [6.0, 7.0, 9.0]}},
                    "to_world": mi.ScalarTransform4f().translate([-0.4, 1.1, -1.0]).scale([0.35, 0.2, 1])},
        "bulb": _emitting_sphere([0.35, 1.25, -0.7], 0.04, [1500.0, 1300.0, 900.0]),
        "shade": _box([0.35, 1.33, -0.7], [0.22, 0.06, 0.22], _diffuse(0.1, 0.1, 0.1)),
        "chair": _box([0.0, 0.45, 0.1], [0.5, 0.9, 0.5], _diffuse(0.15, 0.15, 0.4)),
    }


SCENES: dict[str, Callable[[int, int, int], Scene]] = {
    "mi_cornell_hot": cornell_hot,
    "mi_window_room": window_room,
    "mi_night_lamps": night_lamps,
    "mi_sunlit_yard": sunlit_yard,
    "mi_desk_lamp": desk_lamp,
    "mi_studio_spheres": studio_spheres,
    "mi_attic_skylight": attic_skylight,
}


VALIDATION_SCENES: dict[str, Callable[[int, int, int], Scene]] = {
    "val_corridor_door": corridor_door,
    "val_candle_table": candle_table,
    "val_garden_noon": garden_noon,
    "val_office_lamp": office_lamp,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=768)
    parser.add_argument("--height", type=int, default=432)
    parser.add_argument("--spp", type=int, default=48, help="samples per pixel")
    parser.add_argument("--set", choices=("test", "validation"), default="test",
                        help="the held-out TEST scenes (mi_*) or the validation scenes (val_*)")
    parser.add_argument("--scenes", default="", help="comma-separated scene names (default: all of the set)")
    parser.add_argument("--any-mitsuba", action="store_true",
                        help=f"render with a release other than {MITSUBA_VERSION} (other pixels)")
    args = parser.parse_args(argv)
    if mi.__version__ != MITSUBA_VERSION and not args.any_mitsuba:
        parser.error(f"mitsuba {mi.__version__} renders other pixels than the {MITSUBA_VERSION} the "
                     f"recorded figures were taken with: pip install mitsuba=={MITSUBA_VERSION}, "
                     "or pass --any-mitsuba")
    args.out.mkdir(parents=True, exist_ok=True)
    scenes = SCENES if args.set == "test" else VALIDATION_SCENES
    wanted = [s for s in args.scenes.split(",") if s] or list(scenes)
    for name in wanted:
        scene = scenes[name](args.width, args.height, args.spp)
        scene["integrator"]["block_size"] = 1 << (max(args.width, args.height) - 1).bit_length()
        image = mi.render(mi.load_dict(scene))
        mi.Bitmap(image).write(str(args.out / f"{name}.exr"))
        print(f"rendered {name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
