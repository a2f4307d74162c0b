"""Zoo models: build + summary, and build + random initialisation, thawnet vs Keras 3 (JAX).

    python bench/bench_zoo.py              # resnet50 inception_v3 mobilenet_v2 vgg16
    python bench/bench_zoo.py --all        # every zoo model
"""

import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

import thawnet  # noqa: E402

KERAS = {"vgg16": "VGG16", "vgg19": "VGG19", "resnet50": "ResNet50", "resnet101": "ResNet101",
         "resnet152": "ResNet152", "inception_v3": "InceptionV3", "mobilenet_v2": "MobileNetV2",
         "densenet121": "DenseNet121", "efficientnet_b0": "EfficientNetB0",
         "xception": "Xception"}


def quiet(*args, **kwargs):
    pass


def main():
    names = list(KERAS) if "--all" in sys.argv else ["resnet50", "inception_v3",
                                                      "mobilenet_v2", "vgg16"]
    print(f"{'model':16s} {'thawnet summary':>16s} {'keras build+sum':>16s} {'ratio':>7s}   "
          f"{'thawnet +init':>14s} {'ratio':>7s}")
    for name in names:
        t = time.perf_counter()
        ours = thawnet.applications.by_name(name)()
        ours.summary(print_fn=quiet)
        t_summary = time.perf_counter() - t
        thawnet.clear_session()
        t = time.perf_counter()
        ours = thawnet.applications.by_name(name)()
        ours.get_weights()  # materialise: one compiled initialisation program
        t_init = time.perf_counter() - t
        keras.backend.clear_session()
        t = time.perf_counter()
        theirs = getattr(keras.applications, KERAS[name])(weights=None)
        theirs.summary(print_fn=quiet)
        t_keras = time.perf_counter() - t
        print(f"{name:16s} {t_summary:15.3f}s {t_keras:15.2f}s {t_keras / t_summary:6.0f}x   "
              f"{t_init:13.2f}s {t_keras / t_init:6.1f}x", flush=True)
        del ours, theirs


if __name__ == "__main__":
    main()
