"""One small model per exported layer class, for the native-file round trips.

``CASES`` maps a class name to ``(factory, sample shape, input dtype)``; the shape is one
sample's, ``TWO`` (two (3,) inputs passed as a list), a tuple of shapes (several inputs passed
as a list) or ``SPREAD + shapes`` (inputs passed as separate call arguments, as attention's
query and value). A cell class's case is the RNN that runs it.
"""

import numpy as np

import thawnet
from thawnet import layers as L
from thawnet.models import Model

TWO = "two inputs"
SPREAD = ("spread",)  # the shapes after it are inputs passed as separate call arguments


@thawnet.saving.register_keras_serializable(package="NativeFileTests")
def _halve(x):
    """A registered function: a Lambda holding it saves by name."""
    return x / 2.0


CASES = {  # class name -> (factory, sample shape(s), input dtype)
    "Activation": (lambda: L.Activation("tanh"), (4,), "float32"),
    "ReLU": (lambda: L.ReLU(max_value=0.5, negative_slope=0.1, threshold=0.1), (4,), "float32"),
    "LeakyReLU": (lambda: L.LeakyReLU(negative_slope=0.2), (4,), "float32"),
    "Softmax": (lambda: L.Softmax(axis=1), (3, 2), "float32"),
    "ELU": (lambda: L.ELU(alpha=0.5), (4,), "float32"),
    "Dense": (lambda: L.Dense(3, activation="relu"), (4,), "float32"),
    "Dropout": (lambda: L.Dropout(0.5), (4,), "float32"),
    "Flatten": (lambda: L.Flatten(), (2, 3), "float32"),
    "Reshape": (lambda: L.Reshape((3, 2)), (6,), "float32"),
    "Permute": (lambda: L.Permute((2, 1)), (2, 3), "float32"),
    "RepeatVector": (lambda: L.RepeatVector(3), (2,), "float32"),
    "Embedding": (lambda: L.Embedding(7, 3), (4,), "int32"),
    "Conv1D": (lambda: L.Conv1D(2, 3, padding="same"), (5, 2), "float32"),
    "Conv2D": (lambda: L.Conv2D(2, 2, strides=2), (4, 4, 2), "float32"),
    "Conv3D": (lambda: L.Conv3D(2, 2), (3, 3, 3, 1), "float32"),
    "Conv1DTranspose": (lambda: L.Conv1DTranspose(2, 2), (3, 2), "float32"),
    "Conv2DTranspose": (lambda: L.Conv2DTranspose(2, 2, strides=2), (2, 2, 2), "float32"),
    "Conv3DTranspose": (lambda: L.Conv3DTranspose(1, 2), (2, 2, 2, 1), "float32"),
    "DepthwiseConv1D": (lambda: L.DepthwiseConv1D(2, depth_multiplier=2), (4, 2), "float32"),
    "DepthwiseConv2D": (lambda: L.DepthwiseConv2D(2), (3, 3, 2), "float32"),
    "SeparableConv1D": (lambda: L.SeparableConv1D(3, 2), (4, 2), "float32"),
    "SeparableConv2D": (lambda: L.SeparableConv2D(3, 2), (3, 3, 2), "float32"),
    "MaxPooling1D": (lambda: L.MaxPooling1D(2), (4, 2), "float32"),
    "MaxPooling2D": (lambda: L.MaxPooling2D((2, 2)), (4, 4, 1), "float32"),
    "MaxPooling3D": (lambda: L.MaxPooling3D((2, 2, 2)), (2, 2, 2, 1), "float32"),
    "AveragePooling1D": (lambda: L.AveragePooling1D(2, padding="same"), (3, 2), "float32"),
    "AveragePooling2D": (lambda: L.AveragePooling2D((2, 2)), (4, 4, 1), "float32"),
    "AveragePooling3D": (lambda: L.AveragePooling3D((2, 2, 2)), (2, 2, 2, 1), "float32"),
    "GlobalAveragePooling1D": (lambda: L.GlobalAveragePooling1D(), (3, 2), "float32"),
    "GlobalAveragePooling2D": (lambda: L.GlobalAveragePooling2D(keepdims=True), (2, 2, 3),
                               "float32"),
    "GlobalAveragePooling3D": (lambda: L.GlobalAveragePooling3D(), (2, 2, 2, 1), "float32"),
    "GlobalMaxPooling1D": (lambda: L.GlobalMaxPooling1D(), (3, 2), "float32"),
    "GlobalMaxPooling2D": (lambda: L.GlobalMaxPooling2D(), (2, 2, 3), "float32"),
    "GlobalMaxPooling3D": (lambda: L.GlobalMaxPooling3D(), (2, 2, 2, 1), "float32"),
    "ZeroPadding1D": (lambda: L.ZeroPadding1D((1, 2)), (3, 2), "float32"),
    "ZeroPadding2D": (lambda: L.ZeroPadding2D(((1, 0), (0, 2))), (2, 2, 1), "float32"),
    "Cropping1D": (lambda: L.Cropping1D((1, 0)), (3, 2), "float32"),
    "Cropping2D": (lambda: L.Cropping2D(((1, 0), (0, 1))), (3, 3, 1), "float32"),
    "UpSampling1D": (lambda: L.UpSampling1D(2), (2, 2), "float32"),
    "UpSampling2D": (lambda: L.UpSampling2D((2, 1)), (2, 2, 1), "float32"),
    "BatchNormalization": (lambda: L.BatchNormalization(momentum=0.9), (3,), "float32"),
    "LayerNormalization": (lambda: L.LayerNormalization(epsilon=1e-2), (3,), "float32"),
    "Normalization": (lambda: L.Normalization(axis=-1), (3,), "float32"),
    "Rescaling": (lambda: L.Rescaling(0.5, offset=1.0), (3,), "float32"),
    **{name: (getattr(L, name), TWO, "float32")
       for name in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
                    "Concatenate")},
    "Dot": (lambda: L.Dot(axes=1, normalize=True), TWO, "float32"),
    "Cropping3D": (lambda: L.Cropping3D(((1, 0), (0, 1), (1, 1))), (3, 3, 3, 1), "float32"),
    "ZeroPadding3D": (lambda: L.ZeroPadding3D(((1, 0), (0, 1), (1, 1))), (2, 2, 2, 1),
                      "float32"),
    "UpSampling3D": (lambda: L.UpSampling3D((2, 1, 2)), (2, 2, 2, 1), "float32"),
    "PReLU": (lambda: L.PReLU(alpha_initializer="ones", shared_axes=[1]), (3, 2), "float32"),
    **{f"Adaptive{kind}Pooling{d}D": (
        lambda kind=kind, d=d: getattr(L, f"Adaptive{kind}Pooling{d}D")((2,) * d),
        (4,) * d + (1,), "float32") for kind in ("Average", "Max") for d in (1, 2, 3)},
    "TimeDistributed": (lambda: L.TimeDistributed(L.Dense(2)), (3, 4), "float32"),
    "Wrapper": (lambda: L.Wrapper(L.Dense(2)), (3,), "float32"),
    "Identity": (lambda: L.Identity(), (3,), "float32"),
    "ActivityRegularization": (lambda: L.ActivityRegularization(l1=0.1), (3,), "float32"),
    "Lambda": (lambda: L.Lambda(_halve), (3,), "float32"),
    # -- recurrent layers, cells and wrappers (a cell is saved inside the RNN that runs it)
    "SimpleRNN": (lambda: L.SimpleRNN(3, return_sequences=True), (4, 2), "float32"),
    "LSTM": (lambda: L.LSTM(3, go_backwards=True), (4, 2), "float32"),
    "GRU": (lambda: L.GRU(3, reset_after=False), (4, 2), "float32"),
    "SimpleRNNCell": (lambda: L.RNN(L.SimpleRNNCell(3, activation="relu")), (4, 2), "float32"),
    "LSTMCell": (lambda: L.RNN(L.LSTMCell(3), return_sequences=True), (4, 2), "float32"),
    "GRUCell": (lambda: L.RNN(L.GRUCell(3)), (4, 2), "float32"),
    "RNN": (lambda: L.RNN(L.GRUCell(2), return_sequences=True, go_backwards=True), (4, 2),
            "float32"),
    "StackedRNNCells": (lambda: L.RNN(L.StackedRNNCells([L.LSTMCell(3), L.GRUCell(2)])),
                        (4, 2), "float32"),
    "Bidirectional": (lambda: L.Bidirectional(L.LSTM(2, return_sequences=True),
                                              merge_mode="sum"), (4, 2), "float32"),
    "ConvLSTM1D": (lambda: L.ConvLSTM1D(2, 2), (3, 4, 1), "float32"),
    "ConvLSTM2D": (lambda: L.ConvLSTM2D(2, 2, padding="same"), (2, 3, 3, 1), "float32"),
    "ConvLSTM3D": (lambda: L.ConvLSTM3D(1, 2), (2, 2, 2, 2, 1), "float32"),
    "SpectralNormalization": (lambda: L.SpectralNormalization(L.Dense(2)), (3,), "float32"),
    # -- attention (several inputs: a list for one argument, or spread over the arguments)
    "Attention": (lambda: L.Attention(use_scale=True), ((2, 4), (3, 4)), "float32"),
    "AdditiveAttention": (lambda: L.AdditiveAttention(), ((2, 4), (3, 4)), "float32"),
    "MultiHeadAttention": (lambda: L.MultiHeadAttention(2, 3), SPREAD + ((2, 4), (3, 4)),
                           "float32"),
    "GroupedQueryAttention": (lambda: L.GroupedQueryAttention(2, 4, 2),
                              SPREAD + ((2, 4), (3, 4)), "float32"),
    "EinsumDense": (lambda: L.EinsumDense("ab,bc->ac", 3, bias_axes="c"), (4,), "float32"),
    # -- normalization, noise and masking
    "GroupNormalization": (lambda: L.GroupNormalization(groups=2), (3, 4), "float32"),
    "RMSNormalization": (lambda: L.RMSNormalization(epsilon=1e-3), (3,), "float32"),
    "UnitNormalization": (lambda: L.UnitNormalization(), (3,), "float32"),
    "AlphaDropout": (lambda: L.AlphaDropout(0.3), (3,), "float32"),
    "GaussianDropout": (lambda: L.GaussianDropout(0.3), (3,), "float32"),
    "GaussianNoise": (lambda: L.GaussianNoise(0.3), (3,), "float32"),
    **{f"SpatialDropout{d}D": (lambda d=d: getattr(L, f"SpatialDropout{d}D")(0.3),
                               (2,) * (d + 1), "float32") for d in (1, 2, 3)},
    "Masking": (lambda: L.Masking(0.5), (3, 2), "float32"),
    # -- image preprocessing (inference: the random ones pass images through)
    "Resizing": (lambda: L.Resizing(2, 3), (4, 4, 1), "float32"),
    "CenterCrop": (lambda: L.CenterCrop(2, 2), (4, 3, 1), "float32"),
    "RandomCrop": (lambda: L.RandomCrop(2, 2, seed=1), (2, 2, 1), "float32"),
    "RandomFlip": (lambda: L.RandomFlip("horizontal", seed=1), (3, 3, 1), "float32"),
    "RandomRotation": (lambda: L.RandomRotation(0.2, seed=1), (3, 3, 1), "float32"),
    "RandomTranslation": (lambda: L.RandomTranslation(0.1, 0.2, seed=1), (3, 3, 1), "float32"),
    "RandomZoom": (lambda: L.RandomZoom(0.1, seed=1), (3, 3, 1), "float32"),
    "RandomBrightness": (lambda: L.RandomBrightness(0.1, seed=1), (3, 3, 1), "float32"),
    "RandomContrast": (lambda: L.RandomContrast(0.1, seed=1), (3, 3, 1), "float32"),
    "RandomErasing": (lambda: L.RandomErasing(seed=1), (3, 3, 1), "float32"),
    "RandomGrayscale": (lambda: L.RandomGrayscale(seed=1), (3, 3, 3), "float32"),
}


