"""Placeholder: filled in by the layer work in progress."""

__all__ = []
