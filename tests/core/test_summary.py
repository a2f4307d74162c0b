"""summary(): options, functional layout, shape-only evaluation, counts never mix in optimizer."""

import numpy as np

import thawnet
from thawnet import layers as tl
from thawnet.models import Model, Sequential


def _lines(model, **kwargs):
    out = []
    model.summary(print_fn=out.append, **kwargs)
    return out


def test_summary_of_a_100_million_parameter_model_allocates_nothing():
    model = Sequential([tl.Input(shape=(10_000,)), tl.Dense(10_000)])
    lines = _lines(model)
    assert "Total params: 100,010,000" in lines
    assert not any(v.is_materialized for v in model.weights)


def test_functional_summary_has_a_connected_to_column_and_98_characters():
    a, b = tl.Input(shape=(3,), name="a"), tl.Input(shape=(3,), name="b")
    shared = tl.Dense(2, name="shared")
    model = Model([a, b], tl.Add(name="sum")([shared(a), shared(b)]), name="m")
    lines = _lines(model)
    header = [line for line in lines if line.startswith("Layer (type)")][0]
    assert header.rstrip().endswith("Connected to") and len(lines[1]) == 98
    row = [line for line in lines if line.startswith("sum (Add)")][0]
    assert "shared[0][0]" in row
    assert any(line.strip() == "shared[1][0]" for line in lines)
    assert [line for line in lines if line.startswith("shared (Dense)")][0].split()[2] == "multiple"
    assert "Total params: 8" in lines


def test_show_trainable_and_expand_nested():
    inner = Sequential([tl.Input(shape=(4,)), tl.Dense(3, name="inner_dense")], name="inner")
    inner.trainable = False
    x = tl.Input(shape=(4,))
    model = Model(x, tl.Dense(1, name="top")(inner(x)), name="outer")
    lines = _lines(model, show_trainable=True, expand_nested=True)
    inner_row = [line for line in lines if line.startswith("inner (Sequential)")][0]
    assert inner_row.rstrip().endswith("N")
    assert any(line.startswith("| inner_dense (Dense)") for line in lines)
    assert [line for line in lines if line.startswith("top (Dense)")][0].rstrip().endswith("Y")


def test_explain_accounts_for_every_non_trainable_parameter():
    model = Sequential([tl.Input(shape=(5,)), tl.Dense(4, name="frozen", trainable=False),
                        tl.BatchNormalization(name="bn"), tl.Dense(1, name="head")])
    lines = _lines(model, explain=True)
    explained = [line.strip() for line in lines[lines.index("Non-trainable params explained:") + 1:]
                 if "=" in line and not set(line) <= {"_"}]
    assert explained == [
        "24 = frozen (kernel + bias), frozen by trainable=False",
        "8 = moving_mean + moving_variance of bn (statistics, updated by moving average)"]
    assert sum(int(e.split(" = ")[0].replace(",", "")) for e in explained) == 32
    assert "Non-trainable params: 32" in lines


def test_optimizer_state_is_reported_apart_and_never_in_the_totals():
    model = Sequential([tl.Input(shape=(3,)), tl.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3), "f4"), np.ones((4, 2), "f4"), verbose=0)
    lines = _lines(model)
    assert "Total params: 8" in lines and "Trainable params: 8" in lines
    optimizer_line = [line for line in lines if line.startswith("Optimizer params:")][0]
    assert int(optimizer_line.split()[2].replace(",", "")) >= 16  # Adam: two moments per weight


def test_summary_never_changes_batch_normalization_statistics():
    model = Sequential([tl.Input(shape=(3,)), tl.BatchNormalization()])
    model(np.ones((2, 3), "f4"))
    before = [w.copy() for w in model.get_weights()]
    _lines(model, explain=True, show_trainable=True)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    thawnet.clear_session()
