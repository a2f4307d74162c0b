"""LambdaCallback: a callback built from plain functions."""

from __future__ import annotations

from typing import Any

from thawnet.callbacks.base import BATCH_HOOKS, Callback

_HOOKS = BATCH_HOOKS + (
    "on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end", "on_test_begin",
    "on_test_end", "on_predict_begin", "on_predict_end",
)


class LambdaCallback(Callback):
    """A callback whose hooks are the functions given.

    Each argument is a hook name with the hook's signature: ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_train_begin(logs)``, ``on_train_end(logs)``,
    ``on_train_batch_begin(batch, logs)``, ``on_train_batch_end(batch, logs)``, and likewise the
    test/predict hooks. Hooks not given do nothing. Other keywords become attributes, as in
    Keras (``LambdaCallback(helper=fn).helper``); an ``on_...`` name that is no hook is refused.

    >>> printer = LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
    """

    def __init__(self, on_epoch_begin: Any = None, on_epoch_end: Any = None,
                 on_train_begin: Any = None, on_train_end: Any = None,
                 on_train_batch_begin: Any = None, on_train_batch_end: Any = None, **other_hooks
            ) -> None:
        super().__init__()
        # Keras keeps any other keyword as an attribute; a name that looks like a hook but is
        # none (``on_epoch_ends``) is a typo that would silently never run, so it is refused.
        unknown = sorted(k for k in other_hooks if k.startswith("on_") and k not in _HOOKS)
        if unknown:
            raise TypeError(f"LambdaCallback got unknown hooks {unknown}; known hooks are "
                            f"{sorted(_HOOKS)}.")
        extras = {k: v for k, v in other_hooks.items() if not k.startswith("on_")}
        self.__dict__.update(extras)
        other_hooks = {k: v for k, v in other_hooks.items() if k not in extras}
        hooks = dict(other_hooks, on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, fn in hooks.items():
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"LambdaCallback {name} must be callable; got {fn!r}.")
                setattr(self, name, fn)
