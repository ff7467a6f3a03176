"""Camera response (CRF) estimation: the EMoR model, classical fits and a learned estimator.

curves.py holds the documented camera curves the model is built from and evaluated on,
emor.py the empirical model of response (Grossberg & Nayar, PAMI 2004), fit.py the classical
per-shot fits, net.py the single-frame network, train.py its training, and estimate.py the
source transform `estimated` that linearises a clip through its estimated response;
camera_lut.py reads a camera's known inverse response from a 1-D .cube file (the `camera-lut`
source transform) and checks any response table before the engine decodes through it, and
bracket.py measures one from a bracket of stills (`lumigrade calibrate`, the GUI's "Measure…").
"""
