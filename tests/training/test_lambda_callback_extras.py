"""LambdaCallback keeps extra keywords as attributes (Keras 3) and still refuses hook typos."""

import pytest

from thawnet import callbacks as cb


def test_extra_keywords_become_attributes():
    def helper(logs):
        return logs

    callback = cb.LambdaCallback(custom_method=helper, on_test_begin=helper)
    assert callback.custom_method is helper and callback.on_test_begin is helper


def test_a_hook_typo_is_refused():
    with pytest.raises(TypeError, match=r"unknown hooks \['on_epoch_ends'\]; known hooks are"):
        cb.LambdaCallback(on_epoch_ends=lambda epoch, logs: None)
