"""Evaluation of an HDR reconstruction against ground truth, per frame and per region.

For each frame: the ground truth is aligned to the output by one robust scale (engine.metrics.
align) estimated over the pixels not clipped in the SDR input; then PU21-PSNR, PU21-SSIM, PSNR-μ
and flicker are measured over the whole frame, the highlights clipped in the SDR input, and
(given synth masks) the recoverable highlights. The per-frame alignment factors out the
reconstruction's absolute level, so a global brightness pumping would not show as flicker; it is
reported separately as the scale drift, the mean |log2(s_t / s_t-1)| in stops per frame.
ColorVideoVDP is added when its package is installed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from engine.errors import FormatError
from engine.finite import all_finite
from engine.metrics.align import robust_scale
from engine.metrics.flicker import flicker, pu21_luminance
from engine.metrics.psnr import psnr_mu, pu21_psnr
from engine.metrics.regions import REGIONS, clipped_mask, region_masks
from engine.metrics.ssim import pu21_ssim
from engine.metrics.vdp import cvvdp_jod, cvvdp_status

if TYPE_CHECKING:
    from engine.jobs import ProgressFn

METRICS = ("pu21_psnr", "pu21_ssim", "psnr_mu", "flicker")
METRIC_LABELS = {"pu21_psnr": "PU21-PSNR (dB)", "pu21_ssim": "PU21-SSIM", "psnr_mu": "PSNR-μ (dB)",
                 "flicker": "flicker (PU21)"}


@dataclass
class FrameScore:
    """One frame's scale and metrics, region -> metric -> value (NaN: empty region or first frame)."""

    index: int
    scale: float
    values: dict[str, dict[str, float]]


