"""Dense alignment of two frames of different exposure: global motion, DIS flow, confidence.

Optical flow assumes brightness constancy, which frames of different exposure break. Both
frames are therefore brought to the keyframe's exposure, clamped to the range *both* recorded
(the lower of the two clip levels, the higher of the two noise floors) so that a highlight
clipped in one frame is clipped in the other too, and encoded as 8-bit log2 luminance for
OpenCV's DIS flow (Kroeger et al., "Fast optical flow using dense inverse search", ECCV 2016).
The flow is seeded so that the large displacements between far-apart frames of a shot stay
within DIS's reach: by a flow the caller already has (neighbouring frames' flows chained, see
`compose_flows`), else by a homography from ORB matches and RANSAC (Rublee et al. 2011;
Fischler & Bolles 1981), or a phase-correlation shift when matches are too few. An affine
global motion fitted to DIS's flow (RANSAC) then stands in for it inside saturated areas,
which hold nothing to match, and wherever it matches the frames about as well: the dense
flow stays only where something moved on its own.

Confidence combines the forward-backward check of Sundaram et al., "Dense point trajectories
by GPU-accelerated large displacement optical flow" (ECCV 2010), |f + b|² < 0.01(|f|² + |b|²)
+ 0.5, softened to exp(-|f + b|² / tol), with a photometric check on the clamped log images,
and is zero where the flow leaves the frame.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as tnf

from engine.color.luminance import luminance
from engine.temporal.morphology import min_filter

_CLIP_MARGIN = 0.9  # clamp a little below the clip level: the shoulder is compressed, not linear
_FLOOR_BELOW_CLIP_EV = 10.0  # darker than this carries 8-bit noise, not texture
_PHOTOMETRIC_SIGMA_EV = 0.5
# How much better (mean absolute log2 difference) the dense flow must match than the global motion.
_DENSE_GAIN_EV = 0.5
_MIN_MATCHES = 12
_MIN_INLIER_SHARE = 0.3
_TEXTURE_BLOCK = 5  # px: the window of the structure tensor that rates a pixel's texture


@dataclass(frozen=True)
class Alignment:
    """Where each pixel of a keyframe is seen in another frame, and how sure that is.

    flow: (2, H, W) float32, x then y, in pixels: keyframe pixel p is seen at p + flow(p).
    confidence: (1, H, W) in [0, 1].
    backward: (2, H, W) the other way, other-frame pixel q is seen in the keyframe at q + b(q).
    """

    flow: Tensor
    confidence: Tensor
    backward: Tensor


def resize_flow(flow: Tensor, size: tuple[int, int]) -> Tensor:
    """A (2, h, w) flow in pixels resampled to (2, H, W), its vectors rescaled to the new grid."""
    h, w = flow.shape[-2:]
    if (h, w) == tuple(size):
        return flow
    out = tnf.interpolate(flow.unsqueeze(0), size=size, mode="bilinear", align_corners=True).squeeze(0)
    scale = torch.tensor([(size[1] - 1) / max(w - 1, 1), (size[0] - 1) / max(h - 1, 1)],
                         dtype=out.dtype, device=out.device)
    return out * scale.view(2, 1, 1)


def resize_confidence(confidence: Tensor, size: tuple[int, int]) -> Tensor:
    """A (1, h, w) confidence resampled to (1, H, W), bilinear, kept in [0, 1]."""
    if tuple(confidence.shape[-2:]) == tuple(size):
        return confidence
    out = tnf.interpolate(confidence.unsqueeze(0), size=size, mode="bilinear", align_corners=True)
    return out.squeeze(0).clamp(0.0, 1.0)


def resize_alignment(alignment: Alignment, size: tuple[int, int]) -> Alignment:
    """An alignment between two frames of one size resampled to frames of (H, W)."""
    return Alignment(resize_flow(alignment.flow, size), resize_confidence(alignment.confidence, size),
                     resize_flow(alignment.backward, size))


def compose_flows(first: Tensor, second: Tensor) -> Tensor:
    """Flow a -> c from flows a -> b and b -> c on one grid: p + f(p) + g(p + f(p)).

    Chaining the flows of neighbouring frames reaches far-apart frames of a shot at the cost of
    warps only; each link adds its own sub-pixel error, so a chain seeds a refinement or
    serves frames a few links away.
    """
    return first + warp(second, first)


def warp(frame: Tensor, flow: Tensor, origin: tuple[int, int] = (0, 0), mode: str = "bilinear") -> Tensor:
    """Sample (C, H, W) `frame` at p + flow(p) for every pixel p, border-clamped.

    flow: (2, h, w) for the pixels of a rectangle of the frame's grid whose first pixel is at
    `origin` (x, y); by default the whole grid. The result has the flow's size. `mode` is
    grid_sample's: bilinear for weights, flows and code values, which must not overshoot.
    """
    base, scale = _sampling_grid(tuple(frame.shape[-2:]), tuple(flow.shape[-2:]), origin, flow.dtype,
                                 flow.device)
    grid = torch.addcmul(base, flow, scale).permute(1, 2, 0).unsqueeze(0).to(frame.dtype)
    out = tnf.grid_sample(frame.unsqueeze(0), grid, mode=mode, padding_mode="border", align_corners=True)
    return out.squeeze(0)


def warp_light(frame: Tensor, flow: Tensor, origin: tuple[int, int] = (0, 0)) -> Tensor:
    """`warp` for linear light: bicubic (Keys, "Cubic convolution interpolation for digital image
    processing", IEEE TASSP 1981, a = -0.75 as torch has it), its overshoot clamped at black.

    Bilinear sampling blurs by an amount that changes with the sub-pixel phase of the flow, which
    moves from frame to frame: a propagated highlight's texture then pulses. The cubic kernel
    keeps far more of the texture at every phase (bench: flicker 7.87 -> 7.68, recoverable
    highlights +0.4 dB).
    """
    return warp(frame, flow, origin, mode="bicubic").clamp_min_(0.0)


def warp_weight(weight: Tensor, flow: Tensor, origin: tuple[int, int] = (0, 0)) -> Tensor:
    """Warp a (1, H, W) weight conservatively: each sample takes the least weight it touches.

    Bilinear sampling across the edge of a clipped area would average a weight of 0 with its
    neighbours' 1 and pass half-clipped samples as good ones; the 3x3 minimum first keeps them out.
    """
    return warp(min_filter(weight), flow, origin)


@functools.lru_cache(maxsize=4)
def _sampling_grid(frame_size: tuple[int, ...], flow_size: tuple[int, ...], origin: tuple[int, int],
                   dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
    """grid_sample's coordinates of the flow rectangle's pixels in the frame, and the (2, 1, 1)
    scale from pixels to them: they run from -1 to 1 across the frame (align_corners=True).
    Kept: the warps of one frame share its region's size and origin."""
    h, w = frame_size
    scale = torch.tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], dtype=dtype, device=device).view(2, 1, 1)
    shift = torch.tensor(origin, dtype=dtype, device=device).view(2, 1, 1)
    return (_pixel_grid(*flow_size, dtype, device) + shift) * scale - 1.0, scale


