"""Keras 3's own layer tests, run against thawnet (see README.md in this folder)."""
