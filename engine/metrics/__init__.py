"""Quality metrics for HDR reconstructions: PU21-PSNR, PU21-SSIM, PSNR-μ, flicker, scale
alignment, regions, and ColorVideoVDP when its package is installed; TMQI for tone-mapped images."""

from engine.metrics.align import robust_scale
from engine.metrics.evaluate import EvalReport, evaluate, evaluate_paths
from engine.metrics.flicker import flicker, pu21_luminance
from engine.metrics.psnr import psnr, psnr_mu, pu21_psnr
from engine.metrics.pu21 import pu21_decode, pu21_encode
from engine.metrics.ssim import pu21_ssim, ssim
from engine.metrics.tmqi import TmqiScore, tmqi

__all__ = [
    "EvalReport",
    "TmqiScore",
    "evaluate",
    "evaluate_paths",
    "flicker",
    "psnr",
    "psnr_mu",
    "pu21_decode",
    "pu21_encode",
    "pu21_luminance",
    "pu21_psnr",
    "pu21_ssim",
    "robust_scale",
    "ssim",
    "tmqi",
]