@functools.lru_cache(maxsize=8)
def _pixel_grid(h: int, w: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """(2, H, W) x and y of every pixel; kept, since every warp of a clip needs the same one."""
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=dtype, device=device), torch.arange(w, dtype=dtype, device=device),
        indexing="ij",
    )
    return torch.stack((xs, ys))


def inside_frame(flow: Tensor) -> Tensor:
    """(1, H, W) 1.0 where p + flow(p) lands inside the frame."""
    _, h, w = flow.shape
    x, y = _pixel_grid(h, w, flow.dtype, flow.device) + flow
    return ((x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)).unsqueeze(0).to(flow.dtype)


def forward_backward_confidence(forward: Tensor, backward: Tensor) -> Tensor:
    """Sundaram et al. 2010 consistency of a flow pair on the same grid -> (1, H, W) in [0, 1]."""
    back = warp(backward, forward)
    err2 = ((forward + back) ** 2).sum(0, keepdim=True)
    tol = 0.01 * ((forward**2).sum(0, keepdim=True) + (back**2).sum(0, keepdim=True)) + 0.5
    return torch.exp(-err2 / tol)


def align(key: Tensor, other: Tensor, ev: float, max_side: int = 640, initial: Tensor | None = None,
          initial_backward: Tensor | None = None) -> Alignment:
    """Dense flow from linear frame `key` to linear frame `other`, exposed `ev` stops apart.

    `other` ≈ `key` · 2^ev where both are well exposed. Work happens at most `max_side` pixels
    on the long side (OpenCV, CPU); the result is on `key`'s device at full resolution.
    `initial`, a (2, h, w) flow key -> other at any resolution, seeds the flow in place of the
    feature-matched homography; `initial_backward`, the same flow's way back (other -> key),
    seeds the backward flow, which is otherwise the seed's approximate inverse.
    """
    _, h, w = key.shape
    scale = min(1.0, max_side / max(h, w))
    size = (max(8, round(h * scale)), max(8, round(w * scale)))
    gain = 2.0**-ev
    clip = _CLIP_MARGIN * min(1.0, gain)
    floor = max(1.0, gain) * 2.0**-_FLOOR_BELOW_CLIP_EV
    log_key = _clamped_log_luminance(key, 1.0, size, clip, floor)
    log_other = _clamped_log_luminance(other, gain, size, clip, floor)
    img_key, img_other = _to_8bit(log_key, clip, floor), _to_8bit(log_other, clip, floor)

    if initial is None:
        homography = _initial_homography(img_key, img_other)
        seed_fwd = _flow_from_homography(homography, size)
        seed_bwd = _flow_from_homography(np.linalg.inv(homography), size)
    else:
        seed_fwd = resize_flow(initial.detach().to("cpu", torch.float32), size)
        if initial_backward is None:
            # The way back starts from the seed's reverse, sampled where each pixel came from.
            seed_bwd = -warp(seed_fwd, -seed_fwd)
        else:
            seed_bwd = resize_flow(initial_backward.detach().to("cpu", torch.float32), size)
    dense_fwd = _refine_warped(img_key, log_other, seed_fwd, clip, floor)
    dense_bwd = _refine_warped(img_other, log_key, seed_bwd, clip, floor)
    fitted = _fit_global_motion(dense_fwd, img_key)
    if fitted is None:
        # Too little texture inside the overlap to fit one: the seed is the best global motion.
        model_fwd, model_bwd = seed_fwd, seed_bwd
    else:
        model_fwd = _flow_from_homography(fitted, size)
        model_bwd = _flow_from_homography(np.linalg.inv(fitted), size)
    fwd = _prefer_global(_inside_saturation(dense_fwd, model_fwd, img_key), model_fwd, log_key, log_other)
    bwd = _prefer_global(_inside_saturation(dense_bwd, model_bwd, img_other), model_bwd, log_other, log_key)
    confidence = forward_backward_confidence(fwd, bwd) * inside_frame(fwd)
    difference = (log_key - warp(log_other, fwd)).abs()
    confidence = confidence * torch.exp(-((difference / _PHOTOMETRIC_SIGMA_EV) ** 2))

    full = resize_alignment(Alignment(fwd, confidence, bwd), (h, w))
    return Alignment(full.flow.to(key.device), full.confidence.to(key.device), full.backward.to(key.device))


