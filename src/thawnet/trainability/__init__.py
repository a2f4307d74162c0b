"""What trains, and how fast: ``freeze`` / ``unfreeze`` by name pattern or position, and
per-layer learning-rate multipliers.

These read and set flags on layers only (``trainable``, ``lr_multiplier``), so they sit below
both the trainer (:mod:`thawnet.training`, which reads the multipliers at every step) and the
callbacks that change them during ``fit`` (:class:`thawnet.callbacks.GradualUnfreezing`).
"""

from thawnet.trainability.freeze import freeze, unfreeze
from thawnet.trainability.lr_multipliers import set_learning_rate_multiplier

__all__ = ["freeze", "set_learning_rate_multiplier", "unfreeze"]
