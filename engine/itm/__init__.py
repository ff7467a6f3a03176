"""SDR -> HDR operators (inverse tone mapping); engine.operators.catalogue lists them."""
