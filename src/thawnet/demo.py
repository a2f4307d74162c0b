"""``thawnet demo``: the transfer-learning recipe end to end, with proof of what each stage did.

The data: scikit-learn's bundled handwritten digits, written once as PNG files to a temporary
image folder (one sub-folder per class) and streamed from there with
``thawnet.utils.image_dataset_from_directory``, as a user's own images would be.

* Task A (pre-training): a small convolutional base (two blocks, each Conv2D +
  BatchNormalization) and a head learn the digits 0-4.
* Stage 1: the base is frozen and a new head learns the digits 5-9 (task B). The model calls
  the base with ``training=False``, as Keras's transfer-learning guide does, so its
  BatchNormalization layers stay in inference mode in every later stage too.
* Stage 2: the top block of the base is unfrozen (``thawnet.unfreeze(model, "block2_*")``)
  and fine-tuned with a 10x lower learning rate; BatchNormalization keeps its statistics.
* Stage 3 (optional, ``lora=True``): from the stage-1 weights again, LoRA factors on the base's
  convolutions (``thawnet.enable_lora``) train instead of the block itself.

After each stage the demo prints the summary with the grouped explanation of every
non-trainable parameter and the audit (bitwise: which weights moved, which kept their bits),
then the validation accuracy, and finally a PNG with the curves of all stages.
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

import thawnet
from thawnet import layers
from thawnet.models import Model

IMAGE_SIZE = (16, 16)


def load_digits_tasks(seed=0):
    """Digits 0-4 (task A) and 5-9 (task B) as 16x16x1 images in [0, 1], split 80/20."""
    data = _digits()
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


def _digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - the demo extra installs it
        raise SystemExit("thawnet demo needs scikit-learn for its data set: "
                         "pip install 'thawnet[demo]'") from err
    return load_digits()


# Images written per task: 800 split 80/20 is 640 + 160, whole batches of 32 both, so each
# stage compiles one training step and one validation step (a last, smaller batch would
# compile a second program of each).
PER_TASK = 800


def write_image_folders(root, seed=0):
    """Write the digits as 8-bit grayscale PNGs: ``root/A/<digit>/`` for 0-4 and
    ``root/B/<digit>/`` for 5-9 (:data:`PER_TASK` of each task, drawn with ``seed``).
    Returns ``{"A": folder, "B": folder}``."""
    from PIL import Image

    data = _digits()
    pixels = np.round(data.images * (255.0 / 16.0)).astype(np.uint8)
    order = np.random.default_rng(seed).permutation(len(pixels))
    folders = {}
    for task, low in (("A", 0), ("B", 5)):
        folders[task] = os.path.join(root, task)
        chosen = [i for i in order if low <= data.target[i] < low + 5][:PER_TASK]
        for digit in range(low, low + 5):
            os.makedirs(os.path.join(folders[task], str(digit)), exist_ok=True)
        for i in chosen:
            big = pixels[i].repeat(2, axis=0).repeat(2, axis=1)  # 8x8 -> 16x16
            Image.fromarray(big, mode="L").save(
                os.path.join(folders[task], str(data.target[i]), f"{i:04d}.png"))
    return folders


def image_datasets(folder, batch_size=32):
    """``(training, validation)``: an 80/20 split of the folder, streamed batch by batch."""
    return thawnet.utils.image_dataset_from_directory(
        folder, color_mode="grayscale", image_size=IMAGE_SIZE, batch_size=batch_size,
        validation_split=0.2, subset="both", seed=0, verbose=False)


def build_base():
    """The convolutional feature extractor: two blocks, then global average pooling."""
    inputs = layers.Input(shape=IMAGE_SIZE + (1,), name="image")
    x = inputs
    for block, filters in ((1, 32), (2, 64)):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False,
                          name=f"block{block}_conv")(x)
        # momentum 0.9 (Keras's default is 0.99): with a few hundred steps on a small data
        # set, 0.99 leaves the moving variance near its initial 1.0 and inference suffers.
        x = layers.BatchNormalization(momentum=0.9, name=f"block{block}_bn")(x)
        x = layers.ReLU(name=f"block{block}_relu")(x)
        x = layers.MaxPooling2D(name=f"block{block}_pool")(x)
    x = layers.Flatten(name="features")(x)
    return Model(inputs, x, name="base")


def classifier(base, head_name, base_in_inference_mode):
    """Pixels in 0-255 -> rescaling -> augmentation (training only) -> base -> new head."""
    inputs = layers.Input(shape=IMAGE_SIZE + (1,), name=f"{head_name}_image")
    x = layers.Rescaling(1.0 / 255, name=f"{head_name}_rescale")(inputs)
    x = layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=1,
                                 name=f"{head_name}_shift")(x)
    # training=False: the base's BatchNormalization layers always use their moving
    # statistics in this model, even once the top block is unfrozen (Keras's guide).
    x = base(x, training=False) if base_in_inference_mode else base(x)
    outputs = layers.Dense(5, activation="softmax", name=head_name)(x)
    return Model(inputs, outputs, name=f"classifier_{head_name}")


def _final_accuracy(history):
    """Validation accuracy after the last epoch: the final weights on the validation set
    (what ``evaluate`` would return, without compiling its program once more)."""
    return float(history.history["val_accuracy"][-1])


def _compile(model, learning_rate):
    model.compile(optimizer=thawnet.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def _report(model, history, title, print_fn):
    """The summary with the grouped explanation, then the audit of the stage's training."""
    print_fn(f"\n-- {title}: the model as it trained, every non-trainable parameter explained")
    model.summary(explain=True, print_fn=print_fn)
    print_fn(f"-- {title}: audit (bitwise comparison of every weight before/after fit)")
    print_fn(str(history.audit))


