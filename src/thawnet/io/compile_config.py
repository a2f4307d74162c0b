"""A compiled model's compile settings in files (``.thawnet`` and ``.keras`` alike).

The format is Keras 3's ``compile_config``: ``optimizer`` as a serialized Keras object,
``loss``, ``loss_weights``, ``metrics``, ``weighted_metrics``, ``run_eagerly``,
``steps_per_execution``, ``jit_compile``. Names stay names (``"mse"``); objects are written as
``{"module", "class_name", "config", "registered_name"}``. Reading never imports anything:
classes are looked up by name in thawnet's optimizers, losses and metrics.

The optimizer's state (slots, step count, learning rate) is :mod:`thawnet.io.optimizer_state`.
"""

from __future__ import annotations

import warnings

from thawnet import losses as losses_lib
from thawnet import metrics as metrics_lib
from thawnet import optimizers as optimizers_lib
from thawnet.backend.plain_json import plain
from thawnet.io.errors import FileFormatError
from thawnet.io.keras_objects import class_identity, keras_object
from thawnet.optimizers import schedules as schedules_lib

_KERAS_ONLY_OPTIMIZER_KEYS = ("module", "registered_name")


class NotSerializable(ValueError):
    """A compile argument that cannot be written as data (a plain Python function...)."""


# -- compile config: writing ---------------------------------------------------------------
def _serialize_object(obj, keras_module: str, config: dict | None = None) -> dict:
    module, registered = class_identity(type(obj), keras_module)
    config = dict(obj.get_config() if config is None else config)
    return keras_object(module, type(obj).__name__, config, registered)


def _serialize_loss(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_serialize_loss(v) for v in value]
    if isinstance(value, dict):
        return {k: _serialize_loss(v) for k, v in value.items()}
    if isinstance(value, losses_lib.Loss) and type(value) is not losses_lib.LossFunctionWrapper:
        return _serialize_object(value, "keras.losses")   # built-in or your own Loss class
    if type(value) is losses_lib.LossFunctionWrapper and not value.fn_kwargs:
        value = value.fn   # a wrapped function is saved like the function itself
    name = getattr(value, "__name__", None)
    if name is not None and _resolves(losses_lib.get, name):
        return name
    raise NotSerializable(f"the loss {value!r} is a Python function, which a file cannot hold")


def _resolves(getter, name) -> bool:
    try:
        getter(name)
    except (ValueError, TypeError):
        return False
    return True


def _serialize_metric(metric, loss_arg):
    try:
        again = metrics_lib.get(metric.name, loss=loss_arg)
        if type(again) is type(metric) and again.get_config() == metric.get_config():
            return metric.name    # a name Keras and thawnet both resolve the same way
    except (ValueError, TypeError):
        pass
    if isinstance(metric, metrics_lib.MeanMetricWrapper) and \
            type(metric) is metrics_lib.MeanMetricWrapper:
        raise NotSerializable(f"the metric {metric.name!r} wraps a Python function, which a "
                              "file cannot hold")
    return _serialize_object(metric, "keras.metrics")


def _metrics_config(model):
    """``(metrics, weighted_metrics)`` as compile() takes them: a list for one output, a
    dict by output name for several; None where there are none."""
    compiled_loss, metric_set = model._compiled_loss, model._metric_set
    names = metric_set.output_names
    raw = None if compiled_loss is None else compiled_loss.raw
    weighted = list(getattr(metric_set, "weighted", ())) or [False] * len(metric_set.entries)
    groups = {False: {n: [] for n in names}, True: {n: [] for n in names}}
    for (i, metric, _), is_weighted in zip(metric_set.entries, weighted):
        loss_i = None if compiled_loss is None else compiled_loss.losses[i]
        loss_arg = raw if (raw is None or isinstance(raw, str)) else loss_i
        groups[is_weighted][names[i]].append(_serialize_metric(metric, loss_arg))
    out = []
    for per_output in (groups[False], groups[True]):
        if not any(per_output.values()):
            out.append(None)
        else:
            out.append(per_output[names[0]] if len(names) == 1 else per_output)
    return tuple(out)


def _optimizer_config(optimizer) -> dict:
    if isinstance(optimizer, optimizers_lib.OptaxOptimizer):
        raise NotSerializable("the optimizer is a raw optax transformation, which has no config")
    config = dict(optimizer.get_config())
    schedule = config.get("learning_rate")
    if isinstance(schedule, dict):   # {"class_name", "config"} of a thawnet schedule
        config["learning_rate"] = keras_object("keras.optimizers.schedules",
                                               schedule["class_name"], schedule["config"])
    for key, default in (("use_ema", False), ("ema_momentum", 0.99),
                         ("ema_overwrite_frequency", None), ("loss_scale_factor", None),
                         ("gradient_accumulation_steps", None)):
        config.setdefault(key, default)
    return _serialize_object(optimizer, "keras.optimizers", config)