def _clamped_log_luminance(
    frame: Tensor, gain: float, size: tuple[int, int], clip: float, floor: float
) -> Tensor:
    y = luminance(frame.detach().to("cpu", torch.float32)) * gain
    if tuple(y.shape[-2:]) != tuple(size):
        y = tnf.interpolate(y.unsqueeze(0), size=size, mode="area").squeeze(0)
    return torch.log2(y.clamp(floor, clip))


def _to_8bit(log_y: Tensor, clip: float, floor: float) -> np.ndarray:
    lo, hi = np.log2(floor), np.log2(clip)
    scaled = (log_y[0] - lo) * (255.0 / (hi - lo))
    return np.ascontiguousarray(scaled.round().clamp(0, 255).to(torch.uint8).numpy())


def _inside_saturation(local: Tensor, model: Tensor, image: np.ndarray) -> Tensor:
    """The global motion inside saturated areas, the dense flow elsewhere.

    A clamped highlight is flat: nothing inside it constrains the dense flow, which DIS fills in
    by pulling from the nearest edges, and an edge that only one frame shows pulls it astray. The
    motion of the surroundings, which the global model captures, is the better guess there.
    """
    flat = torch.from_numpy(image == 255).unsqueeze(0)
    return torch.where(flat, model, local)


def _prefer_global(dense: Tensor, model: Tensor, source: Tensor, target: Tensor) -> Tensor:
    """The global motion wherever it matches `source` to `target` about as well as the dense flow.

    DIS follows whatever lowers its photometric error, and between frames stops apart the
    clamped log images differ by more than motion near every highlight: it bends the flow
    around them, fore and back differently, by a pixel or two, which is a highlight's whole
    edge. The camera's motion explains those pixels as well to within noise, and exactly. Only
    where the dense flow matches the neighbourhood (5 x 5 mean of the absolute log difference)
    better by more than `_DENSE_GAIN_EV`, something moved on its own, and the dense flow stays.
    """
    worse = (source - warp(target, model)).abs() - (source - warp(target, dense)).abs()
    # A box mean is linear: the mean of the difference is the difference of the means.
    neighbourhood = cv2.blur(np.ascontiguousarray(worse[0].numpy()), (5, 5))
    return torch.where(torch.from_numpy(neighbourhood).unsqueeze(0) <= _DENSE_GAIN_EV, model, dense)


