"""``thawnet.utils.disable_interactive_logging()`` sends the callbacks' verbose lines to the
``"thawnet"`` logger instead of stdout, as Keras 3 sends them to logging."""

import logging

import numpy as np
import pytest

import thawnet
from thawnet import callbacks as cb
from thawnet import layers as tl
from thawnet import utils


@pytest.fixture
def non_interactive():
    utils.disable_interactive_logging()
    yield
    utils.enable_interactive_logging()


def _fit(callbacks):
    model = thawnet.Sequential([tl.Input(shape=(2,)), tl.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 2), "f4"), np.ones((4, 1), "f4"), epochs=1, verbose=0,
              callbacks=callbacks)


def test_messages_go_to_logging_when_disabled(non_interactive, caplog, capsys):
    assert utils.is_interactive_logging_enabled() is False
    with caplog.at_level(logging.INFO, logger="thawnet"):
        _fit([cb.LearningRateScheduler(lambda epoch: 0.5, verbose=1)])
    assert any("LearningRateScheduler setting learning rate to 0.5" in r.getMessage()
               for r in caplog.records)
    assert "LearningRateScheduler" not in capsys.readouterr().out


def test_messages_go_to_stdout_by_default(caplog, capsys):
    assert utils.is_interactive_logging_enabled() is True
    with caplog.at_level(logging.INFO, logger="thawnet"):
        _fit([cb.LearningRateScheduler(lambda epoch: 0.5, verbose=1)])
    assert "LearningRateScheduler setting learning rate to 0.5" in capsys.readouterr().out
    assert not caplog.records


def test_set_logging_verbosity():
    from thawnet.utils import io_utils
    io_utils.set_logging_verbosity("warning")
    assert io_utils.LOGGER.level == logging.WARNING
    io_utils.set_logging_verbosity("INFO")
    with pytest.raises(ValueError, match="unknown level 'LOUD'"):
        io_utils.set_logging_verbosity("LOUD")
