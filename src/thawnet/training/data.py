"""In-memory datasets for fit/evaluate/predict.

On an accelerator the whole data set is put on the device once per call; each epoch draws a
permutation (sent to the device once) and a small compiled gather takes each step's rows by
index, so no NumPy slice crosses to the device per step. On the CPU backend the device is the
host: ``fit`` takes each step's rows from the NumPy arrays and passes them to the step (one
device call per step, no copy of the whole data set per call). Either way the training step is
compiled for the batch shape only, never for the size of the data set: fitting, evaluating or
predicting on data of another length compiles nothing new but a gather.
Batches have one fixed shape; a last partial batch runs with its own (second) compiled shape
instead of being padded, so BatchNormalization and Dropout see exactly the samples given.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np


def _as_array(x, what):
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        arr = np.asarray(x)
    else:
        try:
            arr = np.asarray(x)
        except Exception as err:  # noqa: BLE001 - reported with the argument's name
            raise TypeError(f"{what}: expected an array (NumPy/JAX) or a list/dict of arrays; "
                            f"received {type(x).__name__}.") from err
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    if arr.dtype == np.int64:
        arr = arr.astype(np.int32)
    return arr


def to_arrays(structure, what):
    """A nested list/tuple/dict of array-likes -> the same structure of NumPy arrays."""
    if structure is None:
        return None
    if isinstance(structure, dict):
        return {k: _as_array(v, f"{what}[{k!r}]") for k, v in structure.items()}
    if isinstance(structure, (list, tuple)) and structure and all(
            hasattr(s, "shape") for s in structure):
        return [_as_array(v, f"{what}[{i}]") for i, v in enumerate(structure)]
    return _as_array(structure, what)


def num_samples(structure, what="x"):
    sizes = {int(a.shape[0]) for a in jax.tree_util.tree_leaves(structure)}
    if len(sizes) != 1:
        raise ValueError(f"{what}: all arrays must have the same number of samples (first "
                         f"dimension); received sizes {sorted(sizes)}.")
    return sizes.pop()


def take(structure, index):
    return jax.tree_util.tree_map(lambda a: a[index], structure)


class ArrayDataset:
    """``(x, y, sample_weight)`` held on the device, served as index batches.

    Args:
        x, y, sample_weight: arrays (or lists/dicts of arrays for several inputs/outputs).
        batch_size: samples per step (default 32).
        shuffle: draw a new permutation every epoch.
        seed: seed of the permutations (epoch ``e`` uses ``seed + e``), so a resumed run
            sees the same order.
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, shuffle=False, seed=0):
        self.x = to_arrays(x, "x")
        self.y = to_arrays(y, "y")
        self.sample_weight = None if sample_weight is None else _as_array(
            sample_weight, "sample_weight").astype(np.float32)
        self.n = num_samples(self.x, "x")
        if self.y is not None and num_samples(self.y, "y") != self.n:
            raise ValueError(f"x and y must have the same number of samples; received "
                             f"{self.n} and {num_samples(self.y, 'y')}.")
        if self.sample_weight is not None and self.sample_weight.shape[0] != self.n:
            raise ValueError(f"sample_weight must have one weight per sample ({self.n}); "
                             f"received shape {self.sample_weight.shape}.")
        if self.n == 0:
            raise ValueError("The data set is empty: x has 0 samples.")
        batch_size = 32 if batch_size is None else batch_size
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer; received {batch_size!r}.")
        self.batch_size = min(batch_size, self.n)
        self.shuffle, self.seed = shuffle, seed
        self.steps = math.ceil(self.n / self.batch_size)

    @functools.cached_property
    def device_data(self):
        """``(x, y, sample_weight)`` on the device, put there on first use: fit on the CPU
        backend takes its batches from the host arrays and never copies the whole data set."""
        return jax.device_put((self.x, self.y, self.sample_weight))

    def order(self, epoch):
        if not self.shuffle:
            return np.arange(self.n, dtype=np.int32)
        return np.random.default_rng(self.seed + epoch).permutation(self.n).astype(np.int32)

    def index_batches(self, epoch, steps=None):
        """``[(first_step, idx)]`` where ``idx`` is ``(k, batch)`` indices for k steps."""
        order = self.order(epoch)
        full = self.n // self.batch_size
        steps = self.steps if steps is None else min(steps, self.steps)
        out = []
        n_full = min(full, steps)
        if n_full:
            out.append((0, order[: n_full * self.batch_size].reshape(n_full, self.batch_size)))
        if steps > full:
            out.append((full, order[full * self.batch_size:][None, :]))
        return out


def split_validation(x, y, sample_weight, validation_split):
    """Keras's ``validation_split``: the last fraction of the samples, before any shuffling."""
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"validation_split must be in (0, 1); received {validation_split}.")
    x, y = to_arrays(x, "x"), to_arrays(y, "y")
    n = num_samples(x)
    cut = int(n * (1.0 - validation_split))
    if cut == 0 or cut == n:
        raise ValueError(f"validation_split={validation_split} leaves no samples for "
                         f"{'training' if cut == 0 else 'validation'} (of {n}).")
    head = lambda s: None if s is None else take(s, slice(0, cut))  # noqa: E731
    tail = lambda s: None if s is None else take(s, slice(cut, None))  # noqa: E731
    sw = None if sample_weight is None else np.asarray(sample_weight)
    return (head(x), head(y), head(sw)), (tail(x), tail(y), tail(sw))


def _gather_rows(device_data, idx, start, steps):
    rows = jax.lax.dynamic_slice_in_dim(idx, start, steps, axis=0)
    if steps == 1:
        rows = rows[0]

    def take(a):
        if a is None:
            return None
        flat = jnp.take(a, rows.reshape(-1), axis=0)
        return flat.reshape(rows.shape + a.shape[1:])

    return jax.tree_util.tree_map(take, device_data)


# ``steps`` batches starting at row ``start`` of the index table ``idx`` (one batch, unstacked,
# when steps == 1; else stacked along a leading axis for lax.scan).
gather_rows = jax.jit(_gather_rows, static_argnums=(3,))


def class_weights_to_sample_weights(y, class_weight, sample_weight):
    """Keras's ``class_weight``: each sample weighted by its class (index or one-hot label)."""
    y = np.asarray(jax.tree_util.tree_leaves(y)[0])
    labels = y.argmax(-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y)).astype(int)
    table = np.ones(int(max(max(class_weight), labels.max())) + 1, np.float32)
    for k, w in class_weight.items():
        table[int(k)] = w
    weights = table[labels]
    if sample_weight is not None:
        weights = weights * np.asarray(sample_weight, np.float32)
    return weights
