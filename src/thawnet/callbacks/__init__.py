"""Callbacks: hooks into fit / evaluate / predict, with Keras 3's names and semantics."""

from thawnet.callbacks.backup_and_restore import BackupAndRestore
from thawnet.callbacks.base import Callback
from thawnet.callbacks.callback_list import CallbackList
from thawnet.callbacks.csv_logger import CSVLogger
from thawnet.callbacks.early_stopping import EarlyStopping
from thawnet.callbacks.gradual_unfreezing import GradualUnfreezing
from thawnet.callbacks.history import History
from thawnet.callbacks.lambda_callback import LambdaCallback
from thawnet.callbacks.lr_scheduler import LearningRateScheduler
from thawnet.callbacks.model_checkpoint import ModelCheckpoint
from thawnet.callbacks.monitor import MonitorCallback
from thawnet.callbacks.progbar_logger import ProgbarLogger
from thawnet.callbacks.reduce_lr import ReduceLROnPlateau
from thawnet.callbacks.remote_monitor import RemoteMonitor
from thawnet.callbacks.tensorboard import TensorBoard
from thawnet.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback",
    "LearningRateScheduler", "ModelCheckpoint", "MonitorCallback", "ProgbarLogger",
    "ReduceLROnPlateau", "TensorBoard", "TerminateOnNaN",
]
__all__ += ["GradualUnfreezing"]
__all__ += ["RemoteMonitor"]
