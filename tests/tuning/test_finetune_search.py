"""FineTuneSearch: one pretrained base kept in memory, trials that change only its trainable
split, multipliers, LoRA and the head; the base restored bit-exact before every trial."""

import numpy as np
import pytest

optuna = pytest.importorskip("optuna", reason="thawnet.tuning needs optuna: pip install optuna")

import thawnet  # noqa: E402
from thawnet import layers  # noqa: E402
from thawnet.callbacks import Callback  # noqa: E402
from thawnet.tuning import FineTuneSearch  # noqa: E402
from thawnet.trainability.lr_multipliers import learning_rate_multipliers  # noqa: E402
from thawnet.models.summary import count_split  # noqa: E402
from thawnet.tuning import HyperParameters  # noqa: E402
from thawnet.tuning.finetune_space import apply_split, resolve_blocks  # noqa: E402

# Trials queued in this order: 2 repeats 0 exactly (same split, same head), 1 adds LoRA to
# the top block. (Each new split compiles a step: the test keeps to two.)
QUEUE = [
    {"unfreeze_top": 1, "learning_rate": 0.01, "base_lr_multiplier": 0.5, "lora_rank": 0},
    {"unfreeze_top": 1, "learning_rate": 0.01, "base_lr_multiplier": 0.5, "lora_rank": 2},
    {"unfreeze_top": 1, "learning_rate": 0.01, "base_lr_multiplier": 0.5, "lora_rank": 0},
]


def make_base():
    """A "pretrained" base of two blocks: Dense + BatchNormalization (a statistic) each."""
    thawnet.set_random_seed(5)
    inputs = thawnet.Input((6,))
    h = inputs
    for b in (1, 2):
        h = layers.Dense(8, name=f"block{b}_dense")(h)
        h = layers.BatchNormalization(name=f"block{b}_bn")(h)
        h = layers.Activation("relu", name=f"block{b}_relu")(h)
    base = thawnet.Model(inputs, h, name="base")
    rng = np.random.default_rng(1)
    base.set_weights([rng.normal(size=w.shape).astype("float32") * 0.5 + (w.ndim == 1)
                      for w in base.get_weights()])  # not an initialiser's values
    return base


def head(hp, features):
    return layers.Dense(3, activation="softmax", name="head")(features)


class BaseAtTrainBegin(Callback):
    """Records the base's weights (host copies) as each trial's fit starts."""

    def __init__(self, base, seen):
        super().__init__()
        self.base, self.seen = base, seen

    def __deepcopy__(self, memo):
        return self  # shared across trials: it collects every trial's start

    def on_train_begin(self, logs=None):
        self.seen.append({p: np.array(v.value) for p, v in
                          self.base.variables_by_path().items()})


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    base = make_base()
    pretrained = {p: np.array(v.value) for p, v in base.variables_by_path().items()}
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 6)).astype("float32")
    y = ((x[:, 0] > 0).astype("int32") + (x[:, 1] > 0)).astype("int32")
    search = FineTuneSearch(base, head, objective="val_accuracy", max_trials=len(QUEUE),
                            unfreeze_top=[0, 1, 2], learning_rates=[0.01],
                            lr_multipliers=[0.5], lora_ranks=[0, 2], sampler="random",
                            directory=str(tmp_path_factory.mktemp("ft")), seed=0)
    for params in QUEUE:
        search.study.enqueue_trial(params)
    seen = []
    search.search(x[:32], y[:32], validation_data=(x[32:], y[32:]), epochs=2, batch_size=16,
                  callbacks=[BaseAtTrainBegin(base, seen)])
    return search, base, pretrained, seen


def _same_bits(a, b):
    return a.shape == b.shape and np.array_equal(a.view(np.uint8), b.view(np.uint8))


def test_every_trial_starts_from_the_pretrained_base_bit_exact(searched):
    search, base, pretrained, seen = searched
    assert len(seen) == len(QUEUE)
    for start in seen:
        lora = {p for p in start if "lora" in p}
        assert set(start) - lora == set(pretrained)
        assert all(_same_bits(start[p], pretrained[p]) for p in pretrained)
    trials = search.trials()
    assert all(t.user_attrs["base_restored"] == "bit-exact (12 weights)" for t in trials)
    # The trials did train the base: a trial's saved weights differ from the pretrained ones.
    saved = np.load(trials[0].user_attrs["weights_path"])
    assert not np.array_equal(saved["arr_4"], pretrained["block2_dense/kernel"])


def test_after_the_search_the_base_is_pretrained_and_trainable_again(searched):
    _, base, pretrained, _ = searched
    now = {p: np.array(v.value) for p, v in base.variables_by_path().items()}
    assert set(now) == set(pretrained)
    assert all(_same_bits(now[p], pretrained[p]) for p in pretrained)
    assert all(layer.trainable for layer in base.layers)
    assert learning_rate_multipliers(base) == {}


