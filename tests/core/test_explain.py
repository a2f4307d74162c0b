"""The grouped explanation of summary(explain=...) and thawnet.explain: every reason, exact text."""

import pytest

import thawnet
from thawnet import layers as tl
from thawnet.models import Model, Sequential


def _explained(model, explain=True):
    lines = []
    model.summary(explain=explain, print_fn=lines.append)
    start = lines.index("Non-trainable params explained:") + 1
    return [line.strip() for line in lines[start:-1]]


@pytest.fixture(scope="module")
def inception():
    return thawnet.applications.InceptionV3(include_top=False, input_shape=(75, 75, 3))


def test_inception_v3_grouped_explain_is_one_line_for_94_batch_normalizations(inception):
    assert _explained(inception) == [
        "34,432 = moving_mean + moving_variance of 94 BatchNormalization layers (statistics, "
        "updated by moving average)"]
    full = _explained(inception, explain="full")
    assert len(full) == 94 and full[0] == (
        "64 = moving_mean + moving_variance of batch_normalization (statistics, updated by "
        "moving average)")


def test_inception_v3_frozen_up_to_mixed7_groups_by_reason_and_class_in_model_order(inception):
    thawnet.freeze(inception, up_to="mixed7")
    try:
        assert _explained(inception) == [
            "8,947,040 = kernel of 70 Conv2D layers, frozen by trainable=False",
            "9,408 = beta of 70 BatchNormalization layers, frozen by trainable=False",
            "18,816 = moving_mean + moving_variance of 70 BatchNormalization layers (statistics "
            "frozen by trainable=False)",
            "15,616 = moving_mean + moving_variance of 24 BatchNormalization layers (statistics, "
            "updated by moving average)"]
    finally:
        thawnet.unfreeze(inception)


def test_inception_v3_frozen_inside_a_model_names_the_freezing_owner(inception):
    x = thawnet.Input((75, 75, 3))
    outer = Model(x, tl.Dense(2, name="head")(inception(x)))
    inception.trainable = False
    try:
        assert _explained(outer) == [
            '21,751,136 = kernel of 94 Conv2D layers, frozen by trainable=False on "inception_v3"',
            '17,216 = beta of 94 BatchNormalization layers, frozen by trainable=False on '
            '"inception_v3"',
            "34,432 = moving_mean + moving_variance of 94 BatchNormalization layers (statistics "
            'frozen with "inception_v3")']
        answer = thawnet.explain(outer, "inception_v3/batch_normalization_5/moving_mean")
        assert (answer.trainable, answer.role, answer.frozen_by) == (False, "statistic",
                                                                     "inception_v3")
    finally:
        inception.trainable = True


class Counter(tl.Layer):
    """Keras 3 style state: add_weight(trainable=False) is a weight the layer updates itself."""

    def build(self, input_shape):
        self.calls = self.add_weight(name="calls", shape=(), initializer="zeros",
                                     trainable=False)

    def call(self, inputs):
        return inputs


@pytest.fixture()
def every_reason():
    inner = Sequential([tl.Input(shape=(4,)), tl.Dense(4, name="inner_dense"),
                        tl.BatchNormalization(name="inner_bn")], name="inner")
    x = tl.Input(shape=(4,))
    h = tl.Dense(4, name="frozen_a", trainable=False)(x)
    h = tl.Dense(4, name="frozen_b", trainable=False)(h)
    h = tl.BatchNormalization(name="bn")(h)
    h = inner(h)
    lora = tl.Dense(3, name="adapted")
    h = Counter(name="counter")(lora(h))
    model = Model(x, h, name="m")
    lora.enable_lora(2)
    inner.trainable = False
    return model


def test_every_reason_has_its_phrase_grouped_by_class(every_reason):
    assert _explained(every_reason) == [
        "40 = kernel + bias of 2 Dense layers, frozen by trainable=False",
        "8 = moving_mean + moving_variance of bn (statistics, updated by moving average)",
        '20 = inner_dense (kernel + bias), frozen by trainable=False on "inner"',
        '8 = inner_bn (gamma + beta), frozen by trainable=False on "inner"',
        '8 = moving_mean + moving_variance of inner_bn (statistics frozen with "inner")',
        "12 = adapted (kernel), frozen by enable_lora",
        "1 = calls: non-trainable weight of counter (created with trainable=False)"]
    assert "Non-trainable params: 97" in _lines(every_reason)
    assert len(_explained(every_reason, explain="full")) == 8  # frozen_a and frozen_b apart


