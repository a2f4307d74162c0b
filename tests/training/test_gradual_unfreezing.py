"""GradualUnfreezing: one fit call equals the hand-run sequence of fits, bit for bit."""

import jax
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl
from thawnet.callbacks import GradualUnfreezing
from thawnet.models import Sequential

RNG = np.random.default_rng(5)
X = RNG.normal(size=(48, 4)).astype("f4")
Y = RNG.normal(size=(48, 1)).astype("f4")


def _model():
    thawnet.utils.set_random_seed(11)
    model = Sequential([tl.Input(shape=(4,)), tl.Dense(6, name="b1"), tl.Dense(5, name="b2"),
                        tl.Dense(1, name="head")])
    model.compile(optimizer="adam", loss="mse")
    thawnet.freeze(model, "b*")
    return model


def _values(model):
    return {p: np.array(v.value) for p, v in model.variables_by_path().items()}


def _opt_leaves(model):
    return [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(model._opt_state)]


@pytest.fixture(scope="module")
def runs():
    gradual = _model()
    cb = GradualUnfreezing({1: "b2"}, up_to={2: "b1"})
    gradual_history = gradual.fit(X, Y, batch_size=8, epochs=3, verbose=0, callbacks=[cb])
    by_hand = _model()
    losses = by_hand.fit(X, Y, batch_size=8, epochs=1, verbose=0).history["loss"]
    thawnet.unfreeze(by_hand, "b2")
    losses += by_hand.fit(X, Y, batch_size=8, epochs=2, initial_epoch=1,
                          verbose=0).history["loss"]
    thawnet.unfreeze(by_hand, up_to="b1")
    losses += by_hand.fit(X, Y, batch_size=8, epochs=3, initial_epoch=2,
                          verbose=0).history["loss"]
    return gradual, gradual_history, cb, by_hand, losses


def test_one_fit_reproduces_the_hand_run_sequence_bit_for_bit(runs):
    gradual, history, _, by_hand, losses = runs
    assert history.history["loss"] == losses
    ours, theirs = _values(gradual), _values(by_hand)
    assert sorted(ours) == sorted(theirs)
    for path in ours:
        assert ours[path].tobytes() == theirs[path].tobytes(), path
    # The optimizer state too: the head's moments carried across both thaws.
    assert [a.tobytes() for a in _opt_leaves(gradual)] == [
        a.tobytes() for a in _opt_leaves(by_hand)]


def test_thawed_layers_trained_only_from_their_epoch_on(runs):
    gradual, history, cb, _, _ = runs
    assert cb.thawed == {1: ["b2"], 2: ["b1"]}
    assert [w.path for w in gradual.trainable_weights] == [
        "b1/kernel", "b1/bias", "b2/kernel", "b2/bias", "head/kernel", "head/bias"]
    assert history.audit["b1/kernel"].verdict == "parameter trained"


def test_a_fit_starting_after_a_scheduled_epoch_is_refused_with_the_fix():
    model = _model()
    cb = GradualUnfreezing({1: "b2"})
    with pytest.raises(ValueError, match=r"starts at epoch 2 .* thaws \['b2'\] at epoch\(s\) "
                                         r"\[1\]"):
        model.fit(X, Y, batch_size=8, epochs=3, initial_epoch=2, verbose=0, callbacks=[cb])


def test_bad_schedules_are_refused():
    with pytest.raises(ValueError, match="needs a schedule"):
        GradualUnfreezing()
    with pytest.raises(ValueError, match=r"keys are epoch indices .* received -1"):
        GradualUnfreezing({-1: "b*"})
    with pytest.raises(ValueError, match="must map to a layer-name pattern"):
        GradualUnfreezing({1: 3})


def _moments(opt_state):
    """``{path: mu}`` of an Adam state."""
    out = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(opt_state)[0]:
        text = jax.tree_util.keystr(path)
        if ".mu[" in text:
            out[text.split(".mu['")[1].rstrip("']")] = np.asarray(leaf)
    return out


def test_the_thaw_keeps_the_moments_of_weights_that_stay_trainable_and_sets_multipliers():
    model = _model()
    seen = {}

    class Peek(thawnet.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen[f"end{epoch}"] = _moments(self.model._current_opt_state())

        def on_epoch_begin(self, epoch, logs=None):
            seen[f"begin{epoch}"] = _moments(self.model._current_opt_state())

    before = _values(model)
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0,
              callbacks=[GradualUnfreezing({1: "b2"}, lr_multiplier=0.0), Peek()])
    assert sorted(seen["end0"]) == ["head/bias", "head/kernel"]
    assert sorted(seen["begin1"]) == ["b2/bias", "b2/kernel", "head/bias", "head/kernel"]
    assert seen["begin1"]["head/kernel"].tobytes() == seen["end0"]["head/kernel"].tobytes()
    assert np.count_nonzero(seen["begin1"]["head/kernel"]) > 0
    assert np.count_nonzero(seen["begin1"]["b2/kernel"]) == 0  # fresh state for the thawed
    # lr_multiplier=0.0 on the thawed block: trainable (it has moments), yet bit-identical.
    assert model.get_layer("b2").lr_multiplier == 0.0 and model.get_layer("b2").trainable
    assert np.count_nonzero(_moments(model._opt_state)["b2/kernel"]) > 0
    assert _values(model)["b2/kernel"].tobytes() == before["b2/kernel"].tobytes()


class _Kill(thawnet.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise RuntimeError("killed")


@pytest.mark.slow  # two more fits; THAWNET_FULL=1 runs it
def test_a_backup_resumed_run_thaws_again_and_ends_bit_identical(runs, tmp_path):
    uninterrupted = runs[0]  # GradualUnfreezing({1: "b2"}, up_to={2: "b1"}), 3 epochs
    schedule = dict(schedule={1: "b2"}, up_to={2: "b1"})
    backup = thawnet.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    killed = _model()
    with pytest.raises(RuntimeError, match="killed"):
        killed.fit(X, Y, batch_size=8, epochs=3, verbose=0,
                   callbacks=[backup, GradualUnfreezing(**schedule), _Kill()])
    resumed = _model()  # a fresh process would build the model frozen as at the start
    assert not resumed.get_layer("b2").trainable
    resumed.fit(X, Y, batch_size=8, epochs=3, verbose=0, callbacks=[
        thawnet.callbacks.BackupAndRestore(str(tmp_path / "backup")),
        GradualUnfreezing(**schedule)])
    for path, value in _values(uninterrupted).items():
        assert _values(resumed)[path].tobytes() == value.tobytes(), path
