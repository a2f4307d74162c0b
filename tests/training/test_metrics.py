"""Parity of thawnet.metrics with keras.metrics, eager and under jax.jit."""

import functools

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from thawnet import losses, metrics

RTOL = 1e-5
ATOL = 1e-7
N, C = 8, 5


def _batch(rng):
    labels = rng.integers(0, C, N)
    bin_pred = rng.uniform(size=(N, 1)).astype("float32")
    bin_pred[:3, 0] = [0.0, 0.5, 1.0]  # exact threshold / bucket edges
    return {
        "probs": rng.dirichlet(np.ones(C), N).astype("float32"),
        "labels": labels.astype("int32"),
        "labels_col": labels[:, None].astype("int32"),
        "onehot": np.eye(C, dtype="float32")[labels],
        "multi_hot": (rng.uniform(size=(N, C)) > 0.6).astype("float32"),
        "bin_true": (rng.uniform(size=(N, 1)) > 0.5).astype("float32"),
        "bin_pred": bin_pred,
        "logit_pred": rng.normal(size=(N, 1)).astype("float32") * 3,
        "real_a": rng.normal(size=(N, 3)).astype("float32"),
        "real_b": rng.normal(size=(N, 3)).astype("float32"),
        "weights": rng.uniform(0.0, 2.0, N).astype("float32"),
    }


_rng = np.random.default_rng(7)
BATCHES = [_batch(_rng), _batch(_rng)]
BATCHES[1]["pred_labels"] = np.argmax(BATCHES[1]["probs"], -1)
BATCHES[0]["pred_labels"] = BATCHES[0]["labels"].copy()
BATCHES[0]["pred_labels"][:3] = (BATCHES[0]["pred_labels"][:3] + 1) % C

# (id, class name, kwargs, y_true key, y_pred key)
CASES = [
    ("accuracy", "Accuracy", {}, "labels", "pred_labels"),
    ("binary_accuracy", "BinaryAccuracy", {}, "bin_true", "bin_pred"),
    ("binary_accuracy_t", "BinaryAccuracy", {"threshold": 0.3}, "bin_true",
     "bin_pred"),
    ("categorical_accuracy", "CategoricalAccuracy", {}, "onehot", "probs"),
    ("sparse_cat_accuracy", "SparseCategoricalAccuracy", {}, "labels",
     "probs"),
    ("sparse_cat_accuracy_col", "SparseCategoricalAccuracy", {},
     "labels_col", "probs"),
    ("top_k", "TopKCategoricalAccuracy", {"k": 2}, "onehot", "probs"),
    ("sparse_top_k", "SparseTopKCategoricalAccuracy", {"k": 3}, "labels",
     "probs"),
    ("precision", "Precision", {}, "bin_true", "bin_pred"),
    ("precision_thresholds", "Precision", {"thresholds": [0.2, 0.5, 0.8]},
     "bin_true", "bin_pred"),
    ("precision_even", "Precision", {"thresholds": [0.0, 0.5, 1.0]},
     "bin_true", "bin_pred"),
    ("precision_top_k", "Precision", {"top_k": 2}, "multi_hot", "probs"),
    ("recall", "Recall", {}, "bin_true", "bin_pred"),
    ("recall_class_id", "Recall", {"class_id": 1}, "onehot", "probs"),
    ("recall_thresholds", "Recall", {"thresholds": [0.1, 0.6]}, "multi_hot",
     "probs"),
    ("auc_roc", "AUC", {}, "bin_true", "bin_pred"),
    ("auc_pr", "AUC", {"curve": "PR"}, "bin_true", "bin_pred"),
    ("auc_roc_13", "AUC", {"num_thresholds": 13}, "multi_hot", "probs"),
    ("auc_pr_minoring", "AUC",
     {"curve": "PR", "summation_method": "minoring", "num_thresholds": 9},
     "bin_true", "bin_pred"),
    ("auc_majoring", "AUC", {"summation_method": "majoring"}, "bin_true",
     "bin_pred"),
    ("auc_thresholds", "AUC", {"thresholds": [0.25, 0.4, 0.9]}, "bin_true",
     "bin_pred"),
    ("auc_logits", "AUC", {"from_logits": True}, "bin_true", "logit_pred"),
    ("auc_multi_label", "AUC", {"multi_label": True, "num_labels": C},
     "multi_hot", "probs"),
    ("auc_multi_label_pr", "AUC",
     {"multi_label": True, "num_labels": C, "curve": "PR",
      "label_weights": [1.0, 2.0, 0.5, 1.0, 3.0]}, "multi_hot", "probs"),
    ("mae", "MeanAbsoluteError", {}, "real_a", "real_b"),
    ("mse", "MeanSquaredError", {}, "real_a", "real_b"),
    ("rmse", "RootMeanSquaredError", {}, "real_a", "real_b"),
    ("cosine", "CosineSimilarity", {}, "real_a", "real_b"),
    ("bce", "BinaryCrossentropy", {}, "bin_true", "bin_pred"),
    ("cce", "CategoricalCrossentropy", {"from_logits": True}, "onehot",
     "probs"),
    ("kld", "KLDivergence", {}, "onehot", "probs"),
]
IDS = [c[0] for c in CASES]


