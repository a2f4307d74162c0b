"""MonitorCallback's Keras 3 API: ``_set_monitor_op``, ``monitor_op`` (``ops.less`` /
``ops.greater``) and ``_is_improvement`` with ``min_delta``."""

import pytest

from thawnet import callbacks as cb
from thawnet import ops


def test_monitor_op_and_min_delta():
    monitor = cb.MonitorCallback(mode="max", min_delta=0.5)
    assert monitor.monitor_op is None           # resolved at the first epoch end, or now:
    monitor._set_monitor_op()
    assert monitor.monitor_op is ops.greater
    assert [monitor._is_improvement(a, b) for a, b in ((0.75, 0), (0.5, None), (0.5, 0),
                                                       (0.2, 0.5))] == [True, True, False, False]
    low = cb.MonitorCallback(monitor="val_loss", min_delta=-0.1)
    low._set_monitor_op()
    assert low.monitor_op is ops.less and low.min_delta == 0.1
    assert low._is_improvement(0.85, 1.0) and not low._is_improvement(0.95, 1.0)


def test_unknown_metric_in_auto_mode():
    monitor = cb.MonitorCallback(monitor="unknown")
    with pytest.raises(ValueError, match="monitor=unknown, but thawnet isn't able to "
                                         "automatically determine"):
        monitor._set_monitor_op()
