"""The main job, `thawnet demo`, in a fast mode: the frozen base must come out bit-identical."""

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")


def test_demo_freezes_the_base_and_its_audit_proves_it(tmp_path):
    from thawnet import demo

    lines = []
    result = demo.run(epochs_a=4, epochs_b=2, out=str(tmp_path / "curves.png"), verbose=0,
                      print_fn=lines.append)
    assert result["base_intact"] is True
    base = [e for e in result["audit"].entries if e.path.startswith("base/")]
    assert len(base) == 10 and all(e.verdict == "unchanged" for e in base)
    assert {e.verdict for e in result["audit"].entries if e.path.startswith("head_b/")} == {
        "parameter trained"}
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = "\n".join(lines)
    assert "Non-trainable params: 4,944" in text
    assert ('32 = moving_mean + moving_variance of base_bn1 (statistics, frozen with "base": '
            "not updated)") in text
    assert result["accuracy_a"] > 0.5