def compile_config(model) -> dict | None:
    """Keras 3's ``compile_config`` of a compiled model, or None (uncompiled, or compiled
    with something a file cannot hold: then a warning says what and the file is written
    without it, so it loads uncompiled).

    Args:
        model: a thawnet model.

    Returns:
        A JSON-ready dict or None.
    """
    if not getattr(model, "compiled", False):
        return None
    try:
        loss = model._compiled_loss
        weights = None if loss is None else loss.weights
        if weights is not None and all(w == 1.0 for w in weights):
            weights = None
        elif weights is not None and len(weights) == 1:
            weights = weights[0]
        steps = getattr(model, "_steps_per_execution", 1)
        metrics, weighted_metrics = _metrics_config(model)
        config = {"optimizer": _optimizer_config(model.optimizer),
                "loss": None if loss is None else _serialize_loss(loss.raw),
                "loss_weights": weights, "metrics": metrics,
                "weighted_metrics": weighted_metrics, "run_eagerly": False,
                "steps_per_execution": steps if isinstance(steps, int) else 1,
                "jit_compile": True}
        return plain(config, "compile settings")   # raises for values JSON cannot hold
    except (NotSerializable, ValueError) as err:
        warnings.warn(f'Saving model "{model.name}": its compile settings are not written '
                      f"({err}); the file loads uncompiled. Use names or thawnet "
                      "Loss/Metric/Optimizer objects in compile() to have them saved.",
                      stacklevel=3)
        return None


# -- compile config: reading ---------------------------------------------------------------
def _plain_object(value, where):
    """``{"class_name", "config"}`` of a serialized object. Only the class name is used, and
    only to look the class up in thawnet's own optimizers / losses / metrics / schedules:
    ``module`` is never imported."""
    if not isinstance(value, dict) or not isinstance(value.get("class_name"), str):
        raise FileFormatError(f"{where}: expected a name or an object with 'class_name'; found "
                              f"{value!r:.80}.")
    config = value.get("config") or {}
    if not isinstance(config, dict):
        raise FileFormatError(f"{where}: the config of {value['class_name']!r} must be an "
                              "object.")
    return {"class_name": value["class_name"], "config": dict(config)}


def _deserialize_loss(value, where):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_deserialize_loss(v, where) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deserialize_loss(v, where) for k, v in value.items()}
    spec = _plain_object(value, where)
    spec["config"] = {k: v for k, v in spec["config"].items() if v is not None}
    return losses_lib.get(spec)


def _deserialize_metrics(value, where):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_deserialize_metrics(v, where) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deserialize_metrics(v, where) for k, v in value.items()}
    spec = _plain_object(value, where)
    spec["config"] = {k: v for k, v in spec["config"].items() if v is not None}
    return metrics_lib.get(spec)


def _deserialize_optimizer(value, where):
    if isinstance(value, str):
        return optimizers_lib.get(value)
    spec = _plain_object(value, where)
    config = {k: v for k, v in spec["config"].items() if v is not None}
    lr = config.get("learning_rate")
    if isinstance(lr, dict):
        config["learning_rate"] = schedules_lib.deserialize(_plain_object(lr, where))
    return optimizers_lib.get({"class_name": spec["class_name"], "config": config})


def compile_from_config(model, config: dict, source: str) -> bool:
    """Compile ``model`` as ``config`` (a ``compile_config``) says.

    Args:
        model: the freshly loaded model.
        config: Keras's or thawnet's ``compile_config``; None (or with neither optimizer
            nor loss): nothing.
        source: the file, for messages.

    Returns:
        True when the model was compiled. A class thawnet does not know gives a warning
        naming it (as Keras warns) and an uncompiled model.
    """
    if not isinstance(config, dict) or (config.get("loss") is None
                                        and config.get("optimizer") is None):
        return False
    where = f"{source} compile_config"
    try:
        optimizer = _deserialize_optimizer(config.get("optimizer") or "rmsprop", where)
        kwargs = {"optimizer": optimizer, "loss": _deserialize_loss(config.get("loss"), where),
                  "metrics": _deserialize_metrics(config.get("metrics"), where),
                  "loss_weights": config.get("loss_weights")}
        if config.get("weighted_metrics") is not None:
            kwargs["weighted_metrics"] = _deserialize_metrics(config["weighted_metrics"], where)
        extra = config.get("thawnet") or {}
        steps = extra.get("steps_per_execution", config.get("steps_per_execution", 1))
        if steps == "auto" or (isinstance(steps, int) and steps > 1):
            kwargs["steps_per_execution"] = steps
        if isinstance(extra.get("seed"), int):
            kwargs["seed"] = extra["seed"]
        model.compile(**kwargs)
    except (ValueError, TypeError, KeyError) as err:
        warnings.warn(f"load_model({source}): the compile settings could not be restored "
                      f"({type(err).__name__}: {err}); the model is returned uncompiled. If a "
                      "class is your own, register it (thawnet.saving.register_keras_"
                      "serializable) or call model.compile(...) yourself.", stacklevel=3)
        return False
    return True


__all__ = ["compile_config", "compile_from_config", "NotSerializable"]
