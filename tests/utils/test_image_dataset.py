"""image_dataset_from_directory / text_dataset_from_directory on folders written by the test:
the same class names, files, labels and subsets as Keras 3's listing for the same seed, the
same pixels as Keras's decoding (its Pillow + ops.image.resize path), and fit streams it."""

import os

import numpy as np
import pytest
from keras.src.utils import dataset_utils
from keras.src.utils.image_dataset_utils import ALLOWLIST_FORMATS, _load_image_grain
from PIL import Image

import thawnet
from thawnet.utils import image_dataset_from_directory, text_dataset_from_directory


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for c, name in enumerate(["cat", "dog", "emu"]):
        os.makedirs(root / name / "nested")
        for i in range(4 + c):
            # Two sizes (one compiled resize each, to keep the test fast), both aspects.
            size = ((6, 9, 3), (10, 7, 3))[i % 2]
            Image.fromarray(rng.integers(0, 255, size, dtype=np.uint8)).save(
                root / name / ("nested" if i == 0 else "") / f"{i}.png")
        (root / name / "notes.txt").write_text("not an image")
    return str(root)


def test_class_names_files_labels_and_subsets_equal_keras(folder):
    paths, labels, names = dataset_utils.index_directory(
        folder, "inferred", formats=ALLOWLIST_FORMATS, shuffle=True, seed=3, verbose=False)
    train, val = image_dataset_from_directory(folder, image_size=(6, 6), batch_size=4, seed=3,
                                              validation_split=0.25, subset="both",
                                              verbose=False)
    for ours, subset in ((train, "training"), (val, "validation")):
        their_paths, their_labels = dataset_utils.get_training_or_validation_split(
            paths, labels, 0.25, subset)
        assert ours.class_names == names == ["cat", "dog", "emu"]
        assert ours.file_paths == their_paths
        np.testing.assert_array_equal(ours.labels, their_labels)
    assert len(train.file_paths) == 12 and len(val.file_paths) == 3 and len(train) == 3
    alone = image_dataset_from_directory(folder, image_size=(6, 6), seed=3, verbose=False,
                                         validation_split=0.25, subset="validation")
    assert alone.file_paths == val.file_paths
    assert isinstance(train, thawnet.utils.PyDataset)


@pytest.mark.parametrize("options", [{}, {"crop_to_aspect_ratio": True}])
def test_batches_equal_keras_decoding_without_shuffle(folder, options):
    ds = image_dataset_from_directory(folder, image_size=(8, 6), batch_size=4, shuffle=False,
                                      verbose=False, **options)
    assert len(ds) == 4
    images, labels = ds[1]
    expected = np.stack([np.asarray(_load_image_grain(p, (8, 6), 3, "bilinear",
                                                      "channels_last", **options))
                         for p in ds.file_paths[4:8]])
    assert images.dtype == np.float32 and images.shape == (4, 8, 6, 3)
    np.testing.assert_array_equal(images, expected)
    np.testing.assert_array_equal(labels, [1, 1, 1, 1])
    assert labels.dtype == np.int32
    last = ds[3]
    assert last[0].shape == (3, 8, 6, 3)  # the short last batch


def test_label_modes_and_color_modes(folder):
    cat = image_dataset_from_directory(folder, label_mode="categorical", color_mode="grayscale",
                                       image_size=4, batch_size=15, shuffle=False,
                                       verbose=False)
    images, labels = cat[0]
    assert images.shape == (15, 4, 4, 1) and labels.dtype == np.float32
    np.testing.assert_array_equal(labels, np.eye(3, dtype="float32")[[0] * 4 + [1] * 5 + [2] * 6])
    two = image_dataset_from_directory(folder, class_names=["emu", "cat"], label_mode="binary",
                                       image_size=4, shuffle=False, verbose=False)
    images, labels = two[0]
    assert two.class_names == ["emu", "cat"] and labels.shape == (10, 1)
    np.testing.assert_array_equal(labels[:, 0], [0.0] * 6 + [1.0] * 4)
    bare = image_dataset_from_directory(folder, labels=None, image_size=4, shuffle=False,
                                        verbose=False)
    assert bare.class_names is None and bare[0].shape == (15, 4, 4, 3)


def test_fit_streams_the_dataset_and_batches_are_pure_functions_of_their_index(folder):
    ds = image_dataset_from_directory(folder, image_size=(4, 4), batch_size=5, seed=1,
                                      verbose=False)
    model = thawnet.Sequential([thawnet.Input((4, 4, 3)), thawnet.layers.Rescaling(1 / 255),
                                thawnet.layers.RandomFlip(), thawnet.layers.Flatten(),
                                thawnet.layers.Dense(3)])
    model.compile("adam", thawnet.losses.SparseCategoricalCrossentropy(from_logits=True))
    first = [ds[i][1].tolist() for i in range(len(ds))]
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    # Batch i is the same after any number of epochs: a resumed run reads the same data.
    assert first == [ds[i][1].tolist() for i in range(len(ds))]
    assert model.predict(ds, verbose=0).shape == (15, 3)
    assert len(model.evaluate(ds, verbose=0, return_dict=True)) >= 1


def test_errors_name_the_argument(folder):
    with pytest.raises(ValueError, match=r'label_mode="binary" needs exactly 2 classes; found '
                                         r"class_names=\['cat', 'dog', 'emu'\]"):
        image_dataset_from_directory(folder, label_mode="binary", verbose=False)
    with pytest.raises(ValueError, match="with validation_split and shuffle=True, pass a seed"):
        image_dataset_from_directory(folder, validation_split=0.2, subset="training",
                                     verbose=False)
    with pytest.raises(ValueError, match=r"class_names must name sub-folders"):
        image_dataset_from_directory(folder, class_names=["cow"], verbose=False)
    with pytest.raises(ValueError, match=r"color_mode must be .*received color_mode='cmyk'"):
        image_dataset_from_directory(folder, color_mode="cmyk", verbose=False)


def test_text_dataset_lists_like_keras_and_reads_lazily(tmp_path):
    for name, texts in (("neg", ["bad", "awful film"]), ("pos", ["good", "great", "fine"])):
        os.makedirs(tmp_path / name)
        for i, text in enumerate(texts):
            (tmp_path / name / f"{i}.txt").write_text(text)
    paths, labels, names = dataset_utils.index_directory(str(tmp_path), "inferred",
                                                         formats=(".txt",), shuffle=True,
                                                         seed=5, verbose=False)
    ds = text_dataset_from_directory(tmp_path, seed=5, max_length=4, verbose=False,
                                     batch_size=2)
    assert ds.class_names == names and ds.file_paths == paths
    assert len(ds) == 3
    ordered = text_dataset_from_directory(tmp_path, shuffle=False, verbose=False)
    texts, labels = ordered[0]
    assert texts.tolist() == ["bad", "awful film", "good", "great", "fine"]
    np.testing.assert_array_equal(labels, [0, 0, 1, 1, 1])
