"""Colour science on torch tensors: transfer functions, primaries, YCbCr and luminance."""