@dataclass
class EvalReport:
    """Per-frame scores, their means over frames, and ColorVideoVDP when available."""

    per_frame: list[FrameScore]
    regions: tuple[str, ...]
    cvvdp: dict[str, Any] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return len(self.per_frame)

    def mean(self, region: str, metric: str) -> float:
        """Mean over the frames where the value is defined (an empty region, the first frame's
        flicker); NaN if there are none. An exact frame (PSNR +inf) makes the mean +inf."""
        values = [v for f in self.per_frame if not math.isnan(v := f.values[region][metric])]
        return sum(values) / len(values) if values else math.nan

    @property
    def scale_drift(self) -> float:
        """Mean |log2(s_t / s_t-1)| of the alignment scales, in stops per frame."""
        scales = [f.scale for f in self.per_frame]
        steps = [abs(math.log2(b / a)) for a, b in itertools.pairwise(scales)]
        return sum(steps) / len(steps) if steps else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: NaN becomes null and infinities the strings 'inf' / '-inf'."""
        return _json_safe({
            "frames": self.frames,
            "summary": {r: {m: self.mean(r, m) for m in METRICS} for r in self.regions},
            "scale_drift_ev_per_frame": self.scale_drift,
            "cvvdp": self.cvvdp,
            "per_frame": [{"index": f.index, "scale": f.scale, **f.values} for f in self.per_frame],
        })

    def table(self) -> str:
        """The summary as a fixed-width text table, one row per metric, one column per region."""
        lines = [f"{'metric':<16}" + "".join(f"{r:>14}" for r in self.regions)]
        for metric in METRICS:
            cells = "".join(f"{_fmt(self.mean(r, metric)):>14}" for r in self.regions)
            lines.append(f"{METRIC_LABELS[metric]:<16}{cells}")
        lines.append(f"frames: {self.frames}   scale drift: {self.scale_drift:.4f} EV/frame")
        if self.cvvdp.get("available"):
            lines.append(f"ColorVideoVDP: {_fmt(self.cvvdp['jod'])} JOD ({self.cvvdp['display']})")
        else:
            lines.append(f"ColorVideoVDP: unavailable ({self.cvvdp.get('reason', 'not run')})")
        return "\n".join(lines)


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return "inf" if math.isinf(value) else f"{value:.4f}"


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else value
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


@dataclass
class _Previous:
    test: Tensor  # (1, H, W) PU21 luminance of the previous output frame
    reference: Tensor  # same, of the previous aligned ground truth


def score_frame(index: int, test: Tensor, reference: Tensor, sdr: Tensor, recoverable: Tensor | None,
                previous: _Previous | None) -> tuple[FrameScore, _Previous, Tensor]:
    """Metrics of one frame; returns the score, the state flicker needs next, and the aligned reference.

    test, reference: (3, H, W) BT.2020 (cd/m²; the reference may be scene-referred at any scale);
    sdr: (3, H, W) SDR R'G'B' in [0, 1]; recoverable: (1, H, W) mask or None.
    """
    masks = region_masks(sdr, recoverable)
    scale = robust_scale(test, reference, 1.0 - clipped_mask(sdr))
    if math.isnan(scale):
        scale = robust_scale(test, reference)
    if math.isnan(scale):
        scale = 1.0
    aligned = reference * scale
    pu_test, pu_reference = pu21_luminance(test), pu21_luminance(aligned)
    values: dict[str, dict[str, float]] = {}
    for region, mask in masks.items():
        values[region] = {
            "pu21_psnr": pu21_psnr(test, aligned, mask),
            "pu21_ssim": pu21_ssim(test, aligned, mask),
            "psnr_mu": psnr_mu(test, aligned, mask=mask),
            "flicker": math.nan if previous is None else
            flicker(previous.test, pu_test, previous.reference, pu_reference, mask),
        }
    return FrameScore(index, scale, values), _Previous(pu_test, pu_reference), aligned


def evaluate(test: Iterable[Tensor], reference: Iterable[Tensor], sdr: Iterable[Tensor],
             masks: Iterable[Tensor] | None = None, *, fps: float = 24.0, with_cvvdp: bool = True,
             progress: ProgressFn | None = None, total: int = 0, test_path: Path | None = None
             ) -> EvalReport:
    """Score a reconstruction frame by frame. The four sequences are consumed in step and must have
    the same length and frame size; `test_path` names the output in errors."""
    available, reason = cvvdp_status()
    run_vdp = with_cvvdp and available
    kept_test: list[Tensor] = []
    kept_reference: list[Tensor] = []
    scores: list[FrameScore] = []
    previous: _Previous | None = None
    mask_iter: Iterator[Tensor | None] = iter(masks) if masks is not None else _nones()
    for index, (t, r, s) in enumerate(zip(test, reference, sdr, strict=True)):
        mask = next(mask_iter, None)
        _check_frame(index, t, r, s, mask, test_path)
        score, previous, aligned = score_frame(index, t, r, s, mask, previous)
        scores.append(score)
        if run_vdp:
            kept_test.append(t.cpu())
            kept_reference.append(aligned.cpu())
        if progress is not None:
            progress("eval", index + 1, total or index + 1)
    regions = tuple(r for r in REGIONS if scores and r in scores[0].values)
    if run_vdp and scores:
        vdp = {"available": True, "display": "standard_hdr_linear",
               "jod": cvvdp_jod(kept_test, kept_reference, fps)}
    else:
        vdp = {"available": False, "reason": reason or "not requested"}
    return EvalReport(scores, regions, vdp)


def _check_frame(index: int, test: Tensor, reference: Tensor, sdr: Tensor, mask: Tensor | None,
                 path: Path | None) -> None:
    sizes = [tuple(x.shape[1:]) for x in (test, reference, sdr) + (() if mask is None else (mask,))]
    if len(set(sizes)) > 1 or test.shape[0] != 3 or reference.shape[0] != 3:
        raise FormatError(f"frame {index}: output, reference, SDR and mask sizes differ "
                          f"({', '.join('x'.join(map(str, size)) for size in sizes)})", path)
    if not all_finite(test):
        raise FormatError(f"frame {index} of the output holds NaN or Inf", path)


def _nones() -> Iterator[None]:
    while True:
        yield None


@dataclass
class FrameSource:
    """A sequence of frames with a known count and rate, read lazily."""

    path: Path
    count: int
    fps: float
    frames: Iterator[Tensor]


def hdr_source(path: str | Path, device: torch.device | str = "cpu") -> FrameSource:
    """An HDR clip or EXR sequence as (3, H, W) BT.2020 cd/m² frames, via engine.io.open and the
    input transform its tags resolve to."""
    from engine.grade import SourceTransform
    from engine.input_transform import resolve_input_transform
    from engine.io.open import open_clip

    path = Path(path)
    clip = open_clip(path)
    transform = resolve_input_transform(SourceTransform(), clip.info)
    if not transform.hdr:
        clip.close()
        raise FormatError(f"holds SDR ({transform.transfer}) frames; eval compares HDR frames", path)

    def frames() -> Iterator[Tensor]:
        with clip:
            for i in range(clip.info.frame_count):
                yield transform.apply(clip.frame(i).to(device))

    return FrameSource(path, clip.info.frame_count, float(clip.info.fps), frames())


def sdr_source(path: str | Path, device: torch.device | str = "cpu") -> FrameSource:
    """An SDR clip's R'G'B' code values in [0, 1], frame by frame."""
    from engine.io.open import open_clip

    path = Path(path)
    clip = open_clip(path)

    def frames() -> Iterator[Tensor]:
        with clip:
            for i in range(clip.info.frame_count):
                yield clip.frame(i).to(device)

    return FrameSource(path, clip.info.frame_count, float(clip.info.fps), frames())


def mask_source(folder: str | Path, count: int) -> Iterator[Tensor]:
    """The synth masks of `count` frames from a masks folder (engine.synth.masks layout)."""
    from engine.synth.masks import mask_path, read_mask

    folder = Path(folder)
    for i in range(count):
        yield read_mask(mask_path(folder, i))


def evaluate_paths(test: str | Path, reference: str | Path, sdr: str | Path, masks: str | Path | None = None,
                   *, device: torch.device | str = "cpu", with_cvvdp: bool = True,
                   progress: ProgressFn | None = None) -> EvalReport:
    """`evaluate` on files: HDR clips or EXR sequences for test and reference, an SDR clip, a masks folder."""
    test_src, reference_src = hdr_source(test, device), hdr_source(reference, device)
    sdr_src = sdr_source(sdr, device)
    for source in (reference_src, sdr_src):
        if source.count != test_src.count:
            raise FormatError(f"has {source.count} frames, the output {test_src.path} has {test_src.count}",
                              source.path)
    if masks is not None and not Path(masks).is_dir():
        raise FormatError("masks must be a folder of frame_NNNNNN.png files", masks)
    mask_frames = None if masks is None else (m.to(device) for m in mask_source(masks, test_src.count))
    return evaluate(test_src.frames, reference_src.frames, sdr_src.frames, mask_frames, fps=test_src.fps,
                    with_cvvdp=with_cvvdp, progress=progress, total=test_src.count, test_path=test_src.path)
