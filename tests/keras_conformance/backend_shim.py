"""``keras.src.backend`` as the Keras tests see it, for thawnet (which runs on JAX).

Only test utilities live here (which backend, array conversion, dtype names, the symbolic
tensor class). Everything that is layer behaviour comes from thawnet itself:
``backend.numpy`` is ``thawnet.ops``, ``backend.random`` is ``thawnet.random``,
``backend.Variable`` is ``thawnet.Variable``. Any other name is a :class:`Missing`
placeholder ("thawnet has no backend.X").
"""

from __future__ import annotations

import importlib
import sys
import unittest

# Not bound as ``jax``: ``backend.jax`` is Keras's JAX backend package (this shim), not JAX.
import jax as _jax
import jax.numpy as jnp
import numpy as np

import thawnet
from thawnet.backend import dtype_policy as dtype_policy_lib
from thawnet.backend import masking as thawnet_masking

from .keras_internals import BACKEND_TRAINER, SYMBOLIC_SCOPE
from .missing import Missing
from .thawnet_modules import symbolic_tensor_type, thawnet_module

# thawnet is measured as Keras's JAX backend.
_BACKEND = "jax"
# thawnet has no sparse or ragged tensors: Keras's tests then skip their sparse variants.
SUPPORTS_SPARSE_TENSORS = False
SUPPORTS_RAGGED_TENSORS = False
SUPPORTS_COMPLEX_DTYPES = True
MASKING_SKIP = "masking: thawnet does not implement masks yet (no compute_mask/_keras_mask)"


def backend() -> str:
    """The backend name Keras's tests branch on: ``"jax"``."""
    return _BACKEND


def floatx() -> str:
    """Keras's default float dtype."""
    return "float32"


def image_data_format() -> str:
    """``thawnet.config.image_data_format()`` when thawnet has it; else channels_last, the
    default of thawnet's layers (as of Keras)."""
    config = thawnet_module("config")
    return "channels_last" if isinstance(config, Missing) else config.image_data_format()


def set_image_data_format(data_format: str) -> None:
    """Keras's ``keras.config.set_image_data_format``: needs ``thawnet.config``."""
    thawnet_module("config").set_image_data_format(data_format)


def standardize_data_format(data_format):
    """Keras's ``None -> image_data_format()`` rule, with its check."""
    data_format = data_format or image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"Invalid data_format: {data_format}")
    return data_format


def is_tensor(x) -> bool:
    """Whether ``x`` is an eager array (a JAX array)."""
    return isinstance(x, _jax.Array)


def _value_of(x):
    return x.value if isinstance(x, thawnet.Variable) else x


def convert_to_numpy(x) -> np.ndarray:
    """A NumPy copy of an array or a thawnet Variable's value."""
    return np.asarray(_value_of(x))


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """An eager JAX array (Keras's JAX backend does the same)."""
    if sparse or ragged:
        raise unittest.SkipTest("sparse/ragged tensors: thawnet has none")
    return jnp.asarray(_value_of(x), dtype=dtype)


def standardize_dtype(dtype) -> str:
    """A dtype's Keras name (``"float32"``), as Keras's ``standardize_dtype`` gives it."""
    if dtype is None:
        return floatx()
    if dtype is int:
        return "int64"
    if dtype is float:
        return "float32"
    if dtype is bool:
        return "bool"
    if hasattr(dtype, "name") and not isinstance(dtype, str):
        try:
            return jnp.dtype(dtype).name
        except TypeError:
            return str(dtype.name)
    name = str(dtype)
    return "float32" if name == "float" else jnp.dtype(name).name


def is_int_dtype(dtype) -> bool:
    return standardize_dtype(dtype).startswith(("int", "uint"))


def is_float_dtype(dtype) -> bool:
    return standardize_dtype(dtype).startswith(("float", "bfloat"))


def standardize_shape(shape) -> tuple:
    return tuple(None if d is None else int(d) for d in shape)


def shape(x) -> tuple:
    return tuple(x.shape)


def get_keras_mask(x):
    """thawnet's own: masks ride on tensors (``thawnet.backend.masking``)."""
    return thawnet_masking.get_keras_mask(x)


def set_keras_mask(x, mask):
    thawnet_masking.set_keras_mask(x, mask)


class _KerasTensorMeta(type):
    def __instancecheck__(cls, instance) -> bool:
        return isinstance(instance, symbolic_tensor_type())


class KerasTensor(metaclass=_KerasTensorMeta):
    """Keras's symbolic tensor: creating one gives a thawnet symbolic input.

    ``KerasTensor(shape, dtype)`` returns ``thawnet.layers.Input(batch_shape=shape, dtype=...)``;
    ``isinstance(x, KerasTensor)`` is true for thawnet's symbolic tensors.
    """

    def __new__(cls, shape, dtype="float32", sparse=False, ragged=False, name=None, **kwargs):
        if sparse or ragged:
            raise unittest.SkipTest("sparse/ragged tensors: thawnet has none")
        if kwargs:
            raise TypeError(f"KerasTensor: thawnet's symbolic tensors take no {sorted(kwargs)}")
        return thawnet.layers.Input(batch_shape=tuple(shape), dtype=standardize_dtype(dtype),
                                    name=name)


Variable = thawnet.Variable


def compute_output_spec(fn, *args, **kwargs):
    """Keras's ``backend.compute_output_spec(fn, *symbolic)``: thawnet layers and ops called
    on symbolic tensors return the symbolic outputs (shape and dtype) directly."""
    return fn(*args, **kwargs)


class AutocastScope:
    """Keras's ``backend.AutocastScope(dtype)``: float variables created with autocast=True
    read in ``dtype`` inside it (thawnet's mixed-policy autocast, ``backend.dtype_policy``)."""

    def __init__(self, dtype):
        self.dtype = None if dtype is None else jnp.dtype(standardize_dtype(dtype))
        self._token = None

    def __enter__(self):
        self._token = dtype_policy_lib.autocasting(self.dtype)
        return self

    def __exit__(self, *exc):
        dtype_policy_lib.reset_autocast(self._token)


clear_session = thawnet.clear_session
# backend.config's flash-attention switches (Keras's attention tests set them in setUp).
enable_flash_attention = thawnet.config.enable_flash_attention
disable_flash_attention = thawnet.config.disable_flash_attention
is_flash_attention_enabled = thawnet.config.is_flash_attention_enabled

# Names of Keras's backend submodules that the tests reach through (``backend.common.x``,
# ``backend.config.x``, ``backend.common.keras_tensor.KerasTensor``): they all resolve here.
_SELF_SUBMODULES = {"common", "config", "keras_tensor", "global_state", "dtypes", "jax",
                    "variables"}


# Keras's pure helper modules that tests use to compute *expected* values (output sizes of
# transposed convolutions): taken from the real Keras, the oracle, never from thawnet.
_ORACLE_HELPERS = {"backend_utils": "keras.src.backend.common.backend_utils"}


def __getattr__(name: str):
    if name in _ORACLE_HELPERS:
        return importlib.import_module(_ORACLE_HELPERS[name])
    if name == "numpy":
        return thawnet_module("ops")
    if name == "random":
        return thawnet_module("random")
    if name == "trainer":  # backend.jax.trainer.JAXTrainer
        return BACKEND_TRAINER
    if name == "symbolic_scope":
        return SYMBOLIC_SCOPE
    if name in _SELF_SUBMODULES:
        return sys.modules[__name__]
    # pytest (--doctest-modules imports this file) looks for ``pytest_plugins``.
    if name.startswith(("__", "pytest")):
        raise AttributeError(name)
    return Missing(f"backend.{name}")
