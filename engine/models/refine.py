"""The learned refinement of temporal highlight reconstruction.

The classical temporal stage (engine.temporal) fuses clues from other frames of the shot where
it can and falls back to a single-frame ITM operator where it cannot. This network sees what that
stage knew — its reconstruction, the confidence of its clues, the SDR frame and the two
neighbouring keyframes' reconstructions — and predicts a correction of the log radiance in the
over-exposed pixels, in proportion to the share of each pixel no frame measured: it sharpens
the fusion where the clues were weak and fills in plausible highlights where no clue exists.
Where no clue exists the classical reconstruction is the fallback operator's (by default
masked-cnn, the single-frame network engine.models.unet.HighlightNet), so a single-frame
estimate reaches this network through the classical channels, not through a second pass
(docs/evaluation.md item 21: reading HighlightNet's own reconstruction as well cost as much as
this network, and the figures without it lie within one training run's spread). The shipped
weights learnt from bt2446a's fill, the training recipe's; the same recipe with masked-cnn's
fill flickered more on the validation renders (item 21, candidate A; item 25 ran two of each on
24 validation shots, and their differences lie within one recipe's run-to-run spread), so what
the network corrects at inference is a fill it did not train on.
Well-exposed pixels keep the classical reconstruction exactly (Santos et al. 2020, eq. 1), and
no estimate goes below the clipped measurement, as in engine.temporal.merge.

Trained with a temporal-stability term in the manner of Eilertsen, Mantiuk and Unger,
"Single-frame Regularization for Temporally Stable CNNs", CVPR 2019 (see engine.models.train).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from engine.filters import gaussian_blur
from engine.models.unet import UNet, UNetConfig, blend_prediction, sdr_inputs

NEIGHBOURS = 2  # the keyframes before and after the frame
# log classical (3), confidence (1), SDR signal (3), over-exposure mask (1), log keyframes (3 each).
REFINE_CHANNELS = 3 + 1 + 3 + 1 + 3 * NEIGHBOURS
CONFIDENCE_CHANNEL = 3
MASK_CHANNEL = CONFIDENCE_CHANNEL + 1 + 3
# Standard deviation, as a share of the frame's long side, of the spread of measured pixels'
# support (24 px on the 256-px validation shots, where the fill's feather is 8 px).
SUPPORT_FRACTION = 3.0 / 32.0
REFINE_ARCHITECTURE = UNetConfig(in_channels=REFINE_CHANNELS, widths=(16, 32, 64), masked=False)


class RefineNet(nn.Module):
    """forward(features (N, REFINE_CHANNELS, H, W)) -> log radiance ŷ = log(1 + H), (N, 3, H, W).

    Build the features with `features`; ŷ = log(1 + classical) + a learnt correction.
    """

    def __init__(self, config: UNetConfig = REFINE_ARCHITECTURE) -> None:
        super().__init__()
        if config.in_channels != REFINE_CHANNELS or config.masked:
            raise ValueError(f"the refinement network takes {REFINE_CHANNELS} unmasked channels")
        self.config = config
        self.unet = UNet(config)

    def features(self, classical: Tensor, confidence: Tensor, linear: Tensor, neighbours: Sequence[Tensor],
                 inputs: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """Stack the inputs of a batch: classical and neighbours (N, 3, H, W) each in relative
        radiance (1.0 = the frame's SDR peak), confidence (N, 1, H, W) in [0, 1], the SDR frame's
        display light `linear` (N, 3, H, W). Missing neighbours repeat the classical frame.
        `inputs` is sdr_inputs(linear, self.config) where the caller has it already.
        """
        keys = list(neighbours)[:NEIGHBOURS]
        keys += [classical] * (NEIGHBOURS - len(keys))
        signal, mask = inputs if inputs is not None else sdr_inputs(linear, self.config)
        n, _, h, w = classical.shape
        # Each input is written straight into its channels: the stack holds 14 frames' worth of
        # channels, and stacking temporaries (torch.cat) took longer than all the logs together.
        out = torch.empty((n, REFINE_CHANNELS, h, w), dtype=classical.dtype, device=classical.device)
        radiance = {0: classical, MASK_CHANNEL + 1: keys[0], MASK_CHANNEL + 4: keys[1]}
        for channel, light in radiance.items():
            torch.clamp_min(light, 0.0, out=out[:, channel : channel + 3]).log1p_()
        torch.clamp(confidence, 0.0, 1.0, out=out[:, CONFIDENCE_CHANNEL : CONFIDENCE_CHANNEL + 1])
        out[:, CONFIDENCE_CHANNEL + 1 : MASK_CHANNEL].copy_(signal)
        out[:, MASK_CHANNEL : MASK_CHANNEL + 1].copy_(mask)
        return out

    def forward(self, features: Tensor) -> Tensor:
        return features[:, :3] + self.unet(features)

    @staticmethod
    def mask_of(features: Tensor) -> Tensor:
        """The over-exposure mask channel of stacked features, (N, 1, H, W)."""
        return features[:, MASK_CHANNEL : MASK_CHANNEL + 1]

    def reconstruct(self, features: Tensor, linear: Tensor, log_radiance: Tensor | None = None,
                    support: Tensor | None = None) -> Tensor:
        """Relative radiance (N, 3, H, W): the classical reconstruction where the frame is well
        exposed, the refined estimate where clipped, never below the clipped measurement.

        Santos et al. 2020 eq. 1 passes the SDR frame's own light where it is well exposed; here
        that light is the classical stage's, which keeps its own pixels but may have re-read the
        top of the transfer from the clip (engine.temporal.shoulder). `support` (N, 1, H, W) is
        `measured_support` of the clue confidence, by default computed from the features; a
        caller that refines part of a frame passes its crop of the whole frame's support.
        """
        predicted = self(features) if log_radiance is None else log_radiance
        # The correction counts for the share of the pixel no frame measured (1 - the clue
        # confidence): where references saw the radiance, their measurement stands. Applied in
        # full, the network rewrote good recoveries (docs/evaluation.md item 15: on the
        # validation stills' phone shots, recoverable highlights fell from 35.7 to 23.5 dB).
        # Training sees the whole correction; scaling it there as well measured no better.
        if support is None:
            support = measured_support(features[:, CONFIDENCE_CHANNEL : CONFIDENCE_CHANNEL + 1])
        log_classical = features[:, :3]
        # The same sums as written out, in place on the temporaries (as in blend_prediction).
        predicted = (predicted - log_classical).mul_(1.0 - support).add_(log_classical)
        mask = self.mask_of(features)
        own = torch.expm1(log_classical).sub_(linear).mul_(mask)
        return blend_prediction(linear, mask, predicted).add_(own)


def measured_support(confidence: Tensor) -> Tensor:
    """(N, 1, H, W) clue confidence -> the share of each pixel the references' measurements hold.

    Near measured pixels the classical fill is pinned to them by its pull-push gain
    (engine.temporal.merge), so their support is the larger of the confidence and its Gaussian
    spread, σ = SUPPORT_FRACTION of the frame's long side (docs/evaluation.md item 15: 1, 3, 6
    and 12 x the fill's feather; 3 x kept its highlights and flickered least).
    """
    sigma = SUPPORT_FRACTION * max(confidence.shape[-2:])
    return torch.maximum(confidence, torch.stack([gaussian_blur(c, sigma) for c in confidence]))
