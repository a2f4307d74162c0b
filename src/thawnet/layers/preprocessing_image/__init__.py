"""Image preprocessing and augmentation layers with Keras 3's names and arguments.

Deterministic: Resizing, CenterCrop. Random (active only with ``training=True``, drawing from
the compiled step's RNG inside ``fit``): RandomCrop, RandomFlip, RandomRotation, RandomZoom,
RandomTranslation, RandomContrast, RandomBrightness, RandomGrayscale, RandomErasing. None of
them has weights.
"""

from thawnet.layers.preprocessing_image.color import (RandomBrightness, RandomContrast,
                                                      RandomErasing, RandomGrayscale)
from thawnet.layers.preprocessing_image.geometric import (RandomFlip, RandomRotation,
                                                          RandomTranslation, RandomZoom)
from thawnet.layers.preprocessing_image.sizing import CenterCrop, RandomCrop, Resizing

__all__ = ["CenterCrop", "RandomBrightness", "RandomContrast", "RandomCrop", "RandomErasing",
           "RandomFlip", "RandomGrayscale", "RandomRotation", "RandomTranslation", "RandomZoom",
           "Resizing"]
