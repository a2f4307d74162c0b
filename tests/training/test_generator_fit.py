"""Streamed fit: compiled programs shared with the array path, at most one more program for a
short last batch, exact resume on a PyDataset, an honest resume on a generator, validation
and steps_per_execution on streams."""

import gc
import io
import threading
import time
import warnings

import numpy as np
import pytest

import thawnet
from thawnet import callbacks as cb
from thawnet import layers as tl

N, BS = 36, 8  # 4 full batches and a short one of 4


def _data():
    rng = np.random.default_rng(2)
    return (rng.normal(size=(N, 5)).astype("float32"),
            rng.integers(0, 3, size=(N,)).astype("int32"))


def _model(steps_per_execution=1):
    thawnet.clear_session()
    thawnet.set_random_seed(0)
    model = thawnet.Sequential([tl.Input((5,)), tl.Dense(8, activation="relu"), tl.Dropout(0.2),
                                tl.Dense(3)])
    model.compile(thawnet.optimizers.Adam(0.01),
                  thawnet.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], steps_per_execution=steps_per_execution, seed=5)
    return model


def _batches(x, y):
    return [(x[i:i + BS], y[i:i + BS]) for i in range(0, N, BS)]


class Batches(thawnet.utils.PyDataset):
    def __init__(self, x, y, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y = x, y

    def __len__(self):
        return -(-N // BS)

    def __getitem__(self, index):
        return self.x[index * BS:(index + 1) * BS], self.y[index * BS:(index + 1) * BS]


def _train_programs(model):
    """Compiled programs of the model's train functions (one per batch shape and scan)."""
    return sum(fn._cache_size() for key, fn in model._fn_cache.items() if key[0] == "train")


def test_short_last_batch_compiles_one_more_program_and_arrays_reuse_them():
    x, y = _data()
    model = _model()
    model.fit((b for b in _batches(x, y)), epochs=1, verbose=0)
    assert _train_programs(model) == 2  # batch of 8, and the last batch of 4
    model.fit(x, y, batch_size=BS, epochs=2, shuffle=False, verbose=0)
    assert _train_programs(model) == 2  # the array path runs the very same programs
    model.fit(Batches(x, y), epochs=2, verbose=0)
    assert _train_programs(model) == 2


def test_steps_per_execution_stacks_streamed_batches_like_arrays():
    x, y = _data()
    reference = _model(steps_per_execution=2)
    reference.fit(x, y, batch_size=BS, epochs=2, shuffle=False, verbose=0)
    model = _model(steps_per_execution=2)
    model.fit(Batches(x, y), epochs=2, shuffle=False, verbose=0)
    for got, want in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_validation_data_may_be_a_generator_with_validation_steps():
    x, y = _data()
    reference = _model()
    want = reference.fit(x, y, batch_size=BS, epochs=2, shuffle=False, verbose=0,
                         validation_data=(x, y)).history
    model = _model()
    endless = (b for _ in range(100) for b in _batches(x, y))  # 5 batches per validation
    got = model.fit(Batches(x, y), epochs=2, shuffle=False, verbose=0,
                    validation_data=endless, validation_steps=5).history
    assert got == want


def test_progress_bar_target_learned_in_the_first_epoch():
    x, y = _data()
    model = _model()
    out = io.StringIO()
    bar = cb.ProgbarLogger(stream=out, dynamic=False)
    targets = []
    watcher = cb.LambdaCallback(on_epoch_begin=lambda epoch, logs: targets.append(bar.target))
    loader = type("Loader", (), {"__iter__": lambda self: iter(_batches(x, y))})()
    model.fit(loader, epochs=2, verbose=1, callbacks=[bar, watcher])
    assert targets == [None, 5]  # unknown in epoch 1, learned for epoch 2
    first, second = out.getvalue().split("Epoch 2/2")
    assert "5/Unknown" in first and "5/5" in second  # as Keras 3 prints it


class Crash(Exception):
    pass


class CrashAfter(cb.Callback):
    def __init__(self, at):
        super().__init__()
        self.at, self.seen = at, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.at:
            raise Crash(f"after batch {batch}")


@pytest.mark.parametrize("shuffle", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_backup_and_restore_resumes_exactly_on_a_pydataset(tmp_path, shuffle):
    x, y = _data()
    reference = _model()
    want = reference.fit(Batches(x, y, workers=2), epochs=2, shuffle=shuffle,
                         verbose=0).history
    model = _model()
    backup = cb.BackupAndRestore(tmp_path, save_freq=3)
    with pytest.raises(Crash):
        model.fit(Batches(x, y, workers=2), epochs=2, shuffle=shuffle, verbose=0,
                  callbacks=[backup, CrashAfter(7)])  # backup at epoch 1, batch 1 of 5
    # The same model object resumes (its compiled steps are reused; the backup restores
    # weights, optimizer state, RNG and metrics).
    got = model.fit(Batches(x, y, workers=2), epochs=2, shuffle=shuffle, verbose=0,
                    callbacks=[cb.BackupAndRestore(tmp_path, save_freq=3)]).history
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert got == want


def test_resume_inside_an_epoch_of_a_generator_says_it_cannot_rewind(tmp_path):
    x, y = _data()
    model = _model()
    backup = cb.BackupAndRestore(tmp_path, save_freq=3)
    with pytest.raises(Crash):
        model.fit((b for b in _batches(x, y) * 2), epochs=2, steps_per_epoch=5, verbose=0,
                  callbacks=[backup, CrashAfter(7)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit((b for b in _batches(x, y) * 2), epochs=2, steps_per_epoch=5,
                            verbose=0, callbacks=[cb.BackupAndRestore(tmp_path, save_freq=3)])
    messages = [str(w.message) for w in caught]
    assert any("resuming inside epoch 2 at batch 1" in m and "cannot be rewound" in m
               for m in messages)
    assert history.epoch == [0, 1]  # the right epoch: epoch 0 is restored, not re-run


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name.startswith("thawnet-")]


def test_prefetching_threads_end_with_the_fit():
    x, y = _data()
    model = _model()
    model.fit((b for b in _batches(x, y) * 4), epochs=2, steps_per_epoch=3, verbose=0,
              validation_data=(b for b in _batches(x, y) * 4), validation_steps=2)
    model.fit(Batches(x, y, workers=3), epochs=1, verbose=0)
    with pytest.raises(Crash):
        model.fit(Batches(x, y, workers=2), epochs=1, verbose=0, callbacks=[CrashAfter(2)])
    gc.collect()
    deadline = time.monotonic() + 5.0
    while _prefetch_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _prefetch_threads() == []
