"""``thawnet.utils``: Keras 3's helpers for data and sessions (``keras.utils`` names)."""

from thawnet.backend.naming import clear_session
from thawnet.utils.progbar import Progbar
from thawnet.utils.data_packing import pack_x_y_sample_weight, unpack_x_y_sample_weight
from thawnet.utils.image_dataset import image_dataset_from_directory
from thawnet.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from thawnet.utils.io_utils import (disable_interactive_logging, enable_interactive_logging,
                                    is_interactive_logging_enabled)
from thawnet.utils.numerical import normalize, pad_sequences, to_categorical
from thawnet.utils.plot_model import model_to_dot, plot_model
from thawnet.utils.py_dataset import PyDataset, Sequence
from thawnet.utils.session import (get_source_inputs, is_keras_tensor, set_random_seed,
                                   standardize_dtype)
from thawnet.utils.split_dataset import split_dataset
from thawnet.utils.text_dataset import text_dataset_from_directory

__all__ = ["Progbar", "PyDataset", "Sequence", "array_to_img", "clear_session",
           "disable_interactive_logging", "enable_interactive_logging", "get_source_inputs", "image_dataset_from_directory", "img_to_array",
           "is_interactive_logging_enabled", "is_keras_tensor", "load_img", "model_to_dot", "normalize", "pack_x_y_sample_weight",
           "pad_sequences", "plot_model", "save_img", "set_random_seed", "split_dataset",
           "standardize_dtype", "text_dataset_from_directory", "to_categorical",
           "unpack_x_y_sample_weight"]
