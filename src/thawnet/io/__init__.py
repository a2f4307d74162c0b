"""thawnet.io: model and weight files (native format, Keras files)."""
