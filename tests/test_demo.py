"""`thawnet demo`: the transfer-learning recipe, each stage proven by its audit and explanation.

The default run uses the fast mode (few epochs: what is asserted is what each stage froze,
trained and explained, bit for bit); the full demo, its accuracies and the LoRA stage are
slow tests (THAWNET_FULL=1).
"""

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")
pytest.importorskip("PIL")


def _verdicts(audit, prefix):
    return {e.path[len(prefix):]: e.verdict for e in audit.entries if e.path.startswith(prefix)}


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory):
    from thawnet import demo

    lines = []
    out = tmp_path_factory.mktemp("demo") / "curves.png"
    result = demo.run(epochs_a=2, epochs_b=1, epochs_fine=1, out=str(out), verbose=0,
                      print_fn=lines.append)
    return result, lines, out


@pytest.fixture(scope="module")
def full_run():
    from thawnet import demo

    lines = []
    return demo.run(lora=True, out=None, verbose=0, print_fn=lines.append), lines


def test_stage_1_keeps_the_frozen_base_bit_identical(fast_run):
    result, lines, _ = fast_run
    assert result["base_intact"] is True
    base = _verdicts(result["audit"], "base/")
    assert len(base) == 10 and set(base.values()) == {"unchanged"}
    assert set(_verdicts(result["audit"], "head_b/").values()) == {"parameter trained"}
    assert ('  192 = moving_mean + moving_variance of 2 BatchNormalization layers (statistics '
            'frozen with "base")') in lines


def test_stage_2_trains_the_top_block_with_batch_normalization_in_inference_mode(fast_run):
    result, lines, _ = fast_run
    assert _verdicts(result["audit_fine"], "base/") == {
        "block1_conv/kernel": "unchanged", "block1_bn/gamma": "unchanged",
        "block1_bn/beta": "unchanged", "block1_bn/moving_mean": "unchanged",
        "block1_bn/moving_variance": "unchanged",
        "block2_conv/kernel": "parameter trained", "block2_bn/gamma": "parameter trained",
        "block2_bn/beta": "parameter trained", "block2_bn/moving_mean": "unchanged",
        "block2_bn/moving_variance": "unchanged"}
    stage_2 = lines[lines.index("\n-- Stage 2: the model as it trained, every non-trainable "
                                "parameter explained"):]
    explained = stage_2[stage_2.index("Non-trainable params explained:") + 1:][:4]
    assert explained == [
        "  288 = block1_conv (kernel), frozen by trainable=False",
        "  64 = block1_bn (gamma + beta), frozen by trainable=False",
        "  64 = moving_mean + moving_variance of block1_bn (statistics frozen by "
        "trainable=False)",
        '  128 = moving_mean + moving_variance of block2_bn (statistics in inference mode: '
        '"base" is called with training=False)']


@pytest.mark.slow
def test_stage_3_trains_only_the_lora_factors_and_the_head(full_run):
    result, lines = full_run
    trained = {p for p, v in _verdicts(result["audit_lora"], "").items()
               if v == "parameter trained"}
    assert trained == {"base/block1_conv/lora_kernel_a", "base/block1_conv/lora_kernel_b",
                       "base/block2_conv/lora_kernel_a", "base/block2_conv/lora_kernel_b",
                       "head_b/kernel", "head_b/bias"}
    assert "  18,720 = kernel of 2 Conv2D layers, frozen by enable_lora" in lines


def test_accuracies_are_printed_and_all_stages_plotted(fast_run):
    result, lines, out = fast_run
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = [line for line in lines if line.startswith("task B, stage 2")]
    assert printed == [f"task B, stage 2 (top block fine-tuned, 10x lower learning rate): "
                       f"{result['accuracy_b_fine']:.3f}"]


@pytest.mark.slow
def test_full_demo_reaches_the_recorded_accuracies(full_run):
    result, _ = full_run
    # Measured (seed 0): task A 0.988, stage 1 0.981, stage 2 0.994, stage 3 (LoRA) 0.994.
    assert result["accuracy_a"] > 0.95
    assert result["accuracy_b_fine"] >= 0.95 and result["accuracy_b_fine"] >= result[
        "accuracy_b"]
    assert result["accuracy_b_lora"] > 0.9
    assert result["base_intact"] is True
