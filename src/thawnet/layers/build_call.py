"""How a layer's ``build`` is called, as in Keras 3.

* ``build`` called directly marks the layer built (:func:`marking_built` wraps every
  subclass's ``build``).
* A ``build`` with one argument gets the shape of the first input. A ``build`` with several
  gets the shapes of the call's tensor arguments by name: ``build(self, foo_shape,
  bar_shape)`` for ``call(self, foo, bar)`` (:func:`shapes_by_name`).
"""

from __future__ import annotations

import functools
import inspect

from thawnet.layers.call_inspection import shapes_of

_params_cache: dict = {}


def marking_built(build):
    """Wrap a subclass's ``build`` so that calling it directly marks the layer built, as in
    Keras (``layer.build((None, 3))`` then ``layer(x)`` must not build a second time)."""

    @functools.wraps(build)
    def build_and_mark(self, *args, **kwargs):
        build(self, *args, **kwargs)
        if args and self._build_input_shape is None:
            self._build_input_shape = args[0]
        self.built = True

    build_and_mark.marks_built = True
    return build_and_mark


def _parameter_names(fn) -> tuple:
    key = getattr(fn, "__func__", fn)
    if key not in _params_cache:
        params = inspect.signature(fn).parameters.values()
        _params_cache[key] = tuple(p.name for p in params
                                   if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                                 p.KEYWORD_ONLY))
    return _params_cache[key]


def shapes_by_name(layer, inputs, args: tuple, kwargs: dict) -> dict | None:
    """The keyword arguments for ``layer.build``, or None when it takes one shape (then the
    first input's shape is passed positionally, the usual case).

    Raises:
        ValueError: a ``build`` argument that does not end in ``_shape``, or that names no
            argument of ``call``.
    """
    build_params = _parameter_names(layer.build)
    if len(build_params) <= 1:
        return None
    call_params = _parameter_names(layer.call)
    given = dict(zip(call_params, (inputs,) + tuple(args)))
    given.update(kwargs)
    who = f'{type(layer).__name__} "{layer.name}"'
    by_name = {}
    for name in build_params:
        if not name.endswith("_shape"):
            raise ValueError(
                f"{who}: build() has argument `{name}`, which does not end in `_shape`. With "
                "several arguments, each must be named <call argument>_shape (build(self, "
                f"x_shape, mask_shape) for call(self, x, mask)); received build{build_params}.")
        arg = name[: -len("_shape")]
        if arg not in call_params:
            raise ValueError(
                f"{who}: build() has argument `{name}`, but `call()` does not have argument "
                f"`{arg}`. Rename it after one of call's arguments {call_params} (with the "
                "suffix _shape), or give build a single input_shape argument.")
        value = given.get(arg)
        by_name[name] = None if value is None else shapes_of(value)
    return by_name