def test_a_repeated_split_reuses_the_compiled_step_and_reproduces_the_trial(searched):
    search, _, _, _ = searched
    trials = search.trials()
    caches = [t.user_attrs["step_cache"] for t in trials]
    assert caches == ["compiled", "compiled", "reused"]
    assert len(search.models) == 1  # one head configuration: one model object
    # Same split, same restored weights, same optimizer start: the same result, bit for bit.
    first = np.load(trials[0].user_attrs["weights_path"])
    again = np.load(trials[2].user_attrs["weights_path"])
    for k in first.files:
        np.testing.assert_array_equal(first[k], again[k])
    assert trials[2].value == trials[0].value


def test_results_table_lists_trainable_counts_per_trial(searched, capsys):
    search, _, _, _ = searched
    search.results_summary(num_trials=len(QUEUE))
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[1].split()[:5] == ["trial", "state", "val_accuracy", "trainable_params",
                                    "non_trainable_params"]
    rows = {int(line.split()[0]): line.split() for line in lines[2:]}
    # head: 8*3+3 = 27. block: Dense 6*8+8 or 8*8+8, BN gamma/beta 16 + moving stats 16.
    expected = {
        0: (27 + 72 + 16, 56 + 32 + 16),        # top block trains (its BN stats do not)
        1: (27 + 8 + 16 + 16 + 16, 56 + 32 + 16 + 64),  # LoRA: 8x2 + 2x8 factors, kernel frozen
        2: (27 + 72 + 16, 56 + 32 + 16),
    }
    for number, (trainable, frozen) in expected.items():
        assert rows[number][3:5] == [f"{trainable:,}", f"{frozen:,}"], number
        trial = search.trials()[number]
        assert (trial.user_attrs["trainable_params"],
                trial.user_attrs["non_trainable_params"]) == (trainable, frozen)


def test_conditional_parameters_only_where_the_base_trains(searched):
    search, base, _, _ = searched
    trials = search.trials()
    assert set(trials[0].params) == {"unfreeze_top", "learning_rate", "base_lr_multiplier",
                                     "block_lr_decay", "lora_rank"}
    assert trials[1].user_attrs["lora_layers"] == 1
    assert trials[0].user_attrs["first_trained_layer"] == "block2_dense"
    assert trials[0].user_attrs["frozen_kept_bits"] == "4/4"  # block1: kernel, bias, gamma, beta
    # A frozen base asks nothing about multipliers or LoRA (no training needed to see it).
    hp = HyperParameters.from_values({"unfreeze_top": 0, "learning_rate": 0.01})
    assert search._ask_split(hp) == (0, 0.01, 1.0, 1.0, 0)
    assert set(hp.values) == {"unfreeze_top", "learning_rate"}
    try:
        apply_split(base, search.blocks, 0)
        assert [layer.trainable for layer in base.layers if layer.weights] == [False] * 4
        assert count_split(base)[1:] == (0, 56 + 32 + 72 + 32)
    finally:
        search.restore_base()


def test_best_model_has_the_best_trials_weights(searched):
    search, _, pretrained, _ = searched
    best = search.best_trial()
    model = search.best_model()
    saved = np.load(best.user_attrs["weights_path"])
    for k, weight in enumerate(model.get_weights()):
        np.testing.assert_array_equal(weight, saved[f"arr_{k}"])
    search.restore_base()


def test_blocks_resolve_by_name_layers_or_block_ends():
    base = make_base()
    assert resolve_blocks(base) == [["block1_dense", "block1_bn"], ["block2_dense", "block2_bn"]]
    assert resolve_blocks(base, "layers") == [["block1_dense"], ["block1_bn"], ["block2_dense"],
                                              ["block2_bn"]]
    assert resolve_blocks(base, ["block1_bn"]) == [["block1_dense", "block1_bn", "block2_dense",
                                                    "block2_bn"]]
    with pytest.raises(ValueError, match="not weighted top-level layers"):
        resolve_blocks(base, ["nope"])
    with pytest.raises(ValueError, match=r"unfreeze_top \[3\] exceeds the base's 2 blocks"):
        FineTuneSearch(base, head, unfreeze_top=[3])


def test_per_block_multipliers_decay_down_the_trained_blocks():
    base = make_base()
    blocks = resolve_blocks(base)
    apply_split(base, blocks, 2, multiplier=0.5, decay=0.1)
    assert learning_rate_multipliers(base) == {
        "block2_dense": 0.5, "block2_bn": 0.5,                      # the top block: m
        "block1_dense": pytest.approx(0.05), "block1_bn": pytest.approx(0.05)}  # next: m*d
    apply_split(base, blocks, 1)  # a later trial resets them
    assert learning_rate_multipliers(base) == {}
    assert [layer.trainable for layer in base.layers if layer.weights] == [False, False,
                                                                           True, True]
