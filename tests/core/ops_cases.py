"""Example arguments for the parity test of thawnet.ops against keras.ops (KERAS_BACKEND=jax).

Each case is ``name -> (args, kwargs)``; several cases of one op are ``"name:variant"``.
Arguments are small NumPy arrays so the test stays fast.
"""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng(0)
X = _rng.normal(size=(2, 3)).astype("float32")
Y = _rng.normal(size=(2, 3)).astype("float32")
POS = (np.abs(X) + 0.5).astype("float32")
UNIT = np.clip(X / 3, -0.9, 0.9).astype("float32")
ABOVE1 = (POS + 1).astype("float32")
INT = _rng.integers(0, 5, size=(2, 3)).astype("int32")
INT2 = _rng.integers(1, 4, size=(2, 3)).astype("int32")
BOOL = X > 0
BOOL2 = Y > 0
VEC = _rng.normal(size=(4,)).astype("float32")
SQUARE = (_rng.normal(size=(3, 3)) + 3 * np.eye(3)).astype("float32")
SPD = (SQUARE @ SQUARE.T + np.eye(3)).astype("float32")
IMG = _rng.uniform(size=(1, 6, 6, 3)).astype("float32")
SEQ = _rng.normal(size=(2, 5, 3)).astype("float32")
LOGITS = _rng.normal(size=(4, 5)).astype("float32")
LABELS = np.array([0, 3, 1, 4], "int32")
# Spectra shaped as keras.ops.stft returns them: (real, imag), (batch, frames, bins).
_spectrum = np.fft.rfft(_rng.normal(size=(2, 5, 16)), axis=-1)
_SPECTRUM = (_spectrum.real.astype("float32"), _spectrum.imag.astype("float32"))
_SPECTRUM_H = tuple(v[0, :4, :6].copy() for v in _SPECTRUM)

UNARY_FLOAT = [
    "abs", "absolute", "arctan", "arcsinh", "cbrt", "ceil", "conj", "conjugate", "copy", "cos",
    "cosh", "deg2rad", "exp", "exp2", "expm1", "fabs", "floor", "imag", "isfinite", "isinf",
    "isnan", "isneginf", "isposinf", "isreal", "negative", "rad2deg", "real", "sign", "signbit",
    "sin", "sinc", "sinh", "square", "tan", "tanh", "trunc", "round", "erf", "erfc", "ravel",
    "relu", "relu6", "sigmoid", "softplus", "softsign", "silu", "swish", "log_sigmoid", "selu",
    "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "sparse_plus", "sparse_sigmoid",
    "tanh_shrink", "leaky_relu", "elu", "celu", "gelu", "softmax", "log_softmax",
    "hard_shrink", "soft_shrink", "squareplus", "transpose", "flip", "squeeze", "stop_gradient",
    "angle", "i0", "nan_to_num", "zeros_like", "ones_like", "rms_normalization", "normalize",
    "layer_normalization",
]
UNARY_POSITIVE = ["log", "log10", "log1p", "log2", "sqrt", "reciprocal", "rsqrt"]
UNARY_UNIT = ["arccos", "arcsin", "arctanh", "erfinv"]
BINARY_FLOAT = [
    "add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum", "power_abs",
    "arctan2", "hypot", "logaddexp", "logaddexp2", "equal", "not_equal", "greater",
    "greater_equal", "less", "less_equal", "fmod", "mod", "floor_divide", "heaviside",
    "nextafter", "divide_no_nan", "isclose", "allclose", "fmax", "fmin", "copysign_skip",
]
BINARY_INT = ["gcd", "lcm", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
              "bitwise_right_shift", "left_shift", "right_shift"]
UNARY_INT = ["bitwise_invert", "bitwise_not"]
BINARY_BOOL = ["logical_and", "logical_or", "logical_xor"]
REDUCTIONS = ["sum", "mean", "max", "min", "amax", "amin", "prod", "std", "var", "median",
              "ptp", "nanmax", "nanmin", "nanmean", "nansum", "nanprod", "nanstd", "nanvar",
              "nanmedian", "argmax", "argmin", "nanargmax", "nanargmin", "logsumexp", "any",
              "all"]

CASES: dict[str, tuple[tuple, dict]] = {}
for _n in UNARY_FLOAT:
    CASES[_n] = ((X,), {})
for _n in UNARY_POSITIVE:
    CASES[_n] = ((POS,), {})
for _n in UNARY_UNIT:
    CASES[_n] = ((UNIT,), {})
for _n in BINARY_FLOAT:
    CASES[_n] = ((X, Y), {})
CASES["power"] = ((POS, Y), {})
del CASES["power_abs"], CASES["copysign_skip"]
for _n in BINARY_INT:
    CASES[_n] = ((INT, INT2), {})
for _n in UNARY_INT:
    CASES[_n] = ((INT,), {})