def _initial_homography(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Global motion a -> b: ORB + RANSAC homography, else a phase-correlation shift."""
    orb = cv2.ORB_create(nfeatures=500, edgeThreshold=15, patchSize=15, fastThreshold=5)
    keys_a, desc_a = orb.detectAndCompute(a, None)
    keys_b, desc_b = orb.detectAndCompute(b, None)
    if desc_a is not None and desc_b is not None and min(len(keys_a), len(keys_b)) >= _MIN_MATCHES:
        matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(desc_a, desc_b)
        if len(matches) >= _MIN_MATCHES:
            pts_a = np.float32([keys_a[m.queryIdx].pt for m in matches])
            pts_b = np.float32([keys_b[m.trainIdx].pt for m in matches])
            homography, inliers = cv2.findHomography(pts_a, pts_b, cv2.RANSAC, 2.0)
            enough = max(_MIN_MATCHES, _MIN_INLIER_SHARE * len(matches))
            if homography is not None and inliers.sum() >= enough:
                return homography
    window = cv2.createHanningWindow(a.shape[::-1], cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(a.astype(np.float32), b.astype(np.float32), window)
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def _fit_global_motion(flow: Tensor, image: np.ndarray) -> np.ndarray | None:
    """The global affine motion of the dense flow over the textured pixels (RANSAC), as a 3 x 3
    matrix, or None when too few pixels qualify or the fit fails.

    Sparse matches on a small frame pin the motion down to a fraction of a pixel at best; the
    dense flow of every unsaturated pixel does much better, and RANSAC drops the outliers. The
    model is affine, not a homography: DIS's errors drift slowly across a frame, and a
    homography's two perspective terms take that drift for perspective, a few tenths of a pixel
    at the frame's edges on a pure pan, which chaining adds up over a shot (bench: 0.45 dB on
    recoverable highlights). Pan, tilt, zoom, roll and a rolling shutter's skew are affine.
    Texture is rated by the smaller eigenvalue of the structure tensor (Shi & Tomasi, "Good
    features to track", CVPR 1994).
    """
    h, w = image.shape
    ys, xs = np.mgrid[0:h:4, 0:w:4]
    landing = np.stack((xs, ys), axis=-1) + flow.numpy().transpose(1, 2, 0)[ys, xs]
    # Pixels whose flow leaves the other frame have nothing to match there, only DIS's guess.
    lx, ly = landing[..., 0], landing[..., 1]
    inside = (lx >= 0) & (lx <= w - 1) & (ly >= 0) & (ly <= h - 1)
    usable = (image[ys, xs] > 0) & (image[ys, xs] < 255) & inside
    if int(usable.sum()) >= 8 * _MIN_MATCHES:
        # Only the better-textured half votes: on a smooth gradient (a sky) DIS's regulariser,
        # not the data, sets the flow, and a push's sky held the fitted zoom short by 0.3 % a
        # step (sunset/push, horizontal: 1.29 instead of 1.60 over 38 steps, 1.51 with this).
        texture = cv2.cornerMinEigenVal(image, _TEXTURE_BLOCK)[ys, xs]
        usable &= texture >= np.median(texture[usable])
    if int(usable.sum()) < 4 * _MIN_MATCHES:
        return None
    src = np.stack((xs[usable], ys[usable]), axis=1).astype(np.float32)
    dst = landing[usable].astype(np.float32)
    affine, _ = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=0.5)
    return None if affine is None else np.vstack((affine, (0.0, 0.0, 1.0)))


def _flow_from_homography(homography: np.ndarray, size: tuple[int, int]) -> Tensor:
    """(2, h, w) flow of a 3 x 3 homography (or affine map) on a grid of `size` (h, w)."""
    h, w = size
    flow = np.empty((2, h, w), np.float32)
    if np.array_equal(homography[2], (0.0, 0.0, 1.0)):
        # Affine: each flow component is a plane over x and y, built by broadcasting.
        xs, ys = np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64)[:, None]
        (a, b, c), (d, e, f) = homography[0], homography[1]
        flow[0] = (a - 1.0) * xs + (b * ys + c)
        flow[1] = d * xs + ((e - 1.0) * ys + f)
    else:
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
        points = homography @ np.stack((xs.ravel(), ys.ravel(), np.ones(h * w)))
        flow[:] = (points[:2] / points[2:] - np.stack((xs.ravel(), ys.ravel()))).reshape(2, h, w)
    return torch.from_numpy(flow)


def _refine_warped(a: np.ndarray, log_b: Tensor, seed: Tensor, clip: float, floor: float) -> Tensor:
    """Flow a -> b: DIS between `a` and b warped onto a's grid by `seed`, composed with the seed.

    DIS matches square patches, and across a push-in or a far reference the two frames differ
    in scale by a third or more, which no patch match survives; warped by the seed, b differs
    from a by the seed's error only, which DIS can measure. The result is that residual flow
    followed by the seed.
    """
    return compose_flows(_dis(a, _to_8bit(warp(log_b, seed), clip, floor)), seed)


def _dis(a: np.ndarray, b: np.ndarray) -> Tensor:
    """(2, h, w) flow a -> b of two 8-bit images by DIS, started from no motion."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    # The images are log luminance normalised by an exposure ratio that is only a guess: an error
    # of a few hundredths of a stop reads, on a shallow gradient such as a sky, as a shift of
    # pixels. Its variational refinement therefore matches gradients only (Brox et al., "High
    # accuracy optical flow estimation based on a theory for warping", ECCV 2004, the gradient
    # constancy term), which an offset in log luminance, a gain, leaves unchanged; the patch
    # search already subtracts each patch's mean.
    dis.setVariationalRefinementDelta(0.0)
    # DIS starts from the flow it is given (CV_32FC2 of the frame's size), here none.
    flow = dis.calc(a, b, np.zeros((*a.shape, 2), np.float32))
    return torch.from_numpy(flow.transpose(2, 0, 1).copy())
