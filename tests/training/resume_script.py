"""Train with BackupAndRestore; optionally SIGKILL itself. Used by test_checkpoint_resume.py.

    python resume_script.py OUT_DIR BACKUP_DIR MODE [KILL_AT]
    MODE: plain (no backups) | backup (backups, killed at global batch KILL_AT if given)
          | kill_in_save (killed while writing the KILL_AT-th backup)
"""

import os
import signal
import sys

import numpy as np

import thawnet
from thawnet import callbacks as cb
from thawnet import layers as tl
from thawnet.training import checkpoint

out_dir, backup_dir, mode = sys.argv[1:4]
kill_at = int(sys.argv[4]) if len(sys.argv) > 4 else None

rng = np.random.default_rng(0)
x = rng.normal(size=(64, 5)).astype("f4")
y = rng.integers(0, 3, 64).astype("i4")
thawnet.set_random_seed(0)
model = thawnet.Sequential([tl.Input(shape=(5,)), tl.Dense(8, name="h"),
                            tl.BatchNormalization(name="bn"), tl.ReLU(), tl.Dropout(0.3),
                            tl.Dense(3, name="out")])
model.compile(optimizer="adam",
              loss=thawnet.losses.SparseCategoricalCrossentropy(from_logits=True))


class KillAt(cb.Callback):
    seen = 0

    def on_train_batch_end(self, batch, logs=None):
        KillAt.seen += 1
        if KillAt.seen == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


class CountBatches(cb.Callback):
    seen = 0

    def on_train_batch_end(self, batch, logs=None):
        CountBatches.seen += 1


callbacks = [CountBatches()]
if mode in ("backup", "kill_in_save"):
    callbacks.append(cb.BackupAndRestore(backup_dir, save_freq=1, delete_checkpoint=False))
    callbacks.append(cb.EarlyStopping(monitor="loss", patience=50))
if mode == "backup" and kill_at:
    callbacks.append(KillAt())
if mode == "kill_in_save" and kill_at:
    original = checkpoint._fsync_tree
    calls = {"n": 0}

    def dying_fsync(folder):
        calls["n"] += 1
        if calls["n"] == kill_at:  # the backup's files are written, not yet renamed
            os.kill(os.getpid(), signal.SIGKILL)
        original(folder)
    checkpoint._fsync_tree = dying_fsync

model.fit(x, y, batch_size=16, epochs=3, shuffle=True, verbose=0, callbacks=callbacks)
np.savez(os.path.join(out_dir, "final.npz"), *model.get_weights())
print("batches trained in this process:", CountBatches.seen)
