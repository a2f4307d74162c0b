"""thawnet.models: Model (functional and subclassed) and Sequential."""

from thawnet.models.model import Model
from thawnet.models.model_files import load_model
from thawnet.models.sequential import Sequential

__all__ = ["Model", "Sequential", "load_model"]
