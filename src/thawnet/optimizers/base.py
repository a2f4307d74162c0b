"""Optimizer base class: Keras-style configuration compiled to optax.

An optimizer object is configuration only. ``to_optax()`` builds an
``optax.GradientTransformation`` whose updates are *added* to the params
(optax convention: ``params = optax.apply_updates(params, updates)``)::

    tx = Adam(1e-3).to_optax()
    opt_state = tx.init(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)

The chain is, in order:

1. gradient clipping (at most one of ``clipnorm`` -- per tensor L2 norm,
   ``global_clipnorm`` -- joint L2 norm, ``clipvalue`` -- elementwise);
2. the optimizer's rule, including the ``-learning_rate`` scaling where
   Keras applies it;
3. decoupled weight decay ``-learning_rate * weight_decay * param`` (Keras 3
   subtracts ``param * weight_decay * lr`` before each step; as no rule
   reads the param, adding the term to the update is the same).

``params``/``grads`` are what the trainer passes: dicts ``{path: array}`` of
the *trainable* weights only, so weight decay touches trainable weights only;
``exclude_from_weight_decay`` removes more of them by name.

The whole chain is wrapped in ``optax.inject_hyperparams`` so the current
learning rate lives in the optimizer state: see
:func:`thawnet.optimizers.get_learning_rate` / ``set_learning_rate``. A
schedule is evaluated at the step count (0 for the first update, like
Keras's ``iterations``).
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Callable, NamedTuple
import weakref

import jax
import jax.numpy as jnp
import numpy as np
import optax

from thawnet.optimizers import schedules as schedules_module
from thawnet.optimizers.argument_checks import (UNSUPPORTED_ARGUMENTS, checked_factor,
                                                checked_learning_rate)
from thawnet.optimizers.hyperparameters import StateHyperparameter
from thawnet.optimizers.injected_state import get_hyperparameter, set_hyperparameter
from thawnet.optimizers.state_hyperparameters import StateHyperparameters
from thawnet.optimizers.transforms import clip_by_norm_per_tensor
from thawnet.backend.types import Config, PyTree

class StatelessLayout(NamedTuple):
    """What :meth:`Optimizer.stateless_apply` needs to read Keras-style lists.

    Attributes:
        transformation: the ``optax.GradientTransformation`` of the model.
        treedef: the structure of its state (flattened into the list).
        trainable_paths: the path of each trainable variable, in order.
        constraints: ``{path: constraint}`` for the weights that have one.
    """

    transformation: Any
    treedef: Any
    trainable_paths: tuple
    constraints: dict[str, Callable]


def _path_name(path):
    if len(path) == 1 and isinstance(path[0], jax.tree_util.DictKey):
        return str(path[0].key)
    return jax.tree_util.keystr(path)


class Optimizer(StateHyperparameters):
    """Base class of the Keras-style optimizers.

    Args:
        learning_rate: float, or a callable ``step -> lr`` (e.g. a schedule
            from :mod:`thawnet.optimizers.schedules`).
        weight_decay: optional float; decoupled decay
            ``param -= lr * weight_decay * param`` each step.
        clipnorm: optional float; clip each gradient tensor to this L2 norm.
        clipvalue: optional float; clip gradients to ``[-v, v]``.
        global_clipnorm: optional float; clip all gradients jointly to this
            global L2 norm.
        name: optional name; defaults to the lower-case class name.
        use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps: accepted for Keras compatibility;
            only their default values are supported.
    """

    # Hyperparameters kept in the optimizer state (see hyperparameters.py): reading gives a
    # variable-like value, assigning changes the next step without recompiling.
    learning_rate = StateHyperparameter(checked_learning_rate)
    weight_decay = StateHyperparameter(checked_factor("weight_decay", optional=True))
    # Subclasses list their other ones (beta_1, rho, momentum, ...) in state_hyperparameters.

    def __init__(
        self,
        learning_rate: float | Callable[[int], float],
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        **kwargs,
    ) -> None:
        for key, value in kwargs.items():
            if key not in UNSUPPORTED_ARGUMENTS:
                raise TypeError(f"Unexpected keyword argument {key!r}.")
            if value != UNSUPPORTED_ARGUMENTS[key]:
                raise NotImplementedError(
                    f"{key}={value!r} is not supported by thawnet optimizers."
                )
        clip_args = [clipnorm, clipvalue, global_clipnorm]
        if sum(a is not None for a in clip_args) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` "
                f"can be set. Received: clipnorm={clipnorm}, "
                f"clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        self.learning_rate = learning_rate  # validated by the setter
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.name = name or type(self).__name__.lower()
        self._exclude_pattern = None

    # -- to be provided by subclasses -------------------------------------
    def update_rule(self, learning_rate: float | Callable[[int], float]
                    ) -> optax.GradientTransformation:
        """Returns the optax transformation of this optimizer's rule.

        Args:
            learning_rate: the current learning rate (a traced scalar).

        Returns:
            An ``optax.GradientTransformation`` mapping (clipped) gradients
            to updates to add to the params, learning rate included.
        """
        raise NotImplementedError

    def rule_config(self) -> Config:
        """Returns the subclass-specific constructor arguments."""
        return {}

    # -- optax ---------------------------------------------------------------
    def clipping(self) -> optax.GradientTransformation | None:
        """The clipping transformation, or ``None``."""
        if self.clipnorm and self.clipnorm > 0:
            return clip_by_norm_per_tensor(self.clipnorm)
        if self.global_clipnorm and self.global_clipnorm > 0:
            return optax.clip_by_global_norm(self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            return optax.clip(self.clipvalue)
        return None

    def exclude_from_weight_decay(self, var_names: Any = None) -> None:
        """Excludes weights from weight decay by name.

        Args:
            var_names: list of substrings / regular expressions; a weight is
                excluded when one of them is found (``re.search``) in its
                path key (e.g. ``"bias"``).
        """
        if var_names:
            self._exclude_pattern = re.compile("|".join(var_names))
        else:
            self._exclude_pattern = None

    def _decay_mask(self, params):
        pattern = self._exclude_pattern
        return jax.tree_util.tree_map_with_path(
            lambda path, _: pattern.search(_path_name(path)) is None, params
        )

    def _chain(self, values):
        # The rule reads its hyperparameters through self._hp(), which gives the
        # injected scalars while this factory runs.
        self._tracing = values
        try:
            learning_rate = values["learning_rate"]
            parts = []
            clip = self.clipping()
            if clip is not None:
                parts.append(clip)
            parts.append(self.update_rule(learning_rate))
            if self._has_term("weight_decay"):
                mask = self._decay_mask if self._exclude_pattern else None
                # Adds (-lr * wd) * param to the update.
                parts.append(optax.add_decayed_weights(
                    -learning_rate * self._hp("weight_decay"), mask=mask
                ))
            return optax.chain(*parts)
        finally:
            self._tracing = None

    def to_optax(self) -> optax.GradientTransformation:
        """Builds the ``optax.GradientTransformation`` of this optimizer.

        The learning rate and the other state hyperparameters
        (``weight_decay``, ``beta_1``, ...) are injected: kept, as float32, in
        ``opt_state.hyperparams[name]``, so assigning ``optimizer.<name>``
        changes the next step without recompiling. ``init`` takes the values
        current when it runs.

        Returns:
            An ``optax.GradientTransformation`` (with extra-args support).
        """
        names = self._injected_names()

        def factory(**values):
            return self._chain(values)

        # inject_hyperparams reads the factory's parameters by name.
        factory.__signature__ = inspect.Signature(
            [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names])

        def build():
            return optax.inject_hyperparams(factory, hyperparam_dtype=jnp.float32)(
                **{n: self._hyperparameter_config(n) for n in names})

        template = build()
        self._compiled_names = names
        return optax.GradientTransformationExtraArgs(
            lambda params: build().init(params), template.update)

    # -- Keras 3 stateless API (custom train_step) ---------------------------
    def stateless_apply(self, optimizer_variables: Any, grads: PyTree, trainable_variables: list
            ) -> tuple:
        """One optimizer step on explicit state (pure; Keras 3's JAX API).

        The lists are in the order of ``model.trainable_variables``; the
        optimizer state is the flat list a custom ``train_step`` receives in
        ``state[2]``. The weights' constraints are applied after the update,
        as Keras does. ``fit`` binds the layout (which path each list entry
        is, the state's structure) before it calls the model's ``train_step``.

        Args:
            optimizer_variables: the optimizer state as a flat list.
            grads: gradients, one per trainable variable.
            trainable_variables: the current values, one per trainable
                variable.

        Returns:
            ``(new_trainable_variables, new_optimizer_variables)``, as lists.
        """
        layout = getattr(self, "_stateless_layout", None)
        who = f'Optimizer "{self.name}"'
        if layout is None:
            raise ValueError(
                f"{who}: stateless_apply() needs the optimizer state of a "
                "compiled model; call it inside a train_step that fit() or "
                "train_on_batch() runs (after model.compile(optimizer=...)).")
        paths = layout.trainable_paths
        for what, values in (("grads", grads),
                             ("trainable_variables", trainable_variables)):
            if len(values) != len(paths):
                raise ValueError(
                    f"{who}: stateless_apply() expected {len(paths)} {what} "
                    f"(one per entry of model.trainable_variables: "
                    f"{list(paths)}); received {len(values)}.")
        if len(optimizer_variables) != layout.treedef.num_leaves:
            raise ValueError(
                f"{who}: stateless_apply() expected {layout.treedef.num_leaves} "
                f"optimizer variables (state[2] of train_step); received "
                f"{len(optimizer_variables)}. Pass the optimizer_variables of "
                "the state unchanged.")
        params = dict(zip(paths, trainable_variables))
        opt_state = jax.tree_util.tree_unflatten(layout.treedef,
                                                 list(optimizer_variables))
        updates, opt_state = layout.transformation.update(
            dict(zip(paths, grads)), opt_state, params)
        params = optax.apply_updates(params, updates)
        out = []
        for path in paths:
            value = params[path]
            constraint = layout.constraints.get(path)
            if constraint is not None:
                value = constraint(value).astype(value.dtype)
            out.append(value)
        return out, jax.tree_util.tree_leaves(opt_state)

    # -- config -------------------------------------------------------------
    def get_config(self) -> Config:
        """Returns the constructor arguments as a dict (schedules as
        ``{"class_name", "config"}`` dicts)."""
        lr = self._hyperparameter_config("learning_rate")
        if isinstance(lr, schedules_module.LearningRateSchedule):
            lr = schedules_module.serialize(lr)
        elif lr is not None:
            lr = self.config_value("learning_rate")  # the current value
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.config_value("weight_decay"),
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            **self.rule_config(),
        }

    @classmethod
    def from_config(cls, config: Config) -> Optimizer:
        """Builds an optimizer from the output of ``get_config``."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules_module.deserialize(
                config["learning_rate"]
            )
        return cls(**config)

    def __repr__(self):
        lr = self.learning_rate_schedule or self.config_value("learning_rate")
        return f"<{type(self).__name__} learning_rate={lr!r}>"


class OptaxOptimizer(Optimizer):
    """Wraps a ready-made ``optax.GradientTransformation``.

    ``to_optax()`` returns it unchanged. Its learning rate can be read and
    set through the state only if the transformation was built with
    ``optax.inject_hyperparams`` and a ``learning_rate`` argument.

    Args:
        transformation: the ``optax.GradientTransformation``.
        name: defaults to ``"optax"``.
    """

    def __init__(self, transformation: optax.GradientTransformation, name: str = "optax"
                 ) -> None:
        self.transformation = transformation
        self._hyper = {}  # not known: the values live inside the transformation
        self.clipnorm = self.clipvalue = self.global_clipnorm = None
        self.name = name
        self._exclude_pattern = None

    def _state_may_hold(self, name):
        return name == "learning_rate"

    def _read_hyperparameter(self, name):
        state = self._live_state(ensure=True)
        if state is None:
            raise ValueError(
                f"The {name} of a raw optax transformation is read from its state: "
                "compile a model with it first (and build it with "
                "optax.inject_hyperparams to make the rate settable).")
        return np.float32(jax.device_get(get_hyperparameter(state, name)))

    def _write_hyperparameter(self, name, value):
        state = self._live_state(ensure=True)
        if state is None:
            raise ValueError(
                f"The {name} of a raw optax transformation lives in its state: "
                "compile a model with it before setting it.")
        set_hyperparameter(state, name, value)  # raises if it is not injected
        self._owner_model()._update_opt_state(
            lambda s, place: set_hyperparameter(s, name, value, place))

    def to_optax(self) -> optax.GradientTransformation:
        return self.transformation

    def get_config(self) -> Config:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: Config) -> OptaxOptimizer:
        raise NotImplementedError("A raw optax transformation has no config.")
