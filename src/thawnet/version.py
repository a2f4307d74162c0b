"""thawnet's version, in a module of its own so that the file writers (which record it) need
not import the top-level package."""

__version__ = "0.1.0"
