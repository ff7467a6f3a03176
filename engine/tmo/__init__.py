"""HDR -> SDR operators (tone mapping). Importing the package registers every operator."""

from engine.tmo import bt2390, bt2446a, drago, durand, filmic, reinhard, reinhard_devlin

__all__ = ["bt2390", "bt2446a", "drago", "durand", "filmic", "reinhard", "reinhard_devlin"]
