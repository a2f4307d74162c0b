"""Bad layer arguments are refused as Keras 3 refuses them: the same exception type (Keras's
own layer tests check several TypeErrors and ValueErrors), and a message that names the layer
class, the argument and what was received."""

import warnings

import keras
import pytest

import thawnet.layers as tl
from thawnet.layers.argument_errors import ArgumentTypeError

# (layer class, constructor kwargs, the argument at fault). Keras raises for each of these at
# construction; thawnet must raise an instance of Keras's exception type.
CASES = [
    ("Dense", dict(units=-3), "units"), ("Dense", dict(units=0), "units"),
    ("Dense", dict(units=2.5), "units"), ("Dense", dict(units="3"), "units"),
    ("Dense", dict(units=2, trainable="yes"), "trainable"),
    ("Dense", dict(units=2, trainable=None), "trainable"),
    ("Dense", dict(units=2, activation="nope"), "activation"),
    ("Dense", dict(units=2, kernel_constraint="x"), "kernel_constraint"),
    ("Activation", dict(activation=3), "activation"),
    ("ReLU", dict(max_value=-1), "max_value"), ("ReLU", dict(negative_slope=None),
                                                "negative_slope"),
    ("ReLU", dict(threshold=-1), "threshold"),
    ("LeakyReLU", dict(negative_slope=None), "negative_slope"),
    ("LeakyReLU", dict(negative_slope=-1), "negative_slope"),
    ("Conv2D", dict(filters=0, kernel_size=3), "filters"),
    ("Conv2D", dict(filters=2.5, kernel_size=3), "filters"),
    ("Conv2D", dict(filters=2, kernel_size=(1, 0)), "kernel_size"),
    ("Conv2D", dict(filters=2, kernel_size=3, strides=(1, 0)), "strides"),
    ("Conv2D", dict(filters=2, kernel_size=3, strides=(1, 1, 1)), "strides"),
    ("Conv2D", dict(filters=2, kernel_size=3, padding="full"), "padding"),
    ("Conv2D", dict(filters=2, kernel_size=3, padding="causal"), "padding"),
    ("Conv2D", dict(filters=2, kernel_size=3, data_format="nhwc"), "data_format"),
    ("Conv2D", dict(filters=2, kernel_size=3, strides=2, dilation_rate=2), "dilation_rate"),
    ("Conv2D", dict(filters=2, kernel_size=3, groups=0), "groups"),
    ("Conv2D", dict(filters=5, kernel_size=3, groups=2), "groups"),
    ("Conv1D", dict(filters=2, kernel_size=3, padding="full"), "padding"),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2, output_padding=2),
     "output_padding"),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=0), "depth_multiplier"),
    ("SeparableConv2D", dict(filters=0, kernel_size=3), "filters"),
    ("MaxPooling2D", dict(pool_size=0), "pool_size"),
    ("MaxPooling2D", dict(pool_size=(2, 2, 2)), "pool_size"),
    ("MaxPooling2D", dict(pool_size=2, data_format="x"), "data_format"),
    ("AveragePooling3D", dict(pool_size=2, strides=(1, 1)), "strides"),
    ("GlobalAveragePooling2D", dict(data_format="x"), "data_format"),
    ("AdaptiveAveragePooling2D", dict(output_size=(1, 2, 3)), "output_size"),
    ("AdaptiveAveragePooling1D", dict(output_size=(1, 2)), "output_size"),
    ("AdaptiveMaxPooling3D", dict(output_size="x"), "output_size"),
    ("Reshape", dict(target_shape=(-2, 5)), "target_shape"),
    ("Reshape", dict(target_shape=(-1, -1, 5)), "target_shape"),
    ("Permute", dict(dims=(1, 3)), "dims"), ("Flatten", dict(data_format="x"), "data_format"),
    ("RepeatVector", dict(n="3"), "n"), ("RepeatVector", dict(n=3.5), "n"),
    ("RepeatVector", dict(n=[3]), "n"), ("RepeatVector", dict(n=0), "n"),
    ("UpSampling1D", dict(size=0), "size"), ("UpSampling1D", dict(size=2.5), "size"),
    ("UpSampling1D", dict(size="2"), "size"), ("UpSampling1D", dict(size=True), "size"),
    ("UpSampling2D", dict(size=(1, 2, 3)), "size"), ("UpSampling3D", dict(size=(1, 2)), "size"),
    ("ZeroPadding1D", dict(padding=(1, 2, 3)), "padding"),
    ("ZeroPadding2D", dict(padding=((1, 2), (3, -4))), "padding"),
    ("ZeroPadding3D", dict(padding=(1, 2)), "padding"),
    ("ZeroPadding3D", dict(padding=((1, 2), (3, 4), "5")), "padding"),
    ("Cropping1D", dict(cropping="1"), "cropping"),
    ("Cropping2D", dict(cropping=((1, 2), (3, -4))), "cropping"),
    ("Cropping3D", dict(cropping=(1, 2)), "cropping"),
    ("Cropping3D", dict(cropping=((1, 2), (3, 4), (5, -6))), "cropping"),
    ("Dot", dict(axes="x"), "axes"), ("Dot", dict(axes=(1, 2, 3)), "axes"),
    ("BatchNormalization", dict(renorm=True, renorm_clipping={"random_key": 1.0}),
     "renorm_clipping"),
    ("BatchNormalization", dict(renorm=True, renorm_clipping={"rmax": 0.0, "rmin": 1.0}),
     "renorm_clipping"),
    ("BatchNormalization", dict(renorm=True, renorm_clipping={"rmax": 1.0, "dmax": -1.0}),
     "renorm_clipping"),
    ("BatchNormalization", dict(synchronized=True), "synchronized"),
    ("BatchNormalization", dict(axis=None), "axis"),
    ("BatchNormalization", dict(axis="x"), "axis"),
    ("LayerNormalization", dict(axis={"axis": -1}), "axis"),
    ("Dropout", dict(rate=1.5), "rate"), ("Dropout", dict(rate=-0.1), "rate"),
    ("Dropout", dict(rate="x"), "rate"),
    ("Dropout", dict(rate=0.5, noise_shape="x"), "noise_shape"),
    ("Dropout", dict(rate=0.5, noise_shape=(1, "a")), "noise_shape"),
    ("Dropout", dict(rate=0.5, noise_shape=(1, 0)), "noise_shape"),
    ("Dropout", dict(rate=0.5, seed="x"), "seed"),
    ("TimeDistributed", dict(layer="dense"), "layer"),
]


