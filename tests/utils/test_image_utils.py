"""load_img / img_to_array / array_to_img / save_img equal Keras 3's; plot_model names pydot
when it is missing and labels each layer trainable / frozen by thawnet's rule."""

import sys
import types

import keras
import numpy as np
import pytest

import thawnet
from thawnet import utils


def test_image_helpers_equal_keras(tmp_path):
    x = np.random.default_rng(0).uniform(0, 300, (5, 7, 3)).astype("float32")
    path = str(tmp_path / "a.png")
    utils.save_img(path, x)
    for kwargs in ({}, {"color_mode": "grayscale"}, {"target_size": (4, 3)},
                   {"target_size": (4, 6), "interpolation": "bilinear",
                    "keep_aspect_ratio": True}, {"color_mode": "rgba"}):
        ours, theirs = utils.load_img(path, **kwargs), keras.utils.load_img(path, **kwargs)
        assert ours.mode == theirs.mode and ours.size == theirs.size
        np.testing.assert_array_equal(utils.img_to_array(ours), keras.utils.img_to_array(theirs))
    np.testing.assert_array_equal(np.asarray(utils.array_to_img(x, scale=False)),
                                  np.asarray(keras.utils.array_to_img(x, scale=False)))
    np.testing.assert_array_equal(np.asarray(utils.array_to_img(x[..., :1])),
                                  np.asarray(keras.utils.array_to_img(x[..., :1])))
    first = utils.img_to_array(utils.load_img(path), data_format="channels_first")
    assert first.shape == (3, 5, 7)
    with pytest.raises(ValueError, match=r"expected a single image of rank 3 .*shape \(5, 7\)"):
        utils.array_to_img(x[..., 0])


def _model():
    inputs = thawnet.Input((4,))
    hidden = thawnet.layers.Dense(3, name="frozen_dense")(inputs)
    outputs = thawnet.layers.Dense(2, name="head")(thawnet.layers.Dropout(0.1)(hidden))
    model = thawnet.Model(inputs, outputs)
    model.get_layer("frozen_dense").trainable = False
    return model


def test_plot_model_without_pydot_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pydot", None)
    with pytest.raises(ImportError, match=r"pip install pydot.*Graphviz"):
        utils.plot_model(_model(), to_file=str(tmp_path / "m.png"))


def test_model_to_dot_draws_layers_edges_and_trainability(monkeypatch):
    made = {"nodes": [], "edges": []}

    class Graph:
        def __init__(self, **kwargs):
            self.attrs = dict(kwargs)

        def set(self, key, value):
            self.attrs[key] = value

        def set_node_defaults(self, **kwargs):
            pass

        def add_node(self, node):
            made["nodes"].append(node)

        def add_edge(self, edge):
            made["edges"].append(edge)

    fake = types.SimpleNamespace(
        Dot=Graph, Cluster=Graph,
        Node=lambda name, label: types.SimpleNamespace(name=name, label=label),
        Edge=lambda a, b: (a, b))
    monkeypatch.setitem(sys.modules, "pydot", fake)
    model = _model()
    dot = utils.model_to_dot(model, show_trainable=True, show_shapes=True, rankdir="LR")
    assert dot.attrs["rankdir"] == "LR"
    labels = {n.name: n.label for n in made["nodes"]}
    by_layer = {layer.name: labels[str(id(layer))] for layer in model.layers}
    assert "frozen" in by_layer["frozen_dense"] and "trainable" in by_layer["head"]
    assert "no weights" in by_layer[model.layers[2].name]  # the Dropout
    assert "(None, 3)" in by_layer["frozen_dense"]
    chain = [str(id(layer)) for layer in model.layers]
    assert made["edges"] == list(zip(chain, chain[1:]))
