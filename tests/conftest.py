import os

# Keras is the oracle in parity tests; it must run on the same engine as thawnet.
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
