"""Image preprocessing and augmentation layers against Keras 3: exact outputs where the
operation is deterministic (Resizing, CenterCrop, and every random layer given the same fixed
transformation or a fixed factor), the distribution of the random draws otherwise, the
reproducibility of a seed, the identity at inference, 0 params, configs, and fit."""

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers

RNG = np.random.default_rng(7)
slow = pytest.mark.slow
IMAGES = RNG.uniform(0, 255, (3, 7, 9, 3)).astype("float32")


def _np(x):
    return np.asarray(x)


@pytest.mark.parametrize("interpolation,aspect", [
    ("bilinear", {}), ("nearest", {"crop_to_aspect_ratio": True}),
    ("bicubic", {"pad_to_aspect_ratio": True}), pytest.param("lanczos3", {}, marks=slow),
    pytest.param("lanczos5", {}, marks=slow)] + [
    pytest.param(i, a, marks=slow) for i in ("bilinear", "nearest", "bicubic", "lanczos3",
                                             "lanczos5")
    for a in ({"crop_to_aspect_ratio": True}, {"pad_to_aspect_ratio": True})])
def test_resizing_matches_keras(interpolation, aspect):
    ours = layers.Resizing(4, 6, interpolation=interpolation, **aspect)(IMAGES)
    theirs = keras.layers.Resizing(4, 6, interpolation=interpolation, **aspect)(IMAGES)
    np.testing.assert_array_equal(_np(ours), _np(theirs))


@slow
def test_resizing_channels_first_and_integer_images_match_keras():
    x = np.moveaxis(IMAGES, -1, 1)
    ours = layers.Resizing(5, 4, data_format="channels_first")(x)
    theirs = keras.layers.Resizing(5, 4, data_format="channels_first")(x)
    np.testing.assert_array_equal(_np(ours), _np(theirs))
    ints = IMAGES.astype("uint8")
    ours, theirs = layers.Resizing(3, 3)(ints), keras.layers.Resizing(3, 3)(ints)
    assert ours.dtype == theirs.dtype == np.uint8
    np.testing.assert_array_equal(_np(ours), _np(theirs))


