"""A small U-Net for SDR -> HDR highlight reconstruction, with masked features in its encoder.

Santos, Ren and Kalantari, "Single image HDR reconstruction using a CNN with masked features and
perceptual loss", ACM TOG 39(4) (SIGGRAPH 2020), §3.2: every encoder convolution sees its input
features multiplied by a mask M (1 = well exposed, from `engine.masks.overexposure_mask`), so
the saturated pixels' meaningless values do not leak into the features, and the mask follows
the convolution, M' = (|W| * M) / (sum |W| + eps). Here the mask is one channel per layer (the
kernel |W| summed over its input and output channels), which keeps the mask update a single
one-channel convolution: the network must run on a CPU.

The decoder predicts log radiance ŷ = log(1 + H) and the output keeps the well-exposed pixels
exactly (Santos 2020, eq. 1): H = M lin(I) + (1 - M) (exp(ŷ) - 1). Shapes follow kornia:
(N, C, H, W) batches throughout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as tnf

from engine.color.transfer import gamma_inverse_eotf
from engine.constants import OVEREXPOSURE_TAU
from engine.masks import overexposure_mask

MASK_EPS = 1e-6
# 20 stops above SDR peak: beyond any highlight a scene shows, and far from float32 overflow in nits.
MAX_LOG_RADIANCE = math.log1p(2.0**20)
NEGATIVE_SLOPE = 0.2


@dataclass(frozen=True)
class UNetConfig:
    """The shape of a U-Net: input channels, channels per level, output channels, masked encoder."""

    in_channels: int = 3
    widths: tuple[int, ...] = (16, 32, 64, 64)
    out_channels: int = 3
    masked: bool = True
    # The network runs at 1/unshuffle of the frame's resolution on losslessly rearranged pixels
    # (pixel unshuffle, Shi et al., "Real-time single image and video super-resolution using an
    # efficient sub-pixel CNN", CVPR 2016): a quarter of the cost per level, twice the reach.
    unshuffle: int = 2
    # SDR display light is fed to the network as a gamma-encoded signal (close to the code values
    # a camera wrote), and the over-exposure mask is measured on that signal (Santos 2020 §3.1).
    input_gamma: float = 2.2
    tau: float = OVEREXPOSURE_TAU

    @property
    def multiple(self) -> int:
        """Input sides must be divisible by this (the unshuffle, then one halving per level)."""
        return self.unshuffle * 2 ** (len(self.widths) - 1)

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "widths": list(self.widths)}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> UNetConfig:
        values = dict(data)
        values["widths"] = tuple(values["widths"])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


class MaskedConv2d(nn.Conv2d):
    """Santos 2020 masked convolution: conv(X ⊙ M), and M' = (|W| * M) / (sum |W| + eps).

    x: (N, C, H, W), mask: (N, 1, H, W) -> features (N, C', H', W') and mask (N, 1, H', W').
    """

    def forward_masked(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        features = super().forward(x * mask)
        kernel = self.weight.abs().sum(dim=(0, 1), keepdim=True)
        pad = self.padding[0]
        # The mask is padded with its edge: a frame's border is not over-exposed by being a border.
        padded = tnf.pad(mask, (pad, pad, pad, pad), mode="replicate") if pad else mask
        updated = tnf.conv2d(padded, kernel, stride=self.stride) / (kernel.sum() + MASK_EPS)
        return features, updated


def _conv(cin: int, cout: int, stride: int = 1, masked: bool = False) -> nn.Conv2d:
    cls = MaskedConv2d if masked else nn.Conv2d
    return cls(cin, cout, 3, stride=stride, padding=1)


class EncoderLevel(nn.Module):
    """Two 3x3 convolutions (the first halves the resolution below level 0), masked or plain."""

    def __init__(self, cin: int, cout: int, stride: int, masked: bool) -> None:
        super().__init__()
        self.masked = masked
        self.first = _conv(cin, cout, stride, masked)
        self.second = _conv(cout, cout, 1, masked)

    def forward(self, x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        for conv in (self.first, self.second):
            if isinstance(conv, MaskedConv2d) and mask is not None:
                x, mask = conv.forward_masked(x, mask)
            else:
                x = conv(x)
            x = tnf.leaky_relu(x, NEGATIVE_SLOPE)
        return x, mask


class DecoderLevel(nn.Module):
    """Project to the skip's width (1x1, at the coarse resolution), upsample x2, add the skip
    features, one 3x3 convolution. Additive skips keep the high-resolution levels cheap."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.project = nn.Conv2d(cin, cout, 1)
        self.fuse = _conv(cout, cout)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        x = tnf.interpolate(self.project(x), size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return tnf.leaky_relu(self.fuse(x + skip), NEGATIVE_SLOPE)


class UNet(nn.Module):
    """U-Net (Ronneberger et al., MICCAI 2015) with an optionally masked encoder (Santos 2020).

    forward(x (N, in, H, W), mask (N, 1, H, W) or None) -> (N, out, H, W), with H and W
    divisible by `config.multiple`.
    """

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        self.config = config
        widths, factor = config.widths, config.unshuffle
        cins = (config.in_channels * factor * factor, *widths[:-1])
        self.encoder = nn.ModuleList(
            EncoderLevel(cin, cout, 1 if i == 0 else 2, config.masked)
            for i, (cin, cout) in enumerate(zip(cins, widths, strict=True))
        )
        self.decoder = nn.ModuleList(
            DecoderLevel(widths[i + 1], widths[i]) for i in reversed(range(len(widths) - 1))
        )
        self.head = nn.Conv2d(widths[0], config.out_channels * factor * factor, 3, padding=1)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if self.config.masked and mask is None:
            raise ValueError("a masked U-Net needs the over-exposure mask")
        factor = self.config.unshuffle
        x = tnf.pixel_unshuffle(x, factor)
        if mask is not None:
            # A rearranged pixel is as trustworthy as the worst of the pixels it holds.
            mask = -tnf.max_pool2d(-mask, factor)
        skips: list[Tensor] = []
        for level in self.encoder:
            x, mask = level(x, mask)
            skips.append(x)
        x = skips.pop()
        for level in self.decoder:
            x = level(x, skips.pop())
        return tnf.pixel_shuffle(self.head(x), factor)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def encode_sdr(linear: Tensor, gamma: float) -> Tensor:
    """SDR display light (relative, 1.0 = peak) -> the gamma-encoded signal the networks see."""
    return gamma_inverse_eotf(linear, gamma)


def batch_mask(signal: Tensor, tau: float) -> Tensor:
    """(N, 3, H, W) signal -> (N, 1, H, W) Santos over-exposure mask, one frame at a time."""
    return torch.stack([overexposure_mask(frame, tau) for frame in signal])


def sdr_inputs(linear: Tensor, config: UNetConfig) -> tuple[Tensor, Tensor]:
    """(N, 3, H, W) SDR display light -> the gamma-encoded signal and the (N, 1, H, W) Santos
    over-exposure mask a network built with `config` reads."""
    signal = encode_sdr(linear, config.input_gamma)
    return signal, batch_mask(signal, config.tau)


def blend_prediction(linear: Tensor, mask: Tensor, log_radiance: Tensor) -> Tensor:
    """Santos 2020 eq. 1, H = M lin(I) + (1 - M) max(exp(ŷ) - 1, lin(I)): well-exposed pixels pass
    exactly, and no estimate goes below what a clipped pixel measured (a lower bound of its
    radiance, as in engine.temporal.merge).

    linear: (..., 3, H, W) relative display light; mask: (..., 1, H, W); log_radiance: ŷ = log(1 + H).
    """
    # Where M = 1 the second term is exactly 0 whatever ŷ is, as long as it is finite. The
    # arithmetic runs in place on nan_to_num's copy, the same sums as written out: at 1080p each
    # frame-sized temporary costs about what the operation filling it does. (Inference only:
    # training's losses read ŷ itself, engine.models.train.)
    predicted = torch.nan_to_num(log_radiance.float(), nan=0.0).clamp_max_(MAX_LOG_RADIANCE).expm1_()
    torch.maximum(predicted, linear, out=predicted)
    return predicted.mul_(1.0 - mask).add_(mask * linear)


class HighlightNet(nn.Module):
    """The single-frame ITM network: SDR display light in, log radiance ŷ in clipped areas out.

    forward(linear (N, 3, H, W)) -> ŷ (N, 3, H, W), a residual over log(1 + lin). The floor at
    the clipped measurement is applied by `reconstruct`, after training, not inside the network,
    where it would stop the gradient of every pixel predicted too low.
    """

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        self.config = config
        self.unet = UNet(config)

    def inputs(self, linear: Tensor) -> tuple[Tensor, Tensor]:
        """The network's (N, 3, H, W) signal and (N, 1, H, W) mask of a batch of SDR frames."""
        return sdr_inputs(linear, self.config)

    def forward(self, linear: Tensor) -> Tensor:
        signal, mask = self.inputs(linear)
        return torch.log1p(linear.clamp_min(0.0)) + self.unet(signal, mask)

    def reconstruct(self, linear: Tensor, log_radiance: Tensor | None = None) -> Tensor:
        """(N, 3, H, W) SDR display light -> (N, 3, H, W) relative radiance (Santos eq. 1)."""
        predicted = self(linear) if log_radiance is None else log_radiance
        _, mask = self.inputs(linear)
        return blend_prediction(linear, mask, predicted)


def channel_widths(text: str | Sequence[int]) -> tuple[int, ...]:
    """'16,32,64' or a sequence -> a tuple of positive channel counts."""
    values = tuple(int(v) for v in (text.split(",") if isinstance(text, str) else text))
    if len(values) < 2 or min(values) < 1:
        raise ValueError(f"a U-Net needs at least two positive level widths, got {values}")
    return values