def _lines(model):
    out = []
    model.summary(print_fn=out.append)
    return out


def test_explain_answers_one_weight_with_role_own_flag_and_freezing_owner(every_reason):
    m = every_reason
    answers = {p: thawnet.explain(m, p) for p in (
        "bn/gamma", "bn/moving_mean", "frozen_a/kernel", "inner/inner_dense/kernel",
        "inner/inner_bn/moving_variance", "adapted/kernel", "adapted/lora_kernel_a",
        "counter/calls")}
    table = {p: (a.trainable, a.role, a.own_trainable, a.frozen_by) for p, a in answers.items()}
    assert table == {
        "bn/gamma": (True, "parameter", True, None),
        "bn/moving_mean": (False, "statistic", False, None),
        # A layer's flag freezes its weights; their own flags stay set.
        "frozen_a/kernel": (False, "parameter", True, "frozen_a"),
        "inner/inner_dense/kernel": (False, "parameter", True, "inner"),
        "inner/inner_bn/moving_variance": (False, "statistic", False, "inner"),
        "adapted/kernel": (False, "parameter", False, "enable_lora"),
        "adapted/lora_kernel_a": (True, "parameter", True, None),
        "counter/calls": (False, "statistic", False, None)}
    assert str(answers["inner/inner_dense/kernel"]) == (
        'inner/inner_dense/kernel: not trainable (parameter): frozen by trainable=False on '
        '"inner"')
    assert str(answers["bn/gamma"]) == (
        "bn/gamma: trainable (parameter): a parameter whose own flag and every owner's flag "
        "are set: trained by gradients")


def test_explain_answers_for_a_layer_by_name_path_or_object(every_reason):
    m = every_reason
    by_name = thawnet.explain(m, "inner_bn")
    assert by_name == thawnet.explain(m, "inner/inner_bn")
    assert by_name == thawnet.explain(m, m.get_layer("inner").get_layer("inner_bn"))
    assert str(by_name).splitlines() == [
        'inner/inner_bn: frozen by trainable=False on "inner"',
        '  inner/inner_bn/gamma: not trainable (parameter): frozen by trainable=False on "inner"',
        '  inner/inner_bn/beta: not trainable (parameter): frozen by trainable=False on "inner"',
        '  inner/inner_bn/moving_mean: not trainable (statistic): statistics frozen with "inner"',
        '  inner/inner_bn/moving_variance: not trainable (statistic): statistics frozen with '
        '"inner"']
    assert by_name["gamma"].frozen_by == "inner"
    assert thawnet.explain(m, "bn").trainable is True
    assert thawnet.explain(m, m.get_layer("bn").gamma).path == "bn/gamma"


def test_explain_of_an_unknown_name_lists_the_closest():
    model = Sequential([tl.Input(shape=(2,)), tl.Dense(1, name="dense_out")], name="s")
    with pytest.raises(ValueError, match=r"""thawnet.explain: model "s" has no weight or layer """
                       r"""'dense_ot'. Give a weight path such as "dense_1/kernel" or a layer """
                       r"""name; closest: \['dense_out'"""):
        thawnet.explain(model, "dense_ot")


def test_summary_refuses_an_unknown_explain_mode():
    model = Sequential([tl.Input(shape=(2,)), tl.Dense(1)], name="s")
    with pytest.raises(ValueError, match=r'explain must be True .*, "full" .* or False; '
                                         r"received explain='all'"):
        model.summary(explain="all", print_fn=lambda line: None)


def test_trainable_column_reads_the_one_rule():
    inner = Sequential([tl.Input(shape=(3,)), tl.Dense(2, name="thawed")], name="inner")
    x = tl.Input(shape=(3,))
    outer = Model(x, inner(x), name="outer")
    outer.trainable = False
    inner.get_layer("thawed").trainable = True  # still frozen: its owners are
    out = []
    outer.summary(show_trainable=True, expand_nested=True, print_fn=out.append)
    row = [line for line in out if line.startswith("| thawed (Dense)")][0]
    assert row.rstrip().endswith("N")
    assert thawnet.explain(outer, "inner/thawed/kernel").frozen_by == "outer"
