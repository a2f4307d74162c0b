"""Which Keras test cases cannot apply to thawnet, decided before a case runs.

Only the categories of README.md are skipped: tf.data / tensorflow, torch, other backends,
sparse and ragged tensors, quantization and network access (masking runs since thawnet
implements it). Everything else is attempted. A rule looks at the test method's name, or at
its source for the categories whose use is unmistakable there (quantization).

More cases skip while they run, through the same categories: a placeholder for
``tensorflow``/``torch``/``quantizers`` skips when used, ``run_layer_test`` skips sparse
inputs, and Keras's own ``pytest.mark.skipif(backend.backend() != "tensorflow")`` marks are
honoured with thawnet measured as the "jax" backend.
"""

from __future__ import annotations

import inspect
import re

# (category, reason, regex on the method name, regex on the method source or None)
RULES: tuple[tuple[str, str, str, str | None], ...] = (
    ("tf.data / tensorflow", "tf.data / tensorflow: not installed, thawnet runs on JAX",
     r"tf_data|tf\.data|tensorflow|saved_?model|_tf_|tf_function", r"\btf_data\."),
    ("torch", "torch: another backend, not installed", r"torch", None),
    ("other backends", "another backend than jax (numpy / openvino)", r"openvino|numpy_backend",
     None),
    ("sparse / ragged", "sparse/ragged tensors: thawnet has none", r"sparse|ragged", None),
    ("quantization", "quantization (int8/int4/float8/GPTQ/AWQ): out of thawnet's scope",
     r"quantiz|int8|int4|float8|fp8|gptq|awq",
     r"quantiz|QuantizationConfig|float8|gptq|awq"),
    ("network", "needs network access", r"download|from_url", None),
    # The test counts calls of a Keras-internal function it replaces with mock.patch (the
    # remat tests patch keras.src.backend.common.remat.remat): thawnet never calls it.
    ("Keras internals (no thawnet counterpart)", "Keras internal without a thawnet "
     "counterpart: the test patches a Keras internal with mock (keras.src module attributes)",
     r"^$", r"mock\.patch\(\s*[\"']keras\."),
)
CATEGORY_OF_REASON = {reason: category for category, reason, _, _ in RULES}

DELIBERATE = "deliberate difference (README)"
_NAMES = ("deliberate difference: automatic names are numbered from 1 (dense_1, as in the seed) "
          "and a weight's path is layer/weight, not Keras's creation-time name scope "
          "(README, 'Where thawnet differs from Keras on purpose')")
_POSITIONAL = ("deliberate difference: add_weight(\"name\", shape) with the name first keeps "
               "working (issue #17); Keras 3 refuses it (README, same list)")
_NO_IMPORTS = ("deliberate difference: configs resolve classes by registered name only; thawnet "
               "never imports the module a file names, and the test's cell is not registered "
               "(README: files never hold code)")
_PRIVATE = ("Keras internal without a thawnet counterpart: Keras-private cuDNN dispatch "
            "predicates (Bidirectional._can_attempt_fused_lstm / _gru)")
# Cases that check a behaviour thawnet changes on purpose, each with its README line, or a
# Keras-private helper: listed by exact case id, so no other case can fall under them.
BY_CASE: dict[str, str] = {
    "layer_test.py::LayerTest::test_custom_layer_add_weight_in_init_name": _NAMES,
    "layer_test.py::LayerTest::test_custom_layer_add_weight_in_build_name": _NAMES,
    "layer_test.py::LayerTest::test_layer_variable_tracking_correct": _NAMES,
    "core/dense_test.py::DenseTest::test_lora_weight_name": _NAMES,
    "convolutional/conv_test.py::ConvBasicTest::test_lora_weight_name": _NAMES,
    "layer_test.py::LayerTest::test_add_weight_string_as_first_positional_arg": _POSITIONAL,
    "rnn/rnn_test.py::RNNTest::test_basics": _NO_IMPORTS,
    "rnn/rnn_test.py::RNNTest::test_serialization": _NO_IMPORTS,
    "rnn/bidirectional_test.py::SimpleRNNTest::test_fused_lstm_eligibility": _PRIVATE,
    "rnn/bidirectional_test.py::SimpleRNNTest::test_fused_gru_eligibility": _PRIVATE,
}
CATEGORY_OF_REASON.update({_NAMES: DELIBERATE, _POSITIONAL: DELIBERATE, _NO_IMPORTS: DELIBERATE})


def case_skip_reason(case_id: str) -> str | None:
    """The reason a case is listed in :data:`BY_CASE`, or None."""
    return BY_CASE.get(case_id)


def _source(method) -> str:
    try:
        return inspect.getsource(inspect.unwrap(method))
    except (OSError, TypeError):
        return ""


def static_skip_reason(method_name: str, method) -> str | None:
    """The skip reason for a test method, or None when it must be attempted.

    Args:
        method_name: the (expanded) test method name, e.g. ``"test_dense_sparse"``.
        method: the function (its source is read for the source rules).

    Returns:
        The reason string of the first matching rule, or ``None``.
    """
    lowered = method_name.lower()
    source = None
    for _, reason, name_rx, source_rx in RULES:
        if re.search(name_rx, lowered):
            return reason
        if source_rx is not None:
            source = _source(method) if source is None else source
            if re.search(source_rx, source):
                return reason
    return None


_KERAS_OWN_SKIPS = (
    (r"^Keras internal without a thawnet counterpart", "Keras internals (no thawnet counterpart)"),
    (r"export to TF SavedModel", "export (SavedModel / ONNX)"),
    (r"legacy h5", "Keras's own skip: legacy HDF5 format"),
    (r"JAX backend doesn't support|not supported with JAX", "Keras's own skip on the JAX backend"),
    (r"at least \d+ JAX devices|multi.?device", "needs several devices"),
    (r"output_padding", "Keras's own skip: invalid parameter combination"),
    (r"\bstring", "strings: TensorFlow string tensors"),
    (r"mask", "masking"), (r"sparse|ragged", "sparse / ragged"),
    (r"quantiz", "quantization"), (r"tf\.data|tf-data|tensorflow|\btf\b", "tf.data / tensorflow"),
    (r"torch", "torch"), (r"grain", "other data loaders (grain)"),
    (r"openvino|numpy|backend", "other backends"), (r"\b(gpu|tpu)\b", "needs a GPU/TPU"),
    (r"network|download", "network"),
)


def categorize_reason(reason: str) -> str:
    """Group a skip reason (ours or Keras's own ``skipTest``) under one README category."""
    if reason in CATEGORY_OF_REASON:
        return CATEGORY_OF_REASON[reason]
    for pattern, category in _KERAS_OWN_SKIPS:
        if re.search(pattern, reason, flags=re.IGNORECASE):
            return category
    return "other: " + reason[:80]
