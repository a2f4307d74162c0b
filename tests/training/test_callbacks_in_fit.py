"""Callbacks driven by a real fit: early stopping, learning-rate changes, NaN, TensorBoard."""

import numpy as np
import pytest

import thawnet
from thawnet import callbacks as cb
from thawnet import layers as tl

RNG = np.random.default_rng(5)
X = RNG.normal(size=(64, 4)).astype("f4")
Y = (X @ np.array([1.0, -2.0, 0.5, 0.0], "f4"))[:, None]


def _model(lr=0.05):
    m = thawnet.Sequential([tl.Input(shape=(4,)), tl.Dense(8, activation="relu"), tl.Dense(1)])
    m.compile(optimizer=thawnet.optimizers.SGD(lr), loss="mse")
    return m


def test_early_stopping_stops_and_restores_the_best_weights():
    model = _model()
    seen = []
    # val_loss rises from epoch 2 on because we feed it a diverging series through logs.
    track = cb.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(
        [w.copy() for w in model.get_weights()]))
    fake = cb.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(
        val_loss=[3.0, 1.0, 2.0, 4.0, 5.0, 6.0][epoch]))
    stop = cb.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(X, Y, epochs=6, verbose=0, callbacks=[fake, track, stop])
    assert len(history.history["loss"]) == 4 and stop.stopped_epoch == 3
    for restored, best in zip(model.get_weights(), seen[1]):
        np.testing.assert_array_equal(restored, best)


def test_reduce_lr_on_plateau_changes_the_rate_without_recompiling():
    model = _model(lr=0.1)
    plateau = cb.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    history = model.fit(X, Y, epochs=3, verbose=0, callbacks=[plateau])
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.1, 0.05], rtol=1e-6)
    assert model.get_learning_rate() == pytest.approx(0.025)
    assert len([k for k in model._fn_cache if k[0] == "train"]) == 1


def test_terminate_on_nan_stops_with_the_last_finite_weights():
    model = _model(lr=1e6)  # diverges to inf/NaN within a few steps
    history = model.fit(X, Y, batch_size=8, epochs=5, verbose=0,
                        callbacks=[cb.TerminateOnNaN()])
    assert model.stop_training
    assert len(history.history["loss"]) <= 1
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_tensorboard_writes_epoch_scalars_during_fit(tmp_path):
    pytest.importorskip("tensorboardX")
    model = _model()
    model.fit(X, Y, epochs=2, verbose=0, validation_data=(X, Y),
              callbacks=[cb.TensorBoard(log_dir=str(tmp_path))])
    assert list((tmp_path / "train").iterdir()) and list((tmp_path / "validation").iterdir())


def test_csv_logger_records_every_epoch(tmp_path):
    model = _model()
    path = tmp_path / "log.csv"
    model.fit(X, Y, epochs=3, verbose=0, callbacks=[cb.CSVLogger(str(path))])
    rows = path.read_text().strip().splitlines()
    # As Keras: without validation data the val_ columns are still there, filled with NA.
    assert rows[0].split(",") == ["epoch", "loss", "val_loss"] and len(rows) == 4
    assert rows[1].startswith("0,") and rows[1].endswith(",NA")


def test_progress_bar_prints_one_line_per_epoch_off_a_terminal(capsys):
    model = _model()
    model.fit(X, Y, epochs=2, verbose=2)
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" - ")[0] for line in out if " - " in line] == ["2/2", "2/2"]
    assert all("loss:" in line for line in out if " - " in line)


def test_model_checkpoint_writes_loadable_thawnet_files_during_fit(tmp_path):
    model = _model()
    path = tmp_path / "best.thawnet"
    model.fit(X, Y, epochs=2, verbose=0, validation_data=(X, Y),
              callbacks=[cb.ModelCheckpoint(str(path), save_best_only=True)])
    restored = thawnet.models.load_model(str(path))
    np.testing.assert_array_equal(restored.predict(X, verbose=0), model.predict(X, verbose=0))