@functools.lru_cache(maxsize=None)
def _keras_result(case_id, weighted, num_batches=2):
    """Keras's result for a case over the first ``num_batches`` batches."""
    _, cls_name, kwargs, true_key, pred_key = CASES[IDS.index(case_id)]
    metric = getattr(keras.metrics, cls_name)(**kwargs)
    for batch in BATCHES[:num_batches]:
        weight = batch["weights"] if weighted else None
        metric.update_state(batch[true_key], batch[pred_key],
                            sample_weight=weight)
    return np.asarray(metric.result())


# Every case with sample weights; the unweighted code path for a subset
# (Keras's eager AUC is slow, and the path is shared by all thresholds).
UNWEIGHTED = {"accuracy", "binary_accuracy", "categorical_accuracy",
              "sparse_cat_accuracy_col", "top_k", "sparse_top_k", "precision",
              "precision_top_k", "recall_class_id", "auc_roc", "auc_pr",
              "auc_multi_label", "mae", "rmse", "cosine", "bce"}
EAGER_PARAMS = [pytest.param(c, True, id=f"{c[0]}-weighted") for c in CASES]
EAGER_PARAMS += [pytest.param(c, False, id=c[0]) for c in CASES
                 if c[0] in UNWEIGHTED]


@pytest.mark.parametrize("case, weighted", EAGER_PARAMS)
def test_eager_api_matches_keras(case, weighted):
    case_id, cls_name, kwargs, true_key, pred_key = case
    expected = _keras_result(case_id, weighted)
    metric = getattr(metrics, cls_name)(**kwargs)
    for batch in BATCHES:
        weight = batch["weights"] if weighted else None
        metric.update_state(batch[true_key], batch[pred_key],
                            sample_weight=weight)
    np.testing.assert_allclose(np.asarray(metric.result()), expected,
                               rtol=RTOL, atol=ATOL)
    if not weighted:  # reset_state really starts over
        metric.reset_state()
        metric.update_state(BATCHES[0][true_key], BATCHES[0][pred_key])
        np.testing.assert_allclose(np.asarray(metric.result()),
                                   _keras_result(case_id, False, 1),
                                   rtol=RTOL, atol=ATOL)


def test_functional_api_under_jit_matches_keras():
    """All metrics updated and computed inside ONE jitted function."""
    objs = [getattr(metrics, c[1])(**c[2]) for c in CASES]
    keys = [(c[3], c[4]) for c in CASES]
    traces = []

    @jax.jit
    def step(states, batch):
        traces.append(1)
        new = [
            m.update(s, batch[t], batch[p], sample_weight=batch["weights"])
            for m, s, (t, p) in zip(objs, states, keys)
        ]
        return new, [m.compute(s) for m, s in zip(objs, new)]

    states = [m.init_state() for m in objs]
    for batch in BATCHES:
        states, results = step(states, batch)
    assert len(traces) == 1  # same shapes: compiled once for both batches
    for case, result in zip(CASES, results):
        expected = _keras_result(case[0], True)
        np.testing.assert_allclose(np.asarray(result), expected, rtol=RTOL,
                                   atol=ATOL, err_msg=case[0])
    # States are pytrees of arrays.
    for state in states:
        assert all(isinstance(leaf, jax.Array)
                   for leaf in jax.tree.leaves(state))


def test_mean_tracks_weighted_values_and_scalar_losses():
    mean, twin = metrics.Mean(), keras.metrics.Mean()
    state = mean.init_state()
    update = jax.jit(mean.update)
    for values, weight in [(2.0, None), (np.array([1.0, 2.0, 3.0]),
                                         np.array([1.0, 0.0, 2.0])),
                           (4.0, 3.0)]:
        state = mean.update(state, values, sample_weight=weight)
        twin.update_state(values, sample_weight=weight)
    np.testing.assert_allclose(float(mean.compute(state)),
                               float(twin.result()), rtol=RTOL)
    # Loss tracking as the trainer does it: scalar loss, batch-size weight.
    state = update(mean.init_state(), jnp.float32(0.5), jnp.float32(8.0))
    state = update(state, jnp.float32(1.0), jnp.float32(2.0))
    np.testing.assert_allclose(float(mean.compute(state)), 0.6, rtol=RTOL)
    assert float(metrics.Mean().result()) == 0.0  # no data -> 0, not NaN