def single_layer_model(case):
    """The case's layer in a one-layer functional model, and a batch of two samples."""
    factory, shape, dtype = CASES[case]
    rng = np.random.default_rng(0)
    if shape == TWO:
        a, b = L.Input(shape=(3,), name="a"), L.Input(shape=(3,), name="b")
        x = [rng.normal(size=(2, 3)).astype("float32") for _ in range(2)]
        return Model([a, b], factory()([a, b]), name="m"), x
    if isinstance(shape[0], (tuple, str)):  # several sequence inputs
        spread = shape[0] == SPREAD[0]
        shapes = shape[1:] if spread else shape
        inputs = [L.Input(shape=s, name=f"in{i}") for i, s in enumerate(shapes)]
        x = [rng.normal(size=(2,) + s).astype(dtype) for s in shapes]
        out = factory()(*inputs) if spread else factory()(inputs)
        return Model(inputs, out, name="m"), x
    inp = L.Input(shape=shape, dtype=dtype, name="x")
    x = (rng.integers(0, 7, size=(2,) + shape) if dtype == "int32"
         else rng.normal(size=(2,) + shape)).astype(dtype)
    return Model(inp, factory()(inp), name="m"), x


# Heavier cases whose code paths a default case covers already (RNN loops: StackedRNNCells,
# Bidirectional, ConvLSTM1D; attention: MultiHeadAttention): THAWNET_FULL=1 (test-time budget).
SLOW_CASES = {"SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell", "RNN",
              "ConvLSTM2D", "ConvLSTM3D", "GroupedQueryAttention", "AdditiveAttention",
              "Resizing"}
