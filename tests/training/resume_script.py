"""Train with BackupAndRestore; optionally SIGKILL itself. Used by test_checkpoint_resume.py.

    python resume_script.py OUT_DIR BACKUP_DIR MODE [KILL_AT] [SAVE_FREQ]
    MODE: plain (no backups) | backup (backups, killed at global batch KILL_AT if given)
          | kill_in_save (killed while writing the KILL_AT-th backup)
          | resume_from (no BackupAndRestore: fit(resume_from=BACKUP_DIR))
    SAVE_FREQ: BackupAndRestore's save_freq, a number of batches (default 1) or "epoch".

Every mode trains with ``EarlyStopping`` and ``ReduceLROnPlateau`` monitoring the training
"loss" (listed after BackupAndRestore): with these settings the plateau test lowers the rate
after epoch 2 by a margin of 0.001 in the loss, so a resumed epoch whose "loss" averaged only
the batches after the resume would decide differently. Writes ``final.npz`` (the weights) and
``history.json`` (History, epochs, final learning rate) to OUT_DIR, and prints the number of
batches this process trained.
"""

import json
import os
import signal
import sys

import numpy as np

import thawnet
from thawnet import callbacks as cb
from thawnet import layers as tl
from thawnet.io import training_checkpoint as checkpoint

out_dir, backup_dir, mode = sys.argv[1:4]
kill_at = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] != "0" else None
save_freq = sys.argv[5] if len(sys.argv) > 5 else "1"
save_freq = save_freq if save_freq == "epoch" else int(save_freq)

rng = np.random.default_rng(0)
x = rng.normal(size=(64, 5)).astype("f4")
y = rng.integers(0, 3, 64).astype("i4")
thawnet.set_random_seed(0)
model = thawnet.Sequential([tl.Input(shape=(5,)), tl.Dense(8, name="h"),
                            tl.BatchNormalization(name="bn"), tl.ReLU(), tl.Dropout(0.3),
                            tl.Dense(3, name="out")])
model.compile(optimizer=thawnet.optimizers.Adam(0.01),
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
    callbacks.append(cb.BackupAndRestore(backup_dir, save_freq=save_freq,
                                         delete_checkpoint=False))
callbacks.append(cb.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True))
callbacks.append(cb.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=0.03))
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

history = model.fit(x, y, batch_size=16, epochs=4, shuffle=True, verbose=0, callbacks=callbacks,
                    resume_from=backup_dir if mode == "resume_from" else None)
np.savez(os.path.join(out_dir, "final.npz"), *model.get_weights())
with open(os.path.join(out_dir, "history.json"), "w") as f:
    json.dump({"history": history.history, "epoch": history.epoch,
               "learning_rate": model.get_learning_rate()}, f)
print("batches trained in this process:", CountBatches.seen)