def test_area_resizing_averages_the_cells_each_output_pixel_covers():
    # 6x6 -> 3x3 is a 2x2 average pool; 6 -> 4 weighs cells by their covered fraction.
    x = RNG.uniform(size=(1, 6, 6, 2)).astype("float32")
    pooled = x.reshape(1, 3, 2, 3, 2, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(_np(layers.Resizing(3, 3, interpolation="area")(x)), pooled,
                               rtol=1e-6)
    row = np.arange(6, dtype="float32").reshape(1, 1, 6, 1)
    out = _np(layers.Resizing(1, 4, interpolation="area")(row)).ravel()
    np.testing.assert_allclose(out, [(0 + 0.5 * 1) / 1.5, (0.5 * 1 + 2) / 1.5,
                                     (3 + 0.5 * 4) / 1.5, (0.5 * 4 + 5) / 1.5], rtol=1e-6)


@pytest.mark.parametrize("size", [(4, 5), pytest.param((7, 9), marks=slow), (10, 6)])
def test_center_crop_matches_keras(size):
    ours, theirs = layers.CenterCrop(*size)(IMAGES), keras.layers.CenterCrop(*size)(IMAGES)
    np.testing.assert_array_equal(_np(ours), _np(theirs))


@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_random_flip_with_a_fixed_decision_matches_keras(mode):
    flips = {"flips": np.array([True, False, True])[:, None, None, None]}
    ours = layers.RandomFlip(mode).transform_images(IMAGES, flips)
    theirs = keras.layers.RandomFlip(mode).transform_images(IMAGES, flips)
    np.testing.assert_array_equal(_np(ours), _np(theirs))
    if mode == "horizontal":
        np.testing.assert_array_equal(_np(ours)[0], IMAGES[0, :, ::-1])
        np.testing.assert_array_equal(_np(ours)[1], IMAGES[1])


@pytest.mark.parametrize("fill_mode,interpolation", [("reflect", "bilinear")] + [
    pytest.param("constant", "nearest", marks=slow)] + [
    pytest.param(f, i, marks=slow) for f, i in (("wrap", "bilinear"), ("nearest", "bilinear"),
                                                ("constant", "bilinear"), ("reflect", "nearest"),
                                                ("wrap", "nearest"), ("nearest", "nearest"))])
def test_random_rotation_with_a_fixed_angle_matches_keras(fill_mode, interpolation):
    kwargs = dict(factor=(0.1, 0.1), fill_mode=fill_mode, interpolation=interpolation,
                  fill_value=3.0)
    ours = layers.RandomRotation(**kwargs)(IMAGES, training=True)
    theirs = keras.layers.RandomRotation(**kwargs)(IMAGES, training=True)
    np.testing.assert_allclose(_np(ours), _np(theirs), atol=1e-3)


def test_zoom_and_translation_with_fixed_transformations_match_keras():
    zoom = {"height_zoom": np.array([[0.8], [1.2], [1.0]], "float32"),
            "width_zoom": np.array([[1.1], [0.7], [1.3]], "float32")}
    for fill_mode in ("reflect", "constant"):
        ours = layers.RandomZoom(0.3, fill_mode=fill_mode).transform_images(IMAGES, zoom)
        theirs = keras.layers.RandomZoom(0.3, fill_mode=fill_mode).transform_images(IMAGES,
                                                                                   zoom)
        np.testing.assert_allclose(_np(ours), _np(theirs), atol=1e-3)
    shift = {"translations": np.array([[1.5, -2.0], [0.3, 2.7], [-4.0, 0.0]], "float32")}
    ours = layers.RandomTranslation(0.3, 0.5).transform_images(IMAGES, shift)
    theirs = keras.layers.RandomTranslation(0.3, 0.5).transform_images(IMAGES, shift)
    np.testing.assert_allclose(_np(ours), _np(theirs), atol=1e-3)


def test_colour_layers_with_fixed_transformations_match_keras():
    factor = {"contrast_factor": np.array([0.5, 1.3, 1.0], "float32")[:, None, None, None]}
    np.testing.assert_allclose(
        _np(layers.RandomContrast(0.5).transform_images(IMAGES, factor)),
        _np(keras.layers.RandomContrast(0.5).transform_images(IMAGES, factor)), atol=1e-3)
    delta = {"rgb_delta": np.array([-30.0, 40.0, 0.0], "float32")[:, None, None, None]}
    np.testing.assert_array_equal(
        _np(layers.RandomBrightness(0.5).transform_images(IMAGES, delta)),
        _np(keras.layers.RandomBrightness(0.5).transform_images(IMAGES, delta)))
    gray = np.array([True, False, True])[:, None, None, None]
    np.testing.assert_array_equal(
        _np(layers.RandomGrayscale().transform_images(IMAGES, gray)),
        _np(keras.layers.RandomGrayscale().transform_images(IMAGES, gray)))
    theirs = keras.layers.RandomErasing(fill_value=7.0, seed=1)
    erase = theirs.get_random_transformation(IMAGES)
    np.testing.assert_array_equal(
        _np(layers.RandomErasing(fill_value=7.0).transform_images(IMAGES, erase)),
        _np(theirs.transform_images(IMAGES, erase)))


def test_random_crop_window_and_fallback_match_keras():
    small = IMAGES[:, :4, :6]  # not larger than 4x4 in both sides: centred window, as Keras
    np.testing.assert_array_equal(_np(layers.RandomCrop(4, 4)(small, training=True)),
                                  _np(keras.layers.RandomCrop(4, 4)(small, training=True)))
    out = _np(layers.RandomCrop(4, 5, seed=3)(IMAGES, training=True))
    # The window is one of the slices of the input (the same for the batch).
    windows = [(t, l) for t in range(4) for l in range(5)
               if np.array_equal(out, IMAGES[:, t:t + 4, l:l + 5])]
    assert len(windows) == 1


def test_random_draws_follow_the_factor_distribution():
    x = np.zeros((4000, 2, 2, 3), "float32")
    rotation = layers.RandomRotation((-0.2, 0.1), seed=5)
    angles = _np(rotation.get_random_transformation(x)["angle"])
    assert angles.min() >= -72 and angles.max() <= 36
    np.testing.assert_allclose([angles.mean(), angles.std()],
                               [-18.0, 108 / np.sqrt(12)], rtol=0.05)
    contrast = _np(layers.RandomContrast(0.5, seed=5).get_random_transformation(x)
                   ["contrast_factor"])
    np.testing.assert_allclose([contrast.mean(), contrast.std()], [1.25, 0.5 / np.sqrt(12)],
                               rtol=0.05)
    delta = _np(layers.RandomBrightness(0.2, seed=5).get_random_transformation(x)["rgb_delta"])
    np.testing.assert_allclose([delta.mean(), delta.std()], [0.0, 102 / np.sqrt(12)],
                               atol=2.0)
    flips = _np(layers.RandomFlip(seed=5).get_random_transformation(x)["flips"])
    assert abs(flips.mean() - 0.5) < 0.03
    gray = _np(layers.RandomGrayscale(0.2, seed=5).get_random_transformation(x))
    assert abs(gray.mean() - 0.2) < 0.03
    zoom = _np(layers.RandomZoom((-0.3, 0.1), seed=5).get_random_transformation(x)
               ["height_zoom"])
    np.testing.assert_allclose(zoom.mean(), 0.9, rtol=0.02)
    shift = _np(layers.RandomTranslation(0.5, (0.0, 0.25), seed=5)
                .get_random_transformation(x)["translations"])
    np.testing.assert_allclose(shift.mean(axis=0), [0.25, 0.0], atol=0.05)


@pytest.mark.parametrize("name,kwargs", [
    ("RandomFlip", {}), ("RandomRotation", {"factor": 0.2}),
    pytest.param("RandomErasing", {}, marks=slow),
    pytest.param("RandomZoom", {"height_factor": 0.2}, marks=slow),
    pytest.param("RandomTranslation", {"height_factor": 0.2, "width_factor": 0.2},
                 marks=slow),
    pytest.param("RandomContrast", {"factor": 0.4}, marks=slow),
    pytest.param("RandomBrightness", {"factor": 0.3}, marks=slow),
    pytest.param("RandomGrayscale", {"factor": 0.5}, marks=slow)])
def test_a_seed_reproduces_the_eager_augmentations_and_training_false_is_the_identity(name, kwargs):
    if True:
        a, b = (getattr(layers, name)(seed=11, **kwargs) for _ in range(2))
        batch = np.concatenate([IMAGES] * 4)  # 12 images: two draws cannot all coincide
        first = [_np(a(batch, training=True)) for _ in range(2)]
        np.testing.assert_array_equal(first[0], _np(b(batch, training=True)))
        assert not np.array_equal(first[0], first[1]), name
        np.testing.assert_array_equal(_np(a(IMAGES, training=False)), IMAGES)
        # Keras's rule: a standalone call without a training argument augments.
        assert not np.array_equal(_np(a(batch)), batch)


def test_configs_round_trip_and_match_keras_keys():
    cases = [("Resizing", dict(height=3, width=4, interpolation="bicubic")),
             ("CenterCrop", dict(height=3, width=4)), ("RandomCrop", dict(height=3, width=4)),
             ("RandomFlip", dict(mode="vertical", seed=2)),
             ("RandomRotation", dict(factor=0.2, fill_mode="constant")),
             ("RandomZoom", dict(height_factor=0.2, width_factor=(-0.1, 0.3))),
             ("RandomTranslation", dict(height_factor=0.1, width_factor=0.2)),
             ("RandomContrast", dict(factor=0.3)), ("RandomBrightness", dict(factor=0.3)),
             ("RandomGrayscale", dict(factor=0.3)), ("RandomErasing", dict(factor=0.5))]
    for name, kwargs in cases:
        layer = getattr(layers, name)(**kwargs)
        config = layer.get_config()
        assert getattr(layers, name).from_config(config).get_config() == config
        keras_config = getattr(keras.layers, name)(**kwargs).get_config()
        assert set(keras_config) - {"dtype"} <= set(config), name
        for key in set(keras_config) - {"name", "dtype", "seed"}:
            assert np.all(np.asarray(config[key]) == np.asarray(keras_config[key])), (name, key)


def _augmented_model(full):
    augment = [layers.RandomFlip(), layers.RandomContrast(0.2), layers.RandomCrop(6, 6)]
    if full:
        augment[2:2] = [layers.RandomRotation(0.1), layers.RandomZoom(0.1),
                        layers.RandomTranslation(0.1, 0.1), layers.RandomBrightness(0.1),
                        layers.RandomGrayscale(0.3), layers.RandomErasing(value_range=(0, 1))]
    return thawnet.Sequential([thawnet.Input((8, 8, 3)), *augment, layers.Resizing(4, 4),
                               layers.CenterCrop(3, 3), layers.Flatten(), layers.Dense(2)])


@pytest.mark.parametrize("full", [False, pytest.param(True, marks=slow)])
def test_augmentations_in_fit_have_no_weights_and_reproduce_with_the_seed(full):
    x = np.random.default_rng(0).uniform(size=(8, 8, 8, 3)).astype("float32")

    def trained():
        thawnet.clear_session()
        thawnet.set_random_seed(3)
        model = _augmented_model(full)
        model.compile("sgd", "mse")
        model.fit(x, np.ones((8, 2), "float32"), batch_size=4, epochs=1, verbose=0)
        return model
    model = trained()
    assert model.count_params() == 3 * 3 * 3 * 2 + 2
    assert model.non_trainable_weights == []
    assert all(layer.weights == [] for layer in model.layers[:-1])
    again = trained()
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    # At inference the augmentations are the identity (RandomCrop crops the centre).
    tail = thawnet.Sequential([thawnet.Input((8, 8, 3)), layers.CenterCrop(6, 6),
                               layers.Resizing(4, 4), layers.CenterCrop(3, 3),
                               layers.Flatten()])
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(_np(model.predict(x, verbose=0)), _np(tail(x)) @ kernel + bias,
                               rtol=1e-5, atol=1e-5)


def test_bad_arguments_name_the_layer_and_the_value():
    with pytest.raises(ValueError, match=r'RandomFlip "random_flip_1": mode must be one of'):
        layers.RandomFlip("diagonal")
    with pytest.raises(ValueError, match=r"factor must be a number or a list of two numbers "
                                         r"in the range \[-1.0, 1.0\]; received factor=2"):
        layers.RandomRotation(2)
    with pytest.raises(ValueError, match=r"interpolation must be one of .*received "
                                         r"interpolation='cubic'"):
        layers.Resizing(2, 2, interpolation="cubic")
    with pytest.raises(ValueError, match=r"height must be a positive integer"):
        layers.CenterCrop(0, 2)
    with pytest.raises(ValueError, match=r"expected images of rank 3 .* or 4 .*received a "
                                         r"tensor of shape \(4, 4\)"):
        layers.RandomFlip()(np.zeros((4, 4), "float32"), training=True)


@pytest.mark.parametrize("kwargs", [{"crop_to_aspect_ratio": True},
                                    pytest.param({}, marks=slow),
                                    pytest.param({"pad_to_aspect_ratio": True}, marks=slow)])
def test_xyxy_bounding_boxes_move_with_the_images_as_in_keras(kwargs):
    image = RNG.uniform(size=(10, 8, 3)).astype("float32")
    boxes = {"boxes": np.array([[2.0, 1.0, 4.0, 3.0], [6.0, 4.0, 8.0, 6.0]], "float32"),
             "labels": np.array([1, 2])}
    if True:
        ours = layers.Resizing(20, 20, bounding_box_format="xyxy", **kwargs)(
            {"images": image, "bounding_boxes": dict(boxes)})
        theirs = keras.layers.Resizing(20, 20, bounding_box_format="xyxy", **kwargs)(
            {"images": image, "bounding_boxes": dict(boxes)})
        np.testing.assert_allclose(_np(ours["bounding_boxes"]["boxes"]),
                                   _np(theirs["bounding_boxes"]["boxes"]), atol=1e-5)
    flips = {"flips": np.array([[True]]), "input_shape": image.shape}
    ours = layers.RandomFlip("horizontal", bounding_box_format="xyxy").transform_bounding_boxes(
        dict(boxes), flips)
    np.testing.assert_array_equal(_np(ours["boxes"]), [[4, 1, 6, 3], [0, 4, 2, 6]])
    with pytest.raises(NotImplementedError, match=r'"xyxy" format .*received '
                                                  r"bounding_box_format='yxyx'"):
        layers.RandomFlip(bounding_box_format="yxyx")(
            {"images": image, "bounding_boxes": dict(boxes)}, training=True)
    with pytest.raises(NotImplementedError, match="transforming bounding boxes is not supported"):
        layers.RandomRotation(0.1)({"images": image, "bounding_boxes": dict(boxes)})
