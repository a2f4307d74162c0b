"""Parity of thawnet.losses with keras.losses (the oracle, JAX backend)."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from thawnet import losses

RTOL = 1e-5
ATOL = 1e-7
N, C = 6, 4


def _data():
    rng = np.random.default_rng(1234)
    labels = rng.integers(0, C, N)
    return {
        "probs": rng.dirichlet(np.ones(C), N).astype("float32"),
        "unit": rng.uniform(0.02, 0.98, (N, C)).astype("float32"),
        "logits": (rng.normal(size=(N, C)) * 2).astype("float32"),
        "binary": (rng.uniform(size=(N, C)) > 0.5).astype("float32"),
        "onehot": np.eye(C, dtype="float32")[labels],
        "labels": labels.astype("int32"),
        "labels_col": labels[:, None].astype("int32"),
        "signs": rng.choice([-1.0, 1.0], (N, C)).astype("float32"),
        "real_a": rng.normal(size=(N, C)).astype("float32"),
        "real_b": (rng.normal(size=(N, C)) * 2).astype("float32"),
        "bin_col": (rng.uniform(size=(N,)) > 0.5).astype("float32"),
        "prob_col": rng.uniform(0.02, 0.98, (N, 1)).astype("float32"),
        "weights": rng.uniform(0.0, 2.0, N).astype("float32"),
    }


DATA = _data()

# (id, class name, constructor kwargs, y_true key, y_pred key)
CASES = [
    ("bce", "BinaryCrossentropy", {}, "binary", "unit"),
    ("bce_logits", "BinaryCrossentropy", {"from_logits": True}, "binary",
     "logits"),
    ("bce_smooth", "BinaryCrossentropy", {"label_smoothing": 0.2}, "binary",
     "unit"),
    ("bce_logits_smooth", "BinaryCrossentropy",
     {"from_logits": True, "label_smoothing": 0.1}, "binary", "logits"),
    ("bce_rank1_true", "BinaryCrossentropy", {}, "bin_col", "prob_col"),
    ("cce", "CategoricalCrossentropy", {}, "onehot", "probs"),
    ("cce_logits", "CategoricalCrossentropy", {"from_logits": True},
     "onehot", "logits"),
    ("cce_smooth", "CategoricalCrossentropy", {"label_smoothing": 0.1},
     "onehot", "unit"),
    ("cce_logits_smooth_axis0", "CategoricalCrossentropy",
     {"from_logits": True, "label_smoothing": 0.3, "axis": 0}, "onehot",
     "logits"),
    ("scce", "SparseCategoricalCrossentropy", {}, "labels", "probs"),
    ("scce_logits", "SparseCategoricalCrossentropy", {"from_logits": True},
     "labels", "logits"),
    ("scce_col", "SparseCategoricalCrossentropy", {"from_logits": True},
     "labels_col", "logits"),
    ("scce_ignore", "SparseCategoricalCrossentropy",
     {"from_logits": True, "ignore_class": 2}, "labels", "logits"),
    ("mse", "MeanSquaredError", {}, "real_a", "real_b"),
    ("mae", "MeanAbsoluteError", {}, "real_a", "real_b"),
    ("huber", "Huber", {}, "real_a", "real_b"),
    ("huber_delta", "Huber", {"delta": 0.4}, "real_a", "real_b"),
    ("hinge_binary", "Hinge", {}, "binary", "logits"),
    ("hinge_signs", "Hinge", {}, "signs", "logits"),
    ("kld", "KLDivergence", {}, "probs", "unit"),
    ("cosine", "CosineSimilarity", {}, "real_a", "real_b"),
    ("cosine_axis0", "CosineSimilarity", {"axis": 0}, "real_a", "real_b"),
]


@pytest.mark.parametrize("reduction",
                         ["sum_over_batch_size", "sum", "none", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_loss_class_matches_keras(case, weighted, reduction):
    _, cls_name, kwargs, true_key, pred_key = case
    y_true, y_pred = DATA[true_key], DATA[pred_key]
    sample_weight = DATA["weights"] if weighted else None
    if weighted and "axis" in kwargs:
        sample_weight = DATA["weights"][:C]  # losses are per column then
    expected = getattr(keras.losses, cls_name)(reduction=reduction, **kwargs)(
        y_true, y_pred, sample_weight=sample_weight
    )
    got = getattr(losses, cls_name)(reduction=reduction, **kwargs)(
        y_true, y_pred, sample_weight=sample_weight
    )
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected),
                               rtol=RTOL, atol=ATOL)
    if reduction != "none":
        assert np.shape(got) == ()


FUNCTIONS = [
    ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.1},
     "binary", "logits"),
    ("categorical_crossentropy", {"label_smoothing": 0.1}, "onehot",
     "probs"),
    ("sparse_categorical_crossentropy", {"from_logits": True}, "labels",
     "logits"),
    ("mean_squared_error", {}, "real_a", "real_b"),
    ("mean_absolute_error", {}, "real_a", "real_b"),
    ("huber", {"delta": 0.5}, "real_a", "real_b"),
    ("hinge", {}, "binary", "logits"),
    ("kl_divergence", {}, "probs", "unit"),
    ("cosine_similarity", {}, "real_a", "real_b"),
]


@pytest.mark.parametrize("case", FUNCTIONS, ids=[c[0] for c in FUNCTIONS])
def test_loss_function_matches_keras(case):
    name, kwargs, true_key, pred_key = case
    y_true, y_pred = DATA[true_key], DATA[pred_key]
    expected = getattr(keras.losses, name)(y_true, y_pred, **kwargs)
    got = getattr(losses, name)(y_true, y_pred, **kwargs)
    assert got.shape == (N,)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected),
                               rtol=RTOL, atol=ATOL)


def test_losses_work_under_jit_and_grad():
    chosen = [
        (losses.CategoricalCrossentropy(from_logits=True,
                                        label_smoothing=0.1), "onehot"),
        (losses.SparseCategoricalCrossentropy(from_logits=True,
                                              ignore_class=0), "labels"),
        (losses.BinaryCrossentropy(from_logits=True), "binary"),
        (losses.Huber(delta=0.5), "real_a"),
        (losses.Hinge(), "binary"),
    ]
    keras_twins = [
        keras.losses.CategoricalCrossentropy(from_logits=True,
                                             label_smoothing=0.1),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                   ignore_class=0),
        keras.losses.BinaryCrossentropy(from_logits=True),
        keras.losses.Huber(delta=0.5),
        keras.losses.Hinge(),
    ]

    @jax.jit
    def all_losses(logits, weights):
        def total(x):
            return sum(
                loss(DATA[key], x, sample_weight=weights)
                for loss, key in chosen
            )
        values = [loss(DATA[k], logits, sample_weight=weights)
                  for loss, k in chosen]
        return values, jax.grad(total)(logits)

    values, grad = all_losses(DATA["logits"], DATA["weights"])
    for value, twin, (_, key) in zip(values, keras_twins, chosen):
        expected = twin(DATA[key], DATA["logits"],
                        sample_weight=DATA["weights"])
        np.testing.assert_allclose(float(value), float(expected), rtol=RTOL)
    assert grad.shape == DATA["logits"].shape
    assert bool(jnp.all(jnp.isfinite(grad)))


@pytest.mark.parametrize(
    "name, cls, kwargs",
    [
        ("mse", losses.MeanSquaredError, {}),
        ("MSE", losses.MeanSquaredError, {}),
        ("mean_squared_error", losses.MeanSquaredError, {}),
        ("mae", losses.MeanAbsoluteError, {}),
        ("mean_absolute_error", losses.MeanAbsoluteError, {}),
        ("categorical_crossentropy", losses.CategoricalCrossentropy, {}),
        ("sparse_categorical_crossentropy",
         losses.SparseCategoricalCrossentropy, {}),
        ("binary_crossentropy", losses.BinaryCrossentropy, {}),
        ("bce", losses.BinaryCrossentropy, {}),
        ("huber", losses.Huber, {}),
        ("hinge", losses.Hinge, {}),
        ("kl_divergence", losses.KLDivergence, {}),
        ("kld", losses.KLDivergence, {}),
        ("cosine_similarity", losses.CosineSimilarity, {}),
        ("CategoricalCrossentropy", losses.CategoricalCrossentropy, {}),
    ],
)
def test_get_by_name(name, cls, kwargs):
    loss = losses.get(name)
    assert isinstance(loss, cls)
    # Named after the identifier, as Keras's compile names it; class names
    # give the class's default name.
    expected_name = "categorical_crossentropy" if name[0].isupper() and \
        not name.isupper() else name
    assert loss.name == expected_name


def test_get_passes_instances_and_wraps_callables():
    instance = losses.Huber(delta=2.0)
    assert losses.get(instance) is instance
    assert isinstance(losses.get(losses.Hinge), losses.Hinge)

    def my_loss(y_true, y_pred):
        return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)

    wrapped = losses.get(my_loss)
    assert isinstance(wrapped, losses.Loss) and wrapped.name == "my_loss"
    expected = keras.losses.MeanAbsoluteError()(DATA["real_a"],
                                                DATA["real_b"])
    np.testing.assert_allclose(
        float(wrapped(DATA["real_a"], DATA["real_b"])), float(expected),
        rtol=RTOL)
    assert losses.get(None) is None


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as info:
        losses.get("mean_sqared_error")
    message = str(info.value)
    assert "mean_sqared_error" in message
    for valid in ("mse", "categorical_crossentropy", "huber", "kld"):
        assert valid in message


def test_get_config_round_trip():
    loss = losses.CategoricalCrossentropy(from_logits=True,
                                          label_smoothing=0.2,
                                          reduction="sum", name="cce")
    config = loss.get_config()
    assert config == {"name": "cce", "reduction": "sum", "from_logits": True,
                      "label_smoothing": 0.2, "axis": -1}
    clone = losses.get({"class_name": "CategoricalCrossentropy",
                        "config": config})
    np.testing.assert_allclose(
        float(clone(DATA["onehot"], DATA["logits"])),
        float(loss(DATA["onehot"], DATA["logits"])))
    for cls in (losses.MeanSquaredError, losses.MeanAbsoluteError,
                losses.Huber, losses.Hinge, losses.KLDivergence,
                losses.CosineSimilarity, losses.BinaryCrossentropy,
                losses.SparseCategoricalCrossentropy):
        assert cls.from_config(cls().get_config()).get_config() == \
            cls().get_config()


def test_invalid_reduction():
    with pytest.raises(ValueError):
        losses.MeanSquaredError(reduction="average")