def test_auc_multi_label_builds_lazily_in_eager_mode():
    metric, twin = metrics.AUC(multi_label=True), keras.metrics.AUC(
        multi_label=True)
    for batch in BATCHES:
        metric.update_state(batch["multi_hot"], batch["probs"])
        twin.update_state(batch["multi_hot"], batch["probs"])
    np.testing.assert_allclose(float(metric.result()), float(twin.result()),
                               rtol=RTOL)
    with pytest.raises(ValueError, match="num_labels"):
        metrics.AUC(multi_label=True).init_state()


@pytest.mark.parametrize(
    "loss, expected_cls",
    [
        ("sparse_categorical_crossentropy",
         metrics.SparseCategoricalAccuracy),
        (losses.SparseCategoricalCrossentropy(from_logits=True),
         metrics.SparseCategoricalAccuracy),
        (losses.sparse_categorical_crossentropy,
         metrics.SparseCategoricalAccuracy),
        ("categorical_crossentropy", metrics.CategoricalAccuracy),
        (losses.CategoricalCrossentropy(), metrics.CategoricalAccuracy),
        ("binary_crossentropy", metrics.BinaryAccuracy),
        ("bce", metrics.BinaryAccuracy),
        (losses.BinaryCrossentropy(from_logits=True), metrics.BinaryAccuracy),
        ("mse", metrics.AutoAccuracy),
        (None, metrics.AutoAccuracy),
    ],
)
@pytest.mark.parametrize("identifier", ["accuracy", "acc"])
def test_get_accuracy_resolved_by_loss(identifier, loss, expected_cls):
    metric = metrics.get(identifier, loss=loss)
    assert type(metric) is expected_cls
    assert metric.name == identifier


def test_auto_accuracy_follows_keras_shape_rule():
    metric = metrics.get("accuracy")
    batch = BATCHES[0]
    for y_true, y_pred, twin in [
        (batch["bin_true"], batch["bin_pred"], keras.metrics.BinaryAccuracy()),
        (batch["labels"], batch["probs"],
         keras.metrics.SparseCategoricalAccuracy()),
        (batch["onehot"], batch["probs"], keras.metrics.CategoricalAccuracy()),
    ]:
        metric.reset_state()
        metric.update_state(y_true, y_pred)
        twin.update_state(y_true, y_pred)
        np.testing.assert_allclose(float(metric.result()),
                                   float(twin.result()), rtol=RTOL)


@pytest.mark.parametrize(
    "name, cls",
    [
        ("mae", metrics.MeanAbsoluteError),
        ("mse", metrics.MeanSquaredError),
        ("mean_squared_error", metrics.MeanSquaredError),
        ("rmse", metrics.RootMeanSquaredError),
        ("root_mean_squared_error", metrics.RootMeanSquaredError),
        ("precision", metrics.Precision),
        ("recall", metrics.Recall),
        ("auc", metrics.AUC),
        ("AUC", metrics.AUC),
        ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy),
        ("sparse_top_k_categorical_accuracy",
         metrics.SparseTopKCategoricalAccuracy),
        ("binary_accuracy", metrics.BinaryAccuracy),
        ("categorical_accuracy", metrics.CategoricalAccuracy),
        ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy),
        ("BinaryAccuracy", metrics.BinaryAccuracy),
    ],
)
def test_get_by_name_keeps_the_given_name(name, cls):
    metric = metrics.get(name)
    assert type(metric) is cls
    assert metric.name == name


def test_get_instances_callables_and_unknown_names():
    auc = metrics.AUC(curve="PR", name="pr_auc")
    assert metrics.get(auc) is auc
    assert metrics.get(metrics.Recall).name == "recall"

    def my_metric(y_true, y_pred):
        return jnp.abs(y_true - y_pred)[..., 0]

    wrapped = metrics.get(my_metric)
    assert wrapped.name == "my_metric"
    wrapped.update_state(np.ones((4, 1)), np.zeros((4, 1)))
    assert float(wrapped.result()) == 1.0
    with pytest.raises(ValueError) as info:
        metrics.get("acuracy")
    assert "acuracy" in str(info.value) and "precision" in str(info.value)


def test_default_names_and_config():
    assert metrics.Precision().name == "precision"
    assert metrics.AUC().name == "auc"
    assert metrics.SparseTopKCategoricalAccuracy().name == \
        "sparse_top_k_categorical_accuracy"
    config = metrics.AUC(num_thresholds=50, curve="PR").get_config()
    assert config["num_thresholds"] == 50 and config["curve"] == "PR"
    assert metrics.AUC.from_config(config).get_config() == config
    config = metrics.Precision(thresholds=[0.3, 0.6], name="p").get_config()
    assert metrics.Precision.from_config(config).thresholds == [0.3, 0.6]
