"""thawnet: Keras-style deep learning on JAX and Optax, with exact, verifiable trainability."""

from thawnet import (activations, applications, distribute, initializers, layers, losses,
                     metrics, models, optimizers, regularizers)
from thawnet.backend import clear_session, set_random_seed
from thawnet.models import Model, Sequential
from thawnet.training import AuditError, audit, freeze, unfreeze
from thawnet.variables import PARAMETER, STATISTIC, Variable, is_effectively_trainable

__version__ = "0.1.0"