def _raised(module, name, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            getattr(module, name)(**kwargs)
        except Exception as e:  # noqa: BLE001 - the exception itself is what is compared
            return e
    return None


@pytest.mark.parametrize("name,kwargs,arg", CASES, ids=[f"{c[0]}-{c[2]}-{i}"
                                                        for i, c in enumerate(CASES)])
def test_bad_argument_raises_keras_exception_type_and_names_layer_and_argument(name, kwargs,
                                                                               arg):
    theirs, ours = _raised(keras.layers, name, kwargs), _raised(tl, name, kwargs)
    assert theirs is not None, "Keras accepts this case; it does not belong in this table"
    assert isinstance(ours, type(theirs)), (type(ours), type(theirs), ours)
    message = str(ours)
    shown = "received" in message.lower() or repr(kwargs[arg]) in message or \
        f"{arg}={kwargs[arg]!r}" in message
    assert name in message and arg in message and shown, message


def test_keras_type_errors_are_also_value_errors():
    # thawnet raised ValueError for these before; code catching either keeps working.
    for name, kwargs in [("RepeatVector", dict(n="3")), ("UpSampling1D", dict(size=2.5)),
                         ("LayerNormalization", dict(axis="last")), ("Dot", dict(axes="x"))]:
        error = _raised(tl, name, kwargs)
        assert isinstance(error, ArgumentTypeError)
        assert isinstance(error, TypeError) and isinstance(error, ValueError)


# Call-time errors Keras checks: inputs that do not fit the layer.
CALL_CASES = [
    ("Subtract", {}, [(2, 3), (2, 3), (2, 3)], "Subtract"),
    ("Add", {}, [(2, 3), (2, 4)], "Add"),
    ("Concatenate", {}, [(2, 3, 4), (2, 5, 5)], "Concatenate"),
    ("DepthwiseConv2D", {"kernel_size": 5}, [(1, 3, 3, 2)], "too small"),
    ("SeparableConv2D", {"filters": 2, "kernel_size": 5}, [(1, 3, 3, 2)], "too small"),
    ("MaxPooling2D", {"pool_size": 5}, [(1, 3, 3, 2)], "too small"),
    ("Cropping2D", {"cropping": 4}, [(1, 5, 5, 2)], "crops 4\\+4"),
    ("Cropping3D", {"cropping": ((1, 1), (1, 1), (4, 1))}, [(1, 4, 4, 5, 2)], "crops 4\\+1"),
    ("Reshape", {"target_shape": (4,)}, [(2, 3)], "cannot reshape"),
]


@pytest.mark.parametrize("name,kwargs,shapes,match", CALL_CASES)
def test_inputs_that_do_not_fit_raise_like_keras(name, kwargs, shapes, match):
    def call(module, make_input):
        layer = getattr(module, name)(**kwargs)
        xs = [make_input(s) for s in shapes]
        return layer(xs if len(shapes) > 1 or name == "Subtract" else xs[0])

    with pytest.raises(ValueError):
        call(keras.layers, lambda s: keras.Input(batch_shape=s))
    with pytest.raises(ValueError, match=match):
        call(tl, lambda s: tl.Input(batch_shape=s))


def test_dense_use_bias_and_pooling_padding_are_checked_where_keras_fails_later():
    # Stricter than Keras, which accepts these and fails (or misbehaves) at call time.
    with pytest.raises(ValueError, match=r'Dense ".*": use_bias must be True or False; '
                                         r"received use_bias='x'"):
        tl.Dense(2, use_bias="x")
    with pytest.raises(ValueError, match=r"MaxPooling2D \".*\": padding must be one of 'valid', "
                                         r"'same'; received padding='full'"):
        tl.MaxPooling2D(2, padding="full")
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\); received rate=1.0"):
        tl.Dropout(1.0)
