"""Map one Keras 3 layer config onto thawnet constructor arguments.

Keras stores every argument, defaults included, and wraps some in objects (dtype policies,
initializers, regularizers). Here those are turned into what thawnet's constructors take.
Keys thawnet's layer does not accept are dropped only when Keras's value is that argument's
default (so dropping it changes nothing); any other value raises naming layer and argument.
"""

from __future__ import annotations

import inspect

from thawnet.io.errors import KerasConfigError
from thawnet.layers.layer import Layer

# Keras arguments thawnet has no counterpart for, with the value that makes them a no-op.
_NO_OP_VALUES = {
    "sparse": False, "ragged": False, "optional": False, "synchronized": False,
    "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99,
    "quantization_config": None, "lora_rank": None, "lora_alpha": None, "groups": 1,
    "data_format": "channels_last", "mask_zero": False, "autocast": True,
    "input_dim": None, "seed": None, "noise_shape": None,
}
_ALWAYS_DROPPED = {"build_config", "compile_config", "shared_object_id"}


def is_keras_module(module):
    """True when ``module`` is absent or Keras's own (``keras``, ``keras.layers``, ...)."""
    return module is None or module == "keras" or str(module).startswith("keras.")


def _config_error(layer, message):
    return KerasConfigError(f'layer "{layer}": {message}')


def _accepted(cls):
    names = set()
    for klass in cls.__mro__:
        if klass is not object and issubclass(klass, Layer):
            params = inspect.signature(klass.__init__).parameters
            names.update(p for p in params if p != "self")
    return names


def _dtype(value, layer):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("class_name") in ("DTypePolicy", "FloatDTypePolicy"):
        name = (value.get("config") or {}).get("name")
        if name in ("float32", "float16", "bfloat16", "float64", "int32", "int64", "bool",
                    "uint8", "mixed_float16", "mixed_bfloat16"):
            return name
        raise _config_error(layer, f"dtype policy {name!r} (quantized) is not supported by "
                                   "thawnet; save the model with a float or mixed policy.")
    raise _config_error(layer, f"unsupported dtype entry {value!r}.")


def _keras_object(key, value, layer):
    """An initializer / regularizer dict, stripped of Keras's bookkeeping keys."""
    if not isinstance(value, dict):
        return value
    module = value.get("module")
    if not is_keras_module(module):
        raise _config_error(layer, f"{key} comes from module {module!r}, outside Keras; thawnet "
                                   "does not import modules named in files.")
    registered = value.get("registered_name")
    if registered not in (None, value.get("class_name")):
        raise _config_error(layer, f"{key} is the custom class {registered!r}, which thawnet "
                                   "cannot rebuild from a file.")
    config = {k: v for k, v in (value.get("config") or {}).items()
              if v is not None and k not in ("input_axes", "output_axes")}
    return {"class_name": value.get("class_name"), "config": config}


def _convert(key, value, layer):
    if key == "dtype":
        return _dtype(value, layer)
    if key.endswith("_constraint") or key == "constraint":
        if value is not None:
            raise _config_error(layer, f"{key}={value!r}: weight constraints stored in Keras "
                                       "files are not supported; remove the constraint or set it "
                                       "in Python after loading.")
        return None
    if key == "activation" and isinstance(value, dict):
        raise _config_error(layer, f"activation {value.get('class_name')!r} is a serialized "
                                   "object; only activations stored by name are supported.")
    if key.endswith(("_initializer", "_regularizer")) or key in ("initializer", "regularizer"):
        return _keras_object(key, value, layer)
    if isinstance(value, list) and key in ("batch_shape", "kernel_size", "strides", "pool_size",
                                           "dilation_rate", "padding", "cropping", "size",
                                           "target_shape", "dims", "axis", "output_padding"):
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return value


def layer_kwargs(cls, config, custom=False):
    """Constructor keyword arguments for ``cls`` from a Keras layer ``config``.

    Args:
        cls: the thawnet (or custom) layer class.
        config: the ``"config"`` dict of the layer's entry.
        custom: the class came from ``custom_objects``: pass its config through untouched
            except for dtype policies.

    Returns:
        A dict of keyword arguments.

    Raises:
        KerasConfigError: an argument thawnet lacks is set to a non-default value, or a value
            cannot be converted.
    """
    layer = config.get("name", "?")
    if not isinstance(layer, str):
        raise _config_error(repr(layer)[:40], f"a layer's name must be a string; received "
                                              f"{type(layer).__name__}.")
    if custom:
        return {k: (_dtype(v, layer) if k == "dtype" else v) for k, v in config.items()}
    accepted = _accepted(cls)
    kwargs = {}
    for key, value in config.items():
        if key in _ALWAYS_DROPPED:
            continue
        if key not in accepted:
            if value is None or value is False or value in ({}, []) or \
                    (key in _NO_OP_VALUES and _NO_OP_VALUES[key] == value):
                continue
            raise _config_error(
                layer, f"Keras argument {key}={value!r} has no counterpart in thawnet's "
                       f"{cls.__name__}, and it is not at its default, so ignoring it would "
                       "change the model. Rebuild this layer in Python, or re-save the model "
                       "without that option.")
        kwargs[key] = _convert(key, value, layer)
    return kwargs