for _n in BINARY_BOOL:
    CASES[_n] = ((BOOL, BOOL2), {})
CASES["logical_not"] = ((BOOL,), {})
CASES["ldexp"] = ((X, INT), {})
CASES["arccosh"] = ((ABOVE1,), {})
for _n in REDUCTIONS:
    _a = BOOL if _n in ("any", "all") else X
    CASES[_n] = ((_a,), {})
    CASES[_n + ":axis"] = ((_a,), {"axis": 1})
    CASES[_n + ":keepdims"] = ((_a,), {"axis": 0, "keepdims": True})

CASES.update({
    "leaky_relu:slope": ((X,), {"negative_slope": 0.1}),
    "gelu:exact": ((X,), {"approximate": False}),
    "softmax:axis0": ((X,), {"axis": 0}),
    "glu": ((np.concatenate([X, Y], -1),), {}),
    "threshold": ((X, 0.1, -1.0), {}),
    "clip": ((X, -0.5, 0.5), {}),
    "round:decimals": ((X,), {"decimals": 1}),
    "where": ((BOOL, X, Y), {}),
    "matmul": ((X, Y.T), {}),
    "dot": ((X, Y.T), {}),
    "einsum": (("ij,kj->ik", X, Y), {}),
    "tensordot": ((X, Y.T), {"axes": 1}),
    "inner": ((X, Y), {}),
    "outer": ((VEC, VEC), {}),
    "vdot": ((X, Y), {}),
    "kron": ((X, Y), {}),
    "cross": ((X, Y), {}),
    "correlate": ((VEC, VEC[:2]), {}),
    "correlate:full": ((VEC, VEC[:2]), {"mode": "full"}),
    "trapezoid": ((X,), {}),
    "corrcoef": ((X,), {}),
    "reshape": ((X, (3, 2)), {}),
    "reshape:minus1": ((X, (-1,)), {}),
    "transpose:axes": ((SEQ, (2, 0, 1)), {}),
    "expand_dims": ((X, 1), {}),
    "squeeze:axis": ((X[:, None], 1), {}),
    "concatenate": (([X, Y],), {"axis": -1}),
    "stack": (([X, Y],), {"axis": 1}),
    "hstack": (([X, Y],), {}),
    "vstack": (([X, Y],), {}),
    "dstack": (([X, Y],), {}),
    "split": ((SEQ, 5, 1), {}),
    "array_split": ((VEC, 3), {}),
    "hsplit": ((X, 3), {}),
    "vsplit": ((X, 2), {}),
    "dsplit": ((SEQ, 3), {}),
    "tile": ((X, (2, 1)), {}),
    "repeat": ((X, 2), {"axis": 1}),
    "flip:axis": ((X, 1), {}),
    "fliplr": ((X,), {}),
    "flipud": ((X,), {}),
    "roll": ((X, 1), {"axis": 1}),
    "rot90": ((X,), {}),
    "moveaxis": ((SEQ, 0, -1), {}),
    "swapaxes": ((SEQ, 0, 2), {}),
    "broadcast_to": ((VEC, (2, 4)), {}),
    "pad": ((X, ((1, 0), (0, 2))), {}),
    "pad:reflect": ((X, ((1, 1), (1, 1))), {"mode": "reflect"}),
    "take": ((X, np.array([0, 2, -1])), {"axis": 1}),
    "take_along_axis": ((X, np.argsort(X, axis=1)), {"axis": 1}),
    "get_item": ((X, (slice(None), 0)), {}),
    "diagonal": ((SQUARE,), {}),
    "diag": ((VEC,), {}),
    "diagflat": ((X,), {}),
    "tril": ((SQUARE,), {}),
    "triu": ((SQUARE, 1), {}),
    "trace": ((SQUARE,), {}),
    "append": ((X, Y), {"axis": 0}),
    "diff": ((X,), {}),
    "meshgrid": ((VEC, VEC[:2]), {}),
    "select": (([X > 0.5, X < -0.5], [X, Y]), {}),
    "sort": ((X,), {}),
    "argsort": ((X,), {}),
    "cumsum": ((X,), {"axis": 1}),
    "cumprod": ((X,), {"axis": 0}),
    "nancumsum": ((X,), {"axis": 1}),
    "nancumprod": ((X,), {"axis": 1}),
    "count_nonzero": ((INT,), {}),
    "count_nonzero:axis": ((INT,), {"axis": 1}),
    "average": ((X,), {"axis": 1, "weights": np.array([1.0, 2.0, 3.0], "float32")}),
    "quantile": ((X, 0.3), {"axis": 1}),
    "percentile": ((X, 30.0), {"axis": 1}),
    "nanquantile": ((X, 0.3), {}),
    "nanpercentile": ((X, 30.0), {}),
    "digitize": ((X, np.array([-1.0, 0.0, 1.0], "float32")), {}),
    "searchsorted": ((np.sort(VEC), X), {}),
    "bincount": ((np.array([0, 1, 1, 3], "int32"),), {}),
    "histogram": ((VEC,), {"bins": 3}),
    "zeros": (((2, 3),), {}),
    "ones": (((2, 3),), {"dtype": "int32"}),
    "full": (((2, 2), 1.5), {}),
    "full_like": ((X, 2.0), {}),
    "array": ((X,), {}),
    "arange": ((5,), {}),
    "arange:float": ((0.0, 1.0, 0.25), {}),
    "linspace": ((0.0, 1.0, 5), {}),
    "logspace": ((0.0, 1.0, 4), {}),
    "geomspace": ((1.0, 8.0, 4), {}),
    "eye": ((3,), {"k": 1}),
    "identity": ((3,), {}),
    "tri": ((3,), {}),
    "vander": ((VEC,), {}),
    "hamming": ((5,), {}),
    "hanning": ((5,), {}),
    "bartlett": ((5,), {}),
    "blackman": ((5,), {}),
    "kaiser": ((5, 2.0), {}),
    "size": ((X,), {}),
    "ndim": ((X,), {}),
    "shape": ((X,), {}),
    "dtype": ((INT,), {}),
    "cast": ((X, "int32"), {}),
    "convert_to_tensor": ((X,), {}),
    "convert_to_numpy": ((X,), {}),
    "saturate_cast": ((X * 300, "int8"), {}),
    "is_tensor": ((X,), {}),
    "scatter": ((np.array([[0, 1], [1, 2]]), np.array([1.0, 2.0], "float32"), (2, 3)), {}),
    "scatter_update": ((X, np.array([[0, 1], [1, 2]]), np.array([5.0, 6.0], "float32")), {}),
    "slice": ((SEQ, (0, 1, 0), (2, 3, -1)), {}),
    "slice_update": ((X, (0, 1), np.ones((1, 2), "float32")), {}),
    "unstack": ((X,), {"axis": 1}),
    "one_hot": ((LABELS, 5), {}),
    "multi_hot": ((np.array([[0, 2], [1, 1]]), 4), {}),
    "top_k": ((X, 2), {}),
    "in_top_k": ((LABELS, LOGITS, 2), {}),
    "segment_sum": ((X, np.array([0, 0])), {"num_segments": 2}),
    "segment_max": ((X, np.array([0, 1])), {"num_segments": 2}),
    "segment_min": ((X, np.array([1, 1])), {"num_segments": 2}),
    "segment_prod": ((X, np.array([0, 1])), {"num_segments": 2}),
    "cdist": ((X, Y), {}),
    "extract_sequences": ((np.arange(20, dtype="float32").reshape(2, 10), 4, 2), {}),
    "stft": ((_rng.normal(size=(2, 32)).astype("float32"), 8, 4, 16), {}),
    "stft:hamming_no_center": ((_rng.normal(size=(32,)).astype("float32"), 10, 3, 10),
                               {"window": "hamming", "center": False}),
    "stft:no_window": ((_rng.normal(size=(32,)).astype("float32"), 8, 8, 8), {"window": None}),
    "istft": ((_SPECTRUM, 8, 4, 16), {}),
    "istft:length": ((_SPECTRUM, 8, 4, 16), {"length": 25}),
    "istft:hamming_no_center": ((_SPECTRUM_H, 10, 3, 10), {"window": "hamming",
                                                           "center": False}),
    "rearrange": ((SEQ, "b t c -> c (b t)"), {}),
    "rearrange:split": ((SEQ, "b t (c one) -> one c b t"), {"one": 1}),
    "fft": (((X, Y),), {}),
    "fft2": (((X, Y),), {}),
    "ifft2": (((X, Y),), {}),
    "rfft": ((X,), {}),
    "irfft": (((X, Y),), {}),
    "view_as_real": ((X.astype("complex64"),), {}),
    "view_as_complex": ((np.stack([X, Y], -1),), {}),
    "moments": ((SEQ, (0, 1)), {}),
    "moments:keepdims": ((SEQ, (1,)), {"keepdims": True}),
    "batch_normalization": ((X, X.mean(0), X.var(0), 1), {"offset": Y[0], "scale": POS[0]}),
    "binary_crossentropy": ((np.abs(np.sign(X)), np.clip(POS / 3, 0, 1)), {}),
    "binary_crossentropy:logits": ((np.abs(np.sign(X)), X), {"from_logits": True}),
    "categorical_crossentropy": ((np.eye(5)[LABELS], np.abs(LOGITS)), {}),
    "categorical_crossentropy:logits": ((np.eye(5)[LABELS], LOGITS), {"from_logits": True}),
    "sparse_categorical_crossentropy": ((LABELS, LOGITS), {"from_logits": True}),
    "conv": ((IMG, _rng.normal(size=(3, 3, 3, 2)).astype("float32")), {}),
    "conv:same_strided": ((IMG, _rng.normal(size=(3, 3, 3, 2)).astype("float32")),
                          {"strides": 2, "padding": "same"}),
    "conv:dilated": ((IMG, _rng.normal(size=(2, 2, 3, 2)).astype("float32")),
                     {"dilation_rate": 2}),
    "conv:1d": ((SEQ, _rng.normal(size=(2, 3, 4)).astype("float32")), {}),
    "depthwise_conv": ((IMG, _rng.normal(size=(3, 3, 3, 2)).astype("float32")), {}),
    "separable_conv": ((IMG, _rng.normal(size=(3, 3, 3, 2)).astype("float32"),
                        _rng.normal(size=(1, 1, 6, 4)).astype("float32")), {"padding": "same"}),
    "conv_transpose": ((IMG, _rng.normal(size=(3, 3, 2, 3)).astype("float32")), {"strides": 2}),
    "conv_transpose:same": ((IMG, _rng.normal(size=(3, 3, 2, 3)).astype("float32")),
                            {"strides": 2, "padding": "same"}),
    "adaptive_average_pool": ((IMG, (4, 3)), {}),
    "adaptive_max_pool": ((SEQ, 2), {}),
    "unfold": ((np.moveaxis(IMG, -1, 1), 2), {"stride": 2, "padding": 1}),
    "fold": ((_rng.normal(size=(1, 12, 9)).astype("float32"), (4, 4), 2), {}),
    # Explicit strides: Keras 3's JAX pools fail when strides=None (pool_size wrapped twice).
    "ctc_loss": ((np.array([[1, 2, 2], [3, 1, 0]], "int32"), _rng.normal(size=(2, 6, 4)).astype(
        "float32"), np.array([3, 2], "int32"), np.array([6, 5], "int32")), {}),
    "ctc_decode": ((_rng.normal(size=(2, 6, 4)).astype("float32"), np.array([6, 4], "int32")),
                   {}),
    "max_pool": ((IMG, (2, 2), (2, 2)), {}),
    "max_pool:same": ((IMG, 3), {"strides": 2, "padding": "same"}),
    "average_pool": ((IMG, (2, 2), (2, 2)), {}),
    "average_pool:same": ((IMG, 3), {"strides": 2, "padding": "same"}),
    "dot_product_attention": ((SEQ[:, :, None], SEQ[:, :, None], SEQ[:, :, None]), {}),
    "dot_product_attention:causal": ((SEQ[:, :, None], SEQ[:, :, None], SEQ[:, :, None]),
                                     {"is_causal": True}),
    "depth_to_space": ((np.tile(IMG, (1, 1, 1, 4))[:, :2, :2], 2), {}),
    "space_to_depth": ((IMG, 2), {}),
    "psnr": ((IMG, IMG[::-1, ::-1], 1.0), {}),
    "polar": ((POS, X), {}),
    "det": ((SQUARE,), {}),
    "inv": ((SQUARE,), {}),
    "slogdet": ((SQUARE,), {}),
    "logdet": ((SPD,), {}),
    "cholesky": ((SPD,), {}),
    "cholesky_inverse": ((np.linalg.cholesky(SPD).astype("float32"),), {}),
    "solve": ((SQUARE, X.T), {}),
    "solve_triangular": ((np.tril(SQUARE), X.T), {"lower": True}),
    "lstsq": ((SQUARE, X.T), {}),
    "norm": ((X,), {}),
    "norm:axis": ((X,), {"axis": 1, "ord": 1}),
    "pinv": ((X,), {}),
    "matrix_rank": ((SQUARE,), {}),
    "eigh": ((SPD,), {}),
    "svd:values": ((SQUARE,), {"compute_uv": False}),
    "resize": ((IMG, (3, 4)), {}),
    "resize:nearest": ((IMG, (12, 12)), {"interpolation": "nearest"}),
    "rgb_to_grayscale": ((IMG,), {}),
    "rgb_to_hsv": ((IMG,), {}),
    "hsv_to_rgb": ((IMG,), {}),
    "pad_images": ((IMG, 1, 2), {"target_height": 8, "target_width": 9}),
    "crop_images": ((IMG, 1, 2), {"target_height": 3, "target_width": 3}),
    "extract_patches": ((IMG, 2), {}),
    "map_coordinates": ((X, np.array([[0.5, 1.0], [1.5, 0.2]], "float32"), 1), {}),
})
IMAGE_OPS = {"resize", "rgb_to_grayscale", "rgb_to_hsv", "hsv_to_rgb", "pad_images",
             "crop_images", "extract_patches", "map_coordinates"}
