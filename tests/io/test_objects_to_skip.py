"""``save_weights`` / ``load_weights`` with ``objects_to_skip`` as Keras 3: the skipped layers'
weights are left out of the file (the same groups as Keras's file) and left untouched on
load; other formats refuse the argument."""

import h5py
import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl


def _groups(path):
    names = []
    with h5py.File(path) as f:
        f.visit(lambda n: names.append(n) if isinstance(f[n], h5py.Dataset) else None)
    return sorted(names)


def _thawnet():
    return thawnet.Sequential([tl.Input(shape=(3,)), tl.Dense(5), tl.Dense(5)])


def _keras():
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(5), keras.layers.Dense(5)])


def test_skipped_layer_is_left_out_like_keras(tmp_path):
    ours, theirs = str(tmp_path / "t.weights.h5"), str(tmp_path / "k.weights.h5")
    model = _thawnet()
    model.save_weights(ours, objects_to_skip=[model.layers[0]])
    k = _keras()
    keras.saving.save_weights(k, theirs, objects_to_skip=[k.layers[0]])
    assert _groups(ours) == [n for n in _groups(theirs) if not n.startswith("optimizer")]
    assert _groups(ours) == ["layers/dense_1/vars/0", "layers/dense_1/vars/1"]
    # Keras reads thawnet's file with the same skip.
    k2 = _keras()
    k2.load_weights(ours, objects_to_skip=[k2.layers[0]])
    np.testing.assert_array_equal(k2.layers[1].get_weights()[0],
                                  np.asarray(model.layers[1].kernel.value))


def test_load_with_skip_leaves_the_layer_alone(tmp_path):
    path = str(tmp_path / "all.weights.h5")
    source = _thawnet()
    source.save_weights(path)
    target = _thawnet()
    kept = np.array(target.layers[0].kernel.value)
    target.load_weights(path, objects_to_skip=[target.layers[0]])
    np.testing.assert_array_equal(np.asarray(target.layers[0].kernel.value), kept)
    np.testing.assert_array_equal(np.asarray(target.layers[1].kernel.value),
                                  np.asarray(source.layers[1].kernel.value))


def test_other_formats_refuse_it(tmp_path):
    model = _thawnet()
    with pytest.raises(ValueError, match=r"objects_to_skip works with Keras 3 \.weights\.h5 "
                                         r"files only"):
        model.save_weights(str(tmp_path / "w.safetensors"), objects_to_skip=[model.layers[0]])
    with pytest.raises(ValueError, match=r"max_shard_size=1 \(sharded weight files\) is not "
                                         "supported"):
        model.save_weights(str(tmp_path / "w.weights.h5"), max_shard_size=1)