def plot_curves(stages, path):
    """One timeline: validation accuracy and loss of every stage, epoch after epoch."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    start = 0
    for label, history in stages:
        h = history.history
        epochs = np.arange(start + 1, start + len(h["loss"]) + 1)
        for ax, key in zip(axes, ("loss", "accuracy")):
            line, = ax.plot(epochs, h[f"val_{key}"], marker=".", label=f"{label}")
            ax.plot(epochs, h[key], ":", color=line.get_color())
        start += len(h["loss"])
        for ax in axes:
            ax.axvline(start + 0.5, color="grey", lw=0.5)
    axes[0].set(title="loss (validation solid, training dotted)", xlabel="epoch")
    axes[1].set(title="accuracy (validation solid, training dotted)", xlabel="epoch",
                ylim=(0, 1.02))
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle("thawnet demo, one stage after the other: "
                 + "; ".join(label for label, _ in stages))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run(epochs_a=10, epochs_b=6, epochs_fine=8, lora=False, out="thawnet_demo.png", verbose=1,
        print_fn=print, seed=0, learning_rate=3e-3):
    """Run the demo; returns a dict of the results (used by the tests and the CLI).

    Args:
        epochs_a: epochs of task A (pre-training the base).
        epochs_b: epochs of stage 1 (new head, frozen base).
        epochs_fine: epochs of stage 2 (top block unfrozen) and of stage 3 (LoRA).
        lora: also run stage 3.
        out: path of the PNG of the curves, or None.
        seed: the global seed (initial weights, augmentation draws): runs are repeatable.
        learning_rate: of stage 1 (the new head); stage 2 fine-tunes at a tenth of it.
    """
    start = time.perf_counter()
    thawnet.set_random_seed(seed)
    with tempfile.TemporaryDirectory(prefix="thawnet_demo_") as root:
        folders = write_image_folders(root)
        train_a, val_a = image_datasets(folders["A"])
        train_b, val_b = image_datasets(folders["B"])
        result = _stages(train_a, val_a, train_b, val_b, epochs_a, epochs_b, epochs_fine, lora,
                         learning_rate, verbose, print_fn)
        curves = [("A: pre-train", result.pop("history_a")),
                  ("B1: frozen base", result.pop("history_b1")),
                  ("B2: top block fine-tuned", result.pop("history_b2"))]
        if lora:
            curves.append(("B3: LoRA", result.pop("history_b3")))
    print_fn("\n== Validation accuracy")
    print_fn(f"task A (pre-training):                          {result['accuracy_a']:.3f}")
    print_fn(f"task B, stage 1 (new head on the frozen base):  {result['accuracy_b']:.3f}")
    print_fn(f"task B, stage 2 (top block fine-tuned, 10x lower learning rate): "
             f"{result['accuracy_b_fine']:.3f}")
    if lora:
        print_fn(f"task B, stage 3 (LoRA on the base instead):     "
                 f"{result['accuracy_b_lora']:.3f}")
    if out:
        plot_curves(curves, out)
        print_fn(f"Learning curves of all stages written to {out}")
    result["seconds"] = time.perf_counter() - start
    print_fn(f"Done in {result['seconds']:.1f} s.")
    return result


def _stages(train_a, val_a, train_b, val_b, epochs_a, epochs_b, epochs_fine, lora,
            learning_rate, verbose, print_fn):
    base = build_base()
    model_a = classifier(base, "head_a", base_in_inference_mode=False)
    _compile(model_a, 3e-3)
    print_fn("== Task A: digits 0-4. The base and head_a train together.")
    history_a = model_a.fit(train_a, epochs=epochs_a, validation_data=val_a, verbose=verbose)
    acc_a = _final_accuracy(history_a)

    print_fn("\n== Stage 1, task B: digits 5-9. Freeze the base, train a new head on it.")
    base.trainable = False
    model_b = classifier(base, "head_b", base_in_inference_mode=True)
    _compile(model_b, learning_rate)
    history_b1 = model_b.fit(train_b, epochs=epochs_b, validation_data=val_b, verbose=verbose)
    _report(model_b, history_b1, "Stage 1", print_fn)
    base_entries = [e for e in history_b1.audit.entries if e.path.startswith("base/")]
    base_intact = all(not e.changed for e in base_entries)
    print_fn(f"Frozen base bit-identical, statistics included: {base_intact} "
             f"({len(base_entries)} weights, {sum(v.size for v in base.weights):,} values)")
    acc_b = _final_accuracy(history_b1)
    after_stage_1 = model_b.get_weights()

    print_fn('\n== Stage 2: unfreeze the top block (thawnet.unfreeze(model, "block2_*")) and '
             "fine-tune at a 10x lower learning rate; BatchNormalization stays in inference "
             "mode.")
    thawnet.unfreeze(model_b, "block2_*")
    _compile(model_b, learning_rate / 10)
    history_b2 = model_b.fit(train_b, epochs=epochs_fine, validation_data=val_b,
                             verbose=verbose)
    _report(model_b, history_b2, "Stage 2", print_fn)
    acc_fine = _final_accuracy(history_b2)
    audit_2 = history_b2.audit
    result = {"accuracy_a": acc_a, "accuracy_b": acc_b, "accuracy_b_fine": acc_fine,
              "base_intact": base_intact, "audit": history_b1.audit, "audit_fine": audit_2,
              "history_a": history_a, "history_b1": history_b1, "history_b2": history_b2}
    if lora:
        print_fn("\n== Stage 3: from the stage-1 weights, LoRA factors on the base's "
                 "convolutions train instead of the block (thawnet.enable_lora).")
        thawnet.freeze(model_b, "block2_*")
        model_b.set_weights(after_stage_1)
        thawnet.enable_lora(model_b, "block*_conv", rank=4)
        thawnet.unfreeze(model_b, "block*_conv")  # the factors; the kernels stay frozen
        _compile(model_b, learning_rate)
        history_b3 = model_b.fit(train_b, epochs=epochs_fine, validation_data=val_b,
                                 verbose=verbose)
        _report(model_b, history_b3, "Stage 3", print_fn)
        result.update(accuracy_b_lora=_final_accuracy(history_b3),
                      audit_lora=history_b3.audit, history_b3=history_b3)
    return result
