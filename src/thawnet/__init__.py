"""thawnet: Keras-style deep learning on JAX and Optax, with exact, verifiable trainability.

The top-level namespace is Keras 3's: ``import thawnet as keras`` gives ``keras.Input``,
``keras.Model``, ``keras.layers``, ``keras.ops``, ``keras.random``, ``keras.callbacks``, ...
The submodules that a model definition needs are imported here; the others (``applications``,
``callbacks``, ``io``, ``saving``, ``tuning``, ...) load on first attribute access (PEP 562), so
``import thawnet`` stays fast and ``thawnet.callbacks.EarlyStopping`` works without a separate
import.
"""

from __future__ import annotations

import importlib

from thawnet import (activations, initializers, layers, losses, metrics, models, ops,
                     optimizers, random, regularizers)
from thawnet.backend import clear_session, set_random_seed
from thawnet.layers import Input, InputSpec, Layer
from thawnet.layers import op_layer as _op_layer  # noqa: F401 (installs the ops' graph handler)
from thawnet.losses import Loss
from thawnet.metrics import Metric
from thawnet.models import Model, Sequential
from thawnet.models.explain import explain
from thawnet.optimizers import Optimizer
from thawnet.training import AuditError, audit, freeze, unfreeze
from thawnet.trainability.lr_multipliers import set_learning_rate_multiplier
from thawnet.models.lora_model import enable_lora, merge_lora, unmerge_lora
from thawnet.variables import PARAMETER, STATISTIC, Variable, is_effectively_trainable
from thawnet.version import __version__


# Submodules loaded on first use: attribute name -> module.
_LAZY = {
    "applications": "thawnet.applications",
    "callbacks": "thawnet.callbacks",
    "config": "thawnet.config",
    "config": "thawnet.config",
    "dtype_policies": "thawnet.dtype_policies",
    "constraints": "thawnet.constraints",
    "distribute": "thawnet.distribute",
    "io": "thawnet.io",
    "mixed_precision": "thawnet.mixed_precision",
    "saving": "thawnet.saving",
    "training": "thawnet.training",
    "tuning": "thawnet.tuning",
    "utils": "thawnet.utils",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'thawnet' has no attribute {name!r}")
    value = importlib.import_module(module)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AuditError", "Input", "InputSpec", "Layer", "Loss", "Metric", "Model", "Optimizer",
    "PARAMETER", "STATISTIC", "Sequential", "Variable", "activations", "audit", "clear_session",
    "freeze", "initializers", "is_effectively_trainable", "layers", "losses", "metrics",
    "models", "ops", "optimizers", "random", "regularizers", "set_random_seed", "unfreeze",
    *sorted(_LAZY),
]
__all__ += ["enable_lora", "merge_lora", "set_learning_rate_multiplier", "unmerge_lora"]
__all__ += ["explain"]
