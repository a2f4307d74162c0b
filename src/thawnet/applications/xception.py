"""Placeholder: filled in by the zoo work in progress."""

MODELS = {}
