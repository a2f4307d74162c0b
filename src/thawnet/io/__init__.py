"""thawnet.io: model and weight files (native format, Keras files)."""

from thawnet.io.errors import FileFormatError
from thawnet.io.native import WeightInfo, describe

__all__ = ["FileFormatError", "WeightInfo", "describe"]
