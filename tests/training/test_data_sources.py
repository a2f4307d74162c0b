"""Every input Keras 3 accepts: generators, iterables, PyDataset, tf.data / DataLoader-like
objects. Each gives bit-identical weights to the in-memory arrays holding the same batches,
and the streamed-input errors name the batch, what was expected and what was received."""

import itertools
import warnings

import numpy as np
import pytest

import thawnet
from thawnet.training.data_sources import StreamSource, is_stream

N, BS = 40, 8


def _data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(N, 5)).astype("float32")
    y = rng.integers(0, 3, size=(N,)).astype("int32")
    return x, y


def _model():
    thawnet.clear_session()
    model = thawnet.Sequential([thawnet.Input((5,)), thawnet.layers.Dense(7, activation="relu"),
                                thawnet.layers.Dense(3)])
    model.compile("adam", thawnet.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], seed=3)
    return model


def _batches(x, y):
    return [(x[i:i + BS], y[i:i + BS]) for i in range(0, N, BS)]


class Batches(thawnet.utils.PyDataset):
    def __init__(self, x, y, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y = x, y
        self.ends = 0

    def __len__(self):
        return N // BS

    def __getitem__(self, index):
        return self.x[index * BS:(index + 1) * BS], self.y[index * BS:(index + 1) * BS]

    def on_epoch_end(self):
        self.ends += 1


class FakeTFDataset:
    """The tf.data iteration protocol, written here: cardinality(), as_numpy_iterator()."""

    def __init__(self, batches, cardinality=None):
        self.batches = batches
        self._cardinality = len(batches) if cardinality is None else cardinality

    def cardinality(self):
        return np.int64(self._cardinality)

    def as_numpy_iterator(self):
        source = itertools.cycle(self.batches) if self._cardinality == -1 else self.batches
        return iter(source)

    def __iter__(self):
        return self.as_numpy_iterator()


class FakeLoader:
    """A DataLoader-shaped object: a length and a fresh iterator each pass."""

    def __init__(self, batches):
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        return iter(list(self.batches))


def _weights(model):
    return [np.asarray(w) for w in model.get_weights()]


@pytest.fixture(scope="module")
def fitted_on_arrays():
    """Weights and History of 2 epochs on the arrays (computed once for all inputs)."""
    x, y = _data()
    model = _model()
    history = model.fit(x, y, batch_size=BS, epochs=2, shuffle=False, verbose=0)
    return _weights(model), history.history


@pytest.mark.parametrize("kind", ["generator", "pydataset", "pydataset_workers", "tf_like",
                                  "loader_like", "sequence"])
def test_streamed_inputs_train_exactly_like_arrays(kind, fitted_on_arrays):
    expected, expected_history = fitted_on_arrays
    x, y = _data()
    model = _model()
    if kind == "generator":
        data = (b for b in _batches(x, y) * 2)
        history = model.fit(data, epochs=2, steps_per_epoch=N // BS, verbose=0)
    else:
        data = {"pydataset": lambda: Batches(x, y),
                "pydataset_workers": lambda: Batches(x, y, workers=2, max_queue_size=3),
                "tf_like": lambda: FakeTFDataset(_batches(x, y)),
                "loader_like": lambda: FakeLoader(_batches(x, y)),
                "sequence": lambda: type("Seq", (thawnet.utils.Sequence,), {
                    "__len__": Batches.__len__, "__getitem__": Batches.__getitem__,
                    "x": x, "y": y})()}[kind]()
        history = model.fit(data, epochs=2, shuffle=False, verbose=0)
    for got, want in zip(_weights(model), expected):
        np.testing.assert_array_equal(got, want)
    assert history.history == expected_history


def test_pydataset_epoch_hooks_and_sequence_alias():
    x, y = _data()
    data = Batches(x, y, workers=2, use_multiprocessing=True)
    with pytest.warns(UserWarning, match=r"use_multiprocessing=True\): thawnet reads a "
                                         r"PyDataset's batches on 2 thread\(s\)"):
        _model().fit(data, epochs=3, verbose=0)
    assert data.ends == 3
    assert thawnet.utils.Sequence is thawnet.utils.PyDataset


def test_detection_never_mistakes_arrays_for_streams():
    x, y = _data()
    assert not is_stream(x) and not is_stream([x, x]) and not is_stream({"a": x})
    assert is_stream(iter([x])) and is_stream(Batches(x, y)) and is_stream(FakeLoader([]))
    assert StreamSource(FakeTFDataset([1, 2], cardinality=-1)).infinite
    assert StreamSource(itertools.cycle([1])).infinite
    assert StreamSource(FakeLoader([1, 2, 3])).num_batches == 3


def test_evaluate_and_predict_on_generators_equal_arrays():
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=BS, epochs=1, verbose=0)
    want_eval = model.evaluate(x, y, batch_size=BS, verbose=0, return_dict=True)
    got_eval = model.evaluate((b for b in _batches(x, y)), verbose=0, return_dict=True)
    assert got_eval == pytest.approx(want_eval, rel=1e-6)
    want = model.predict(x, batch_size=BS, verbose=0)
    got = model.predict((b[0] for b in _batches(x, y)), verbose=0)  # bare x batches
    np.testing.assert_allclose(got, want, rtol=1e-6)
    got_steps = model.predict((b for b in _batches(x, y)), steps=2, verbose=0)
    assert got_steps.shape == (2 * BS, 3)


def test_infinite_sources_without_steps_fail_at_the_start():
    x, y = _data()
    model = _model()
    with pytest.raises(ValueError, match=r"infinite tf.data.Dataset .* steps_per_epoch=N"):
        model.fit(FakeTFDataset(_batches(x, y), cardinality=-1), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"validation_data is an infinite .* validation_steps"):
        model.fit(x, y, validation_data=itertools.cycle(_batches(x, y)), verbose=0)
    history = model.fit(FakeTFDataset(_batches(x, y), cardinality=-1), epochs=2,
                        steps_per_epoch=3, verbose=0)
    assert len(history.history["loss"]) == 2


def test_stream_with_y_or_validation_split_is_refused():
    x, y = _data()
    model = _model()
    with pytest.raises(ValueError, match=r"generator, which yields its own y"):
        model.fit((b for b in _batches(x, y)), y, verbose=0)
    with pytest.raises(ValueError, match=r"validation_split=0.2 needs arrays"):
        model.fit(Batches(x, y), validation_split=0.2, verbose=0)


def _gen_with(bad_index, bad):
    x, y = _data()
    for i, batch in enumerate(_batches(x, y)):
        yield bad if i == bad_index else batch


def test_inconsistent_batches_name_the_batch_expected_and_received():
    x, y = _data()
    model = _model()
    bad_structure = (x[:BS],)  # no y: another structure than batch 0
    with pytest.raises(ValueError) as err:
        model.fit(_gen_with(2, bad_structure), verbose=0)
    message = str(err.value)
    assert "batch 2 of the generator x" in message
    assert "expected (x: float32[8, 5], y: int32[8], sample_weight: None)" in message
    assert "received (x: float32[8, 5], y: None, sample_weight: None)" in message
    with pytest.raises(ValueError, match=r"batch 3 .* x has shape \(8, 4\), but the model's "
                                         r"input expects \(None, 5\)"):
        model.fit(_gen_with(3, (x[:BS, :4], y[:BS])), verbose=0)
    with pytest.raises(ValueError, match=r"batch 1 of the generator x must be x, \(x,\), "
                                         r"\(x, y\) or .* tuple of 4 elements"):
        model.fit(_gen_with(1, (x[:BS], y[:BS], y[:BS], y[:BS])), verbose=0)
    with pytest.raises(ValueError, match=r"batch 1 .* same number of samples"):
        model.fit(_gen_with(1, (x[:BS], y[:3])), verbose=0)


def test_bad_labels_in_a_later_batch_are_caught_with_its_number():
    x, y = _data()
    model = _model()
    with pytest.raises(ValueError, match=r"batch 4 of the generator x: Labels out of range"):
        model.fit(_gen_with(4, (x[:BS], np.full(BS, 7, "int32"))), verbose=0)


def test_generator_epochs_follow_keras():
    """A finite generator without steps_per_epoch: one pass, then a warning and a stop
    (there is nothing left for epoch 2); with steps_per_epoch it continues across epochs."""
    x, y = _data()
    model = _model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit((b for b in _batches(x, y)), epochs=3, verbose=0)
    assert history.epoch == [0]
    assert any("ran out of data at batch 0 of epoch 2" in str(w.message) for w in caught)
    assert any(w.filename == __file__ for w in caught if "ran out" in str(w.message))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit((b for b in _batches(x, y) * 2), epochs=5, steps_per_epoch=2,
                            verbose=0)
    assert history.epoch == [0, 1, 2, 3, 4] and not [w for w in caught if "ran out" in
                                                     str(w.message)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit((b for b in _batches(x, y)), epochs=3, steps_per_epoch=3,
                            verbose=0)
    assert history.epoch == [0, 1]  # 3 + 2 of the 5 batches, then stop
    assert any("ran out of data at batch 2 of epoch 2" in str(w.message) for w in caught)


def test_reiterable_sources_start_a_new_pass_every_epoch():
    x, y = _data()
    model = _model()
    seen = []
    callback = thawnet.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(batch))
    model.fit(FakeLoader(_batches(x, y)), epochs=2, verbose=0, callbacks=[callback])
    assert seen == [0, 1, 2, 3, 4] * 2


def _keras_batches_per_epoch(data, **fit_kwargs):
    import keras

    counts = []
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    callback = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: counts.append(0),
        on_train_batch_end=lambda batch, logs: counts.__setitem__(-1, counts[-1] + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(data, verbose=0, callbacks=[callback], **fit_kwargs)
    return counts


def _thawnet_batches_per_epoch(data, **fit_kwargs):
    counts = []
    callback = thawnet.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: counts.append(0),
        on_train_batch_end=lambda batch, logs: counts.__setitem__(-1, counts[-1] + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _model().fit(data, verbose=0, callbacks=[callback], **fit_kwargs)
    return counts


def test_pydataset_epoch_lengths_match_keras():
    """5 batches, steps_per_epoch=3: Keras reads 3, then the 2 left of the pass, then 3 of a
    new pass; without steps_per_epoch every epoch is one pass."""
    import keras

    x, y = _data()

    class KerasBatches(keras.utils.PyDataset):
        def __len__(self):
            return N // BS

        def __getitem__(self, index):
            return x[index * BS:(index + 1) * BS], y[index * BS:(index + 1) * BS]

    for kwargs in ({"epochs": 4, "steps_per_epoch": 3}, {"epochs": 2}):
        want = _keras_batches_per_epoch(KerasBatches(), shuffle=False, **kwargs)
        # Keras's own PyDataset class is accepted too (duck typing).
        assert _thawnet_batches_per_epoch(KerasBatches(), shuffle=False, **kwargs) == want
        assert _thawnet_batches_per_epoch(Batches(x, y), shuffle=False, **kwargs) == want
    assert want == [5, 5]
    finite = _keras_batches_per_epoch((b for b in _batches(x, y)), epochs=1)
    assert _thawnet_batches_per_epoch((b for b in _batches(x, y)), epochs=1) == finite == [5]


class FakeTorchTensor:
    """Shaped like a torch.Tensor that needs .detach().cpu() before NumPy."""

    __module__ = "torch"

    def __init__(self, value):
        self.value, self.detached = value, False

    def detach(self):
        out = FakeTorchTensor(self.value)
        out.detached = True
        return out

    def cpu(self):
        return self

    def __array__(self, dtype=None, copy=None):
        assert self.detached, "converted without detach()"
        return np.asarray(self.value, dtype=dtype)


def test_torch_like_batches_are_detached_and_class_weight_applies_per_batch():
    x, y = _data()
    expected = _model()
    expected.fit(x, y, batch_size=BS, shuffle=False, verbose=0, class_weight={0: 2.0, 1: 1.0,
                                                                             2: 0.5})
    model = _model()
    loader = FakeLoader([(FakeTorchTensor(a), FakeTorchTensor(b)) for a, b in _batches(x, y)])
    model.fit(loader, shuffle=False, verbose=0, class_weight={0: 2.0, 1: 1.0, 2: 0.5})
    for got, want in zip(_weights(model), _weights(expected)):
        np.testing.assert_array_equal(got, want)


def test_evaluate_with_more_steps_than_the_generator_has_warns():
    x, y = _data()
    model = _model()
    with pytest.warns(UserWarning, match=r"evaluate\(\): the generator x ran out of data at "
                                         r"batch 5 of epoch 1"):
        logs = model.evaluate((b for b in _batches(x, y)), steps=8, verbose=0, return_dict=True)
    assert logs == pytest.approx(model.evaluate(x, y, batch_size=BS, verbose=0,
                                                return_dict=True), rel=1e-6)


@pytest.mark.filterwarnings("ignore:.*has no trainable weight")
def test_validation_steps_on_a_reiterable_read_the_same_batches_every_epoch():
    """As Keras documents: with validation_steps, each validation starts the dataset anew."""
    x, y = _data()
    frozen = _model()
    for layer in frozen.layers:
        layer.trainable = False  # nothing changes: every validation must give the same loss
    history = frozen.fit(x, y, batch_size=BS, epochs=3, verbose=0,
                         validation_data=FakeLoader(_batches(x, y)), validation_steps=2)
    assert len(set(history.history["val_loss"])) == 1
    want = frozen.evaluate(x[:2 * BS], y[:2 * BS], batch_size=BS, verbose=0,
                           return_dict=True)["loss"]
    assert history.history["val_loss"][0] == pytest.approx(want, rel=1e-6)
