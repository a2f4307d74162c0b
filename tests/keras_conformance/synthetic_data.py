"""``keras.src.testing.test_utils.get_test_data`` for thawnet's run of Keras's tests: small
labelled data sets for the callback tests (written for thawnet, from what the tests need)."""

from __future__ import annotations

import numpy as np


def get_test_data(train_samples: int, test_samples: int, input_shape: tuple,
                  num_classes: int, random_seed: int | None = None):
    """A learnable classification set: each class's inputs scatter around its own mean.

    Args:
        train_samples, test_samples: how many examples in each split.
        input_shape: the shape of one input (``(3,)``).
        num_classes: the number of integer labels; every class appears in each split that
            has at least ``num_classes`` examples.
        random_seed: seed of the NumPy generator (default 1337, so runs are repeatable).

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: float32 inputs, int64 labels.
    """
    rng = np.random.default_rng(1337 if random_seed is None else random_seed)
    total = train_samples + test_samples
    # Labels cycle through the classes (so each is present), then are shuffled.
    labels = rng.permutation(np.arange(total) % num_classes).astype("int64")
    class_means = rng.uniform(0.0, 3.0 * num_classes, size=(num_classes,) + tuple(input_shape))
    inputs = (class_means[labels] + rng.normal(size=(total,) + tuple(input_shape))).astype(
        "float32")
    return ((inputs[:train_samples], labels[:train_samples]),
            (inputs[train_samples:], labels[train_samples:]))
