"""Camera motion over an HDR still: per-frame affine maps and sub-pixel resampling.

A frame is a crop of the still seen through a virtual camera. Its pose is a 2x3 affine matrix A
that maps an output pixel (x, y, 1) to still coordinates (u, v); pixel centres sit at integer
coordinates in both images. A = [L | c_still - L c_out], with L = scale x R(angle) x shear the
linear part and c_out the output's centre, so `c_still` is the still point the camera centres on.
Frames are resampled with torch grid_sample (align_corners=True matches the pixel-centre
convention), so any sub-pixel pose is rendered exactly as bilinear or bicubic interpolation of
the still.

Motions: static; pan (left to right at constant speed across the still, or, given a length in
frame widths, a pan of that length that ends on a target point, so that the view moves from the
scene's darker parts into its brightest one and auto exposure has to follow); push (a zoom-in
towards a point, by default the brightest region, eased with a smoothstep); rotate (a slow roll of a
few degrees);
warp (hand-held shake: smooth random translation, roll, zoom and shear from sums of low-frequency
sinusoids with seeded phases, after the camera-shake models used for video stabilisation
benchmarks, e.g. Liu et al., "Bundled camera paths for video stabilization", SIGGRAPH 2013).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.color.luminance import luminance

MOTIONS = ("static", "pan", "push", "rotate", "warp")
INTERPOLATIONS = ("bilinear", "bicubic")
PAN_TRAVEL = 0.9  # fraction of the free margin a pan crosses, so it never grazes the still's edge
PUSH_ZOOM = 1.6  # magnification reached at the end of a push-in
ROLL_DEGREES = 3.0  # a rotate shot rolls from -3 to +3 degrees
SHAKE_PIXELS = 0.04  # hand-held translation amplitude, as a fraction of the output width
SHAKE_DEGREES = 0.8
SHAKE_ZOOM = 0.02
SHAKE_SHEAR = 0.01
SHAKE_HZ = (0.3, 1.5)  # band of the shake's sinusoids, in cycles per second

Size = tuple[int, int]  # (width, height) in pixels


def pose_affine(centre: tuple[float, float], linear: np.ndarray, out_size: Size) -> np.ndarray:
    """2x3 affine output pixel -> still pixel for a camera centred on `centre` with linear part L."""
    w, h = out_size
    c_out = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    lin = np.asarray(linear, dtype=np.float64)
    return np.concatenate([lin, (np.asarray(centre, dtype=np.float64) - lin @ c_out)[:, None]], axis=1)


def rotation_scale(scale: float, angle: float, shear: float = 0.0, stretch: float = 0.0) -> np.ndarray:
    """Linear part scale x R(angle) x [[1 + stretch, shear], [0, 1 - stretch]] (angle in radians)."""
    c, s = math.cos(angle), math.sin(angle)
    return scale * np.array([[c, -s], [s, c]]) @ np.array([[1.0 + stretch, shear], [0.0, 1.0 - stretch]])


def half_extent(linear: np.ndarray, out_size: Size) -> np.ndarray:
    """Half width and height, in still pixels, of the box that holds the output mapped by L."""
    w, h = out_size
    return np.abs(np.asarray(linear)) @ np.array([(w - 1) / 2.0, (h - 1) / 2.0])


def fit_pose(centre: tuple[float, float], linear: np.ndarray, out_size: Size,
             still_size: Size) -> np.ndarray:
    """The affine of the pose, shrunk (about its centre) and shifted just enough to stay inside the still."""
    room = np.array([(still_size[0] - 1) / 2.0, (still_size[1] - 1) / 2.0])
    extent = half_extent(linear, out_size)
    shrink = min(1.0, float(np.min(room / np.maximum(extent, 1e-12))))
    lin = np.asarray(linear, dtype=np.float64) * shrink
    extent = extent * shrink
    c = np.clip(np.asarray(centre, dtype=np.float64), extent, 2.0 * room - extent)
    return pose_affine((float(c[0]), float(c[1])), lin, out_size)


def base_scale(out_size: Size, still_size: Size) -> float:
    """Still pixels per output pixel: 1 (a plain crop) unless the output does not fit the still."""
    w, h = out_size
    fit = min((still_size[0] - 1) / max(w - 1, 1), (still_size[1] - 1) / max(h - 1, 1))
    return min(1.0, fit)


def _smoothstep(t: float) -> float:
    return t * t * (3.0 - 2.0 * t)


def _shake(frames: int, fps: float, rng: np.random.Generator, components: int = 3) -> np.ndarray:
    """(frames,) smooth zero-mean signal in [-1, 1]: a sum of sinusoids with random frequency and phase."""
    t = np.arange(frames) / fps
    freqs = rng.uniform(*SHAKE_HZ, size=components)
    phases = rng.uniform(0.0, 2.0 * math.pi, size=components)
    weights = rng.uniform(0.5, 1.0, size=components)
    signal = (weights[:, None] * np.sin(2.0 * math.pi * freqs[:, None] * t + phases[:, None])).sum(0)
    return signal / weights.sum()


def camera_path(motion: str, frames: int, out_size: Size, still_size: Size, *, fps: float = 24.0,
                seed: int = 0, target: tuple[float, float] | None = None,
                pan_widths: float | None = None,
                pan_from: tuple[float, float] | None = None) -> list[np.ndarray]:
    """Per-frame 2x3 affines (output pixel -> still pixel) of a `motion` shot that stays inside the still.

    `target` is the still point a push-in moves towards (default: the still's centre). A pan
    crosses the still unless `pan_from` or `pan_widths` is given: then it runs in a straight
    line from the still point `pan_from`, or horizontally over `pan_widths` output widths, and
    ends on `target` (each as near as the still's edges allow).
    """
    if motion not in MOTIONS:
        raise ValueError(f"unknown motion {motion!r}; expected one of {', '.join(MOTIONS)}")
    centre = ((still_size[0] - 1) / 2.0, (still_size[1] - 1) / 2.0)
    scale = base_scale(out_size, still_size)
    steps = [i / max(frames - 1, 1) for i in range(frames)]
    poses: list[tuple[tuple[float, float], np.ndarray]] = []
    if motion == "static":
        poses = [(centre, rotation_scale(scale, 0.0)) for _ in steps]
    elif motion == "pan" and pan_from is not None:
        poses = _pan_between(pan_from, target or centre, steps, out_size, still_size, scale)
    elif motion == "pan" and pan_widths is not None:
        poses = _pan_to_target(pan_widths, steps, out_size, still_size, scale, target or centre)
    elif motion == "pan":
        margin = centre[0] - half_extent(rotation_scale(scale, 0.0), out_size)[0]
        poses = [((centre[0] + PAN_TRAVEL * margin * (2.0 * t - 1.0), centre[1]), rotation_scale(scale, 0.0))
                 for t in steps]
    elif motion == "push":
        goal = target if target is not None else centre
        for t in steps:
            e = _smoothstep(t)
            zoom = 1.0 + (PUSH_ZOOM - 1.0) * e
            point = (centre[0] + (goal[0] - centre[0]) * e, centre[1] + (goal[1] - centre[1]) * e)
            poses.append((point, rotation_scale(scale / zoom, 0.0)))
    elif motion == "rotate":
        roll = math.radians(ROLL_DEGREES)
        room = np.array(centre)
        fit = float(np.min(room / half_extent(rotation_scale(scale, roll), out_size)))
        lin_scale = scale * min(1.0, fit)
        poses = [(centre, rotation_scale(lin_scale, roll * (2.0 * t - 1.0))) for t in steps]
    else:
        rng = np.random.default_rng(seed)
        dx, dy, roll, zoom, shear = (_shake(frames, fps, rng) for _ in range(5))
        amplitude = SHAKE_PIXELS * out_size[0] * scale
        roll_max = math.radians(SHAKE_DEGREES)
        worst = rotation_scale(scale * (1.0 + SHAKE_ZOOM), roll_max, SHAKE_SHEAR, SHAKE_ZOOM)
        room = np.array(centre) - amplitude
        lin_scale = scale * min(1.0, float(np.min(room / half_extent(worst, out_size))))
        for i in range(frames):
            lin = rotation_scale(lin_scale * (1.0 + SHAKE_ZOOM * zoom[i]), roll_max * roll[i],
                                 SHAKE_SHEAR * shear[i], SHAKE_ZOOM * zoom[i])
            poses.append(((centre[0] + amplitude * dx[i], centre[1] + amplitude * dy[i]), lin))
    return [fit_pose(c, lin, out_size, still_size) for c, lin in poses]


def _pan_between(start: tuple[float, float], end: tuple[float, float], steps: list[float], out_size: Size,
                 still_size: Size, scale: float) -> list[tuple[tuple[float, float], np.ndarray]]:
    """A constant-speed pan in a straight line from still point `start` to `end`, both moved as
    little as needed for the view to stay inside the still."""
    linear = rotation_scale(scale, 0.0)
    extent = half_extent(linear, out_size)

    def inside(point: tuple[float, float]) -> tuple[float, float]:
        return (min(max(point[0], float(extent[0])), still_size[0] - 1 - float(extent[0])),
                min(max(point[1], float(extent[1])), still_size[1] - 1 - float(extent[1])))

    (x0, y0), (x1, y1) = inside(start), inside(end)
    return [((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t), linear) for t in steps]


def _pan_to_target(widths: float, steps: list[float], out_size: Size, still_size: Size, scale: float,
                   target: tuple[float, float]) -> list[tuple[tuple[float, float], np.ndarray]]:
    """A constant-speed horizontal pan of `widths` output widths that ends centred on `target`.

    The pan comes from the left when there is room, else from the right; a travel longer than
    the still allows is shortened to the longer of the two.
    """
    linear = rotation_scale(scale, 0.0)
    extent = half_extent(linear, out_size)
    low, high = float(extent[0]), still_size[0] - 1 - float(extent[0])
    end = min(max(target[0], low), high)
    y = min(max(target[1], float(extent[1])), still_size[1] - 1 - float(extent[1]))
    travel = min(widths * (out_size[0] - 1) * scale, high - low)
    if end - travel >= low:
        start = end - travel
    elif end + travel <= high:
        start = end + travel
    else:
        start = low if end - low >= high - end else high
    return [((start + (end - start) * t, y), linear) for t in steps]


def add_shake(affines: list[np.ndarray], out_size: Size, still_size: Size, *, fps: float = 24.0,
              seed: int = 0, roll_degrees: float = 0.0) -> list[np.ndarray]:
    """Hand-held shake (the 'warp' motion's translation, roll, zoom and shear) on top of any
    camera path, and optionally a steady roll from -roll_degrees to +roll_degrees over the shot;
    each pose then shrinks or shifts just enough to stay inside the still."""
    frames = len(affines)
    rng = np.random.default_rng(seed)
    dx, dy, roll, zoom, shear = (_shake(frames, fps, rng) for _ in range(5))
    w, h = out_size
    c_out = np.array([(w - 1) / 2.0, (h - 1) / 2.0, 1.0])
    out = []
    for i, affine in enumerate(affines):
        linear = affine[:, :2]
        scale = math.sqrt(abs(np.linalg.det(linear)))
        centre = affine @ c_out + SHAKE_PIXELS * w * scale * np.array([dx[i], dy[i]])
        steady = math.radians(roll_degrees) * (2.0 * i / max(frames - 1, 1) - 1.0)
        jitter = rotation_scale(1.0 + SHAKE_ZOOM * zoom[i], steady + math.radians(SHAKE_DEGREES) * roll[i],
                                SHAKE_SHEAR * shear[i], SHAKE_ZOOM * zoom[i])
        out.append(fit_pose((float(centre[0]), float(centre[1])), linear @ jitter, out_size, still_size))
    return out


def invert_affine(affine: np.ndarray) -> np.ndarray:
    """The 2x3 inverse of a 2x3 affine map."""
    inv = np.linalg.inv(np.vstack([affine, [0.0, 0.0, 1.0]]))
    return inv[:2]


def pixel_coordinates(affine: np.ndarray, out_size: Size, device: torch.device | str) -> Tensor:
    """(h, w, 2) float64 coordinates (u, v) that each output pixel maps to through `affine`."""
    w, h = out_size
    xs = torch.arange(w, dtype=torch.float64, device=device)[None, :]
    ys = torch.arange(h, dtype=torch.float64, device=device)[:, None]
    a = affine.tolist()
    u = a[0][0] * xs + (a[0][1] * ys + a[0][2])
    v = a[1][0] * xs + (a[1][1] * ys + a[1][2])
    return torch.stack([u, v], dim=-1)


def sample_still(still: Tensor, affine: np.ndarray, out_size: Size, mode: str = "bilinear") -> Tensor:
    """Render the (C, H, W) still through a pose: (C, h, w), bilinear or bicubic, on the still's device.

    Bicubic (Keys' cubic convolution, a = -0.75) can ring below zero at hard edges; the result is
    clamped at 0 because negative light does not exist in a scene.
    """
    if mode not in INTERPOLATIONS:
        raise ValueError(f"unknown interpolation {mode!r}; expected one of {', '.join(INTERPOLATIONS)}")
    _, still_h, still_w = still.shape
    uv = pixel_coordinates(affine, out_size, still.device)
    scale = torch.tensor([2.0 / max(still_w - 1, 1), 2.0 / max(still_h - 1, 1)], dtype=torch.float64,
                         device=still.device)
    grid = (uv * scale - 1.0).to(still.dtype)
    out = tnf.grid_sample(still.unsqueeze(0), grid.unsqueeze(0), mode=mode, padding_mode="border",
                        align_corners=True)[0]
    return out.clamp_min(0.0) if mode == "bicubic" else out


def brightest_point(still: Tensor, out_size: Size) -> tuple[float, float]:
    """Centre (u, v) of the brightest box a quarter of the output's size in a (3, H, W) still.

    Brightness is the box's mean log2 luminance, which favours a large bright area (a window,
    the sky) over a single hot pixel.
    """
    return _extreme_box(still, out_size, brightest=True)


def darkest_point(still: Tensor, out_size: Size) -> tuple[float, float]:
    """Centre (u, v) of the darkest box a quarter of the output's size in a (3, H, W) still."""
    return _extreme_box(still, out_size, brightest=False)


def _extreme_box(still: Tensor, out_size: Size, brightest: bool) -> tuple[float, float]:
    """Box sums come from a summed-area table (Crow, "Summed-area tables for texture mapping",
    SIGGRAPH 1984), so the cost does not grow with the box."""
    log_y = torch.log2(luminance(still).clamp_min(1e-6))[0].double()
    kh = min(max(1, out_size[1] // 4), log_y.shape[0])
    kw = min(max(1, out_size[0] // 4), log_y.shape[1])
    table = tnf.pad(log_y.cumsum(0).cumsum(1), (1, 0, 1, 0))
    sums = table[kh:, kw:] - table[:-kh, kw:] - table[kh:, :-kw] + table[:-kh, :-kw]
    index = torch.argmax(sums) if brightest else torch.argmin(sums)
    row, col = divmod(int(index), sums.shape[1])
    return col + (kw - 1) / 2.0, row + (kh - 1) / 2.0
