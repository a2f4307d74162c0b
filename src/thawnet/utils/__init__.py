"""``thawnet.utils``: Keras 3's helpers for data and sessions (``keras.utils`` names)."""

from thawnet.backend.naming import clear_session
from thawnet.training.progbar import Progbar
from thawnet.utils.data_packing import pack_x_y_sample_weight, unpack_x_y_sample_weight
from thawnet.utils.numerical import normalize, pad_sequences, to_categorical
from thawnet.utils.py_dataset import PyDataset, Sequence
from thawnet.utils.session import (get_source_inputs, is_keras_tensor, set_random_seed,
                                   standardize_dtype)

__all__ = ["Progbar", "PyDataset", "Sequence", "clear_session", "get_source_inputs",
           "is_keras_tensor", "normalize", "pack_x_y_sample_weight", "pad_sequences", "set_random_seed", "standardize_dtype",
           "to_categorical", "unpack_x_y_sample_weight"]
