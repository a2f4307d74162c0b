"""``thawnet demo``: transfer learning end to end, and proof that the frozen base did not move.

1. Train a small convolutional base (with BatchNormalization) and a head on task A: telling
   apart the handwritten digits 0-4 (scikit-learn's bundled digits, upsampled to 16x16).
2. Freeze the base, put a new head on it, and fine-tune on task B: the digits 5-9.
3. Print the summaries before and after freezing, with every non-trainable parameter explained,
   then the audit of task B's training: every weight of the base — BatchNormalization's moving
   statistics included — kept its exact bits, while the new head trained.
4. Report accuracies and write a PNG of the learning curves.
"""

from __future__ import annotations

import time

import numpy as np

from thawnet import layers
from thawnet.models import Model


def load_digits_tasks(seed=0):
    """Digits 0-4 (task A) and 5-9 (task B) as 16x16x1 images in [0, 1], split 80/20."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - the demo extra installs it
        raise SystemExit("thawnet demo needs scikit-learn for its data set: "
                         "pip install 'thawnet[demo]'") from err
    data = load_digits()
    images = (data.images / 16.0).astype(np.float32)
    images = images.repeat(2, axis=1).repeat(2, axis=2)[..., None]  # 8x8 -> 16x16
    order = np.random.default_rng(seed).permutation(len(images))
    images, labels = images[order], data.target[order].astype(np.int32)
    tasks = {}
    for name, low in (("A", 0), ("B", 5)):
        mask = (labels >= low) & (labels < low + 5)
        x, y = images[mask], labels[mask] - low
        cut = int(0.8 * len(x))
        tasks[name] = (x[:cut], y[:cut], x[cut:], y[cut:])
    return tasks


def build_base():
    """The convolutional feature extractor shared by both tasks."""
    inputs = layers.Input(shape=(16, 16, 1), name="image")
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="base_conv1")(inputs)
    # momentum 0.9 (Keras's default is 0.99): with a few hundred steps on a small data set,
    # 0.99 leaves the moving variance near its initial 1.0 and inference would suffer.
    x = layers.BatchNormalization(momentum=0.9, name="base_bn1")(x)
    x = layers.ReLU(name="base_relu1")(x)
    x = layers.MaxPooling2D(name="base_pool1")(x)
    x = layers.Conv2D(32, 3, padding="same", use_bias=False, name="base_conv2")(x)
    x = layers.BatchNormalization(momentum=0.9, name="base_bn2")(x)
    x = layers.ReLU(name="base_relu2")(x)
    x = layers.GlobalAveragePooling2D(name="base_features")(x)
    return Model(inputs, x, name="base")


def with_head(base, head_name):
    inputs = layers.Input(shape=(16, 16, 1), name=f"{head_name}_image")
    outputs = layers.Dense(5, activation="softmax", name=head_name)(base(inputs))
    return Model(inputs, outputs, name=f"classifier_{head_name}")


def _compile(model, learning_rate):
    from thawnet.optimizers import Adam
    model.compile(optimizer=Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])


def plot_curves(histories, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for task, history in histories.items():
        h = history.history
        epochs = np.arange(1, len(h["loss"]) + 1)
        axes[0].plot(epochs, h["loss"], label=f"task {task} train")
        axes[0].plot(epochs, h["val_loss"], "--", label=f"task {task} validation")
        axes[1].plot(epochs, h["accuracy"], label=f"task {task} train")
        axes[1].plot(epochs, h["val_accuracy"], "--", label=f"task {task} validation")
    axes[0].set(title="loss", xlabel="epoch")
    axes[1].set(title="accuracy", xlabel="epoch", ylim=(0, 1.02))
    for ax in axes:
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle("thawnet demo: task A trains the base, task B fine-tunes a new head on it frozen")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run(epochs_a=12, epochs_b=12, out="thawnet_demo.png", verbose=1, print_fn=print):
    """Run the demo; returns a dict of the results (used by the tests)."""
    start = time.perf_counter()
    tasks = load_digits_tasks()
    base = build_base()
    model_a = with_head(base, "head_a")
    _compile(model_a, 3e-3)

    print_fn("== Task A: digits 0-4. The base and head_a train together.")
    model_a.summary(explain=True, print_fn=print_fn)
    xa, ya, xa_val, ya_val = tasks["A"]
    history_a = model_a.fit(xa, ya, batch_size=32, epochs=epochs_a,
                            validation_data=(xa_val, ya_val), verbose=verbose)

    print_fn("\n== Task B: digits 5-9. Freeze the base, fine-tune a new head on it.")
    base.trainable = False
    model_b = with_head(base, "head_b")
    _compile(model_b, 3e-2)
    model_b.summary(explain=True, print_fn=print_fn)
    xb, yb, xb_val, yb_val = tasks["B"]
    history_b = model_b.fit(xb, yb, batch_size=32, epochs=epochs_b,
                            validation_data=(xb_val, yb_val), verbose=verbose)

    audit = history_b.audit
    print_fn("\n== Audit of task B's training (bitwise comparison before/after fit)")
    print_fn(str(audit))
    base_entries = [e for e in audit.entries if e.path.startswith("base/")]
    base_intact = all(not e.changed for e in base_entries)
    print_fn(f"Frozen base bit-identical, statistics included: {base_intact} "
             f"({len(base_entries)} weights, {sum(v.size for v in base.weights):,} values)")

    _, acc_a = model_a.evaluate(xa_val, ya_val, verbose=0)
    _, acc_b = model_b.evaluate(xb_val, yb_val, verbose=0)
    print_fn(f"Validation accuracy: task A {acc_a:.3f}, task B (frozen base, new head) "
             f"{acc_b:.3f}")
    if out:
        plot_curves({"A": history_a, "B": history_b}, out)
        print_fn(f"Learning curves written to {out}")
    seconds = time.perf_counter() - start
    print_fn(f"Done in {seconds:.1f} s.")
    return {"accuracy_a": acc_a, "accuracy_b": acc_b, "base_intact": base_intact,
            "audit": audit, "seconds": seconds}
