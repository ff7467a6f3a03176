"""Media in and out: video (PyAV), OpenEXR, Radiance, image sequences, probe, encoders."""
