"""Grid search over a define-by-run space: enumerate every configuration the build function
can ask for, conditional parameters included.

The build function is run once per configuration with a source that answers each ask with
the next value of a path through the tree of choices, depth first. A parameter asked only
under some parent values (``units_2`` when ``hidden_layers >= 2``) only multiplies the
branches where it is asked, so the grid holds exactly the valid configurations (a plain
product of all parameters would not).
"""

from __future__ import annotations

from thawnet.tuning.hyperparameters import HyperParameters

MAX_GRID_SIZE = 10_000


class GridError(ValueError):
    """The space cannot be enumerated (a float without step, or too many configurations)."""


class _PathSource:
    """Answers the k-th ask with option ``path[k]`` (option 0 past the path's end)."""

    def __init__(self, path):
        self.path = path
        self.trace = []  # (spec, options, chosen index) per ask

    def value(self, spec):
        try:
            options = spec.grid_values()
        except ValueError as err:
            raise GridError(str(err)) from None
        k = len(self.trace)
        index = self.path[k] if k < len(self.path) else 0
        self.trace.append((spec, options, index))
        return options[index]


def enumerate_grid(build_fn, max_size=MAX_GRID_SIZE, on_build=None):
    """Every configuration of the search space ``build_fn`` defines, in depth-first order.

    Args:
        build_fn: the build function (``hp -> model``); it is called once per configuration.
        max_size: stop with an error beyond this many configurations.
        on_build: called after each build (e.g. to reset session names); optional.

    Returns:
        A list of ``{name: value}`` dicts (only the parameters active in each).

    Raises:
        GridError: a float parameter without ``step`` or a grid over ``max_size``.
    """
    configs = []
    stack = [[]]
    while stack:
        path = stack.pop()
        source = _PathSource(path)
        hp = HyperParameters(source)
        try:
            build_fn(hp)
        except GridError:
            raise
        except Exception:  # noqa: BLE001
            # A build that fails for a configuration is still a configuration: its trial
            # records the failure.
            pass
        finally:
            if on_build is not None:
                on_build()
        configs.append(dict(hp.values))
        if len(configs) > max_size:
            raise GridError(f"grid search: the space has more than {max_size} configurations; "
                            "narrow the ranges (coarser step, fewer options) or use "
                            "sampler='tpe' / 'random'.")
        chosen = [index for _, _, index in source.trace]
        # Odometer order: the last-asked parameter varies fastest.
        branches = []
        for depth in reversed(range(len(path), len(source.trace))):
            _, options, _ = source.trace[depth]
            for alternative in range(1, len(options)):
                branches.append(chosen[:depth] + [alternative])
        stack.extend(reversed(branches))
    return configs
