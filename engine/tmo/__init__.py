"""HDR -> SDR operators (tone mapping); engine.operators.catalogue lists them."""
