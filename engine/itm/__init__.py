"""SDR -> HDR operators. Importing the package registers them all (engine.operators)."""

from engine.itm import akyuz, bt2408, bt2446, huo, kovaleski, masia, meylan

__all__ = ["akyuz", "bt2408", "bt2446", "huo", "kovaleski", "masia", "meylan"]
from engine.itm import masked_cnn  # noqa: F401
