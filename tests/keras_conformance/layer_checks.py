"""``run_layer_test`` and ``run_class_serialization_test``, written for thawnet layers.

They check what Keras's versions check, in the same order: config round trip (and
serialization through ``thawnet.saving``), ``build(shape)`` marks the layer built with the
expected weight counts (trainable / non-trainable / seed generators), a symbolic call gives
the expected output shape and dtype, an eager call gives the expected values, one training
step under ``fit`` runs, and a ``mixed_float16`` layer computes in float16 with float32
weights.

Unlike Keras's, every stage runs even when an earlier one failed (each builds a fresh
layer); the first failure is raised as it was, with notes naming its stage and the other
failed stages.
The case passes only if every stage passes; no assertion is caught and dropped.
"""

from __future__ import annotations

import contextlib
import json
import traceback
import unittest

import jax.numpy as jnp

import thawnet

from . import backend_shim
from .layer_inputs import (default_dtypes, dtypes_match, eager_inputs, leaves, map_leaves,
                           shapes_match, symbolic_inputs)
from .missing import Missing
from .thawnet_modules import thawnet_module


class _Stages:
    """Runs named stages, keeps going after a failure, reports every failure at the end.

    The *first* failure is re-raised as it was (so ``assertRaises(ValueError)`` around a
    ``run_layer_test`` sees what Keras's would), with notes naming its stage and listing the
    other failed stages and their tracebacks.
    """

    def __init__(self):
        self.failures: list[tuple[str, BaseException, str]] = []

    @contextlib.contextmanager
    def stage(self, name: str):
        try:
            yield
        except unittest.SkipTest:
            raise
        except Exception as err:  # noqa: BLE001 - re-raised by raise_if_failed
            self.failures.append((name, err, traceback.format_exc(limit=-4)))

    def raise_if_failed(self):
        if not self.failures:
            return
        name, first, _ = self.failures[0]
        first.add_note(f"run_layer_test stage [{name}] failed first "
                       f"({len(self.failures)} failed stage(s))")
        for other_name, err, _ in self.failures[1:]:
            first.add_note(f"also [{other_name}] {_one_line(err)}")
        for other_name, _, tb in self.failures[1:]:
            first.add_note(f"--- [{other_name}]\n{tb}")
        raise first


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


def _to_json(value) -> str:
    """JSON of a config that keeps tuples apart from lists (as Keras's check does)."""
    def encode(obj):
        if isinstance(obj, tuple):
            return {"__tuple__": [encode(e) for e in obj]}
        if isinstance(obj, list):
            return [encode(e) for e in obj]
        if isinstance(obj, dict):
            return {k: encode(v) for k, v in obj.items()}
        return obj
    return json.dumps(encode(value), sort_keys=True, indent=1, default=repr)


def _from_json(text: str):
    def decode(obj):
        return tuple(obj["__tuple__"]) if set(obj) == {"__tuple__"} else obj
    return json.loads(text, object_hook=decode)


def _custom_scope(saving, custom_objects):
    if not custom_objects:
        return contextlib.nullcontext()
    return saving.custom_object_scope(custom_objects)


def run_class_serialization_test(self, instance, custom_objects=None):
    """``get_config``/``from_config`` and ``thawnet.saving`` round trips give equal configs.

    Returns:
        The object revived by ``deserialize_keras_object``.
    """
    saving = thawnet_module("saving")
    cls = type(instance)
    config_json = _to_json(instance.get_config())
    ref_dir = set(dir(instance))
    with _custom_scope(saving, custom_objects):
        revived = cls.from_config(instance.get_config())
    self.assertEqual(config_json, _to_json(revived.get_config()),
                     msg="from_config(get_config()) gives a different config")
    self.assertEqual(ref_dir, set(dir(revived)), msg="revived object has other attributes")
    serialized_json = _to_json(saving.serialize_keras_object(instance))
    with _custom_scope(saving, custom_objects):
        revived = saving.deserialize_keras_object(_from_json(serialized_json))
    self.assertEqual(config_json, _to_json(revived.get_config()),
                     msg="deserialize_keras_object(serialize_keras_object(x)) differs")
    new_dir = set(dir(revived)) - {"__annotations__"}
    self.assertEqual(ref_dir - {"__annotations__"}, new_dir,
                     msg="deserialized object has other attributes")
    return revived


def _sublayers_and_self(layer) -> list:
    """The layer and every layer reachable from its attributes (lists/dicts included)."""
    found, stack = [], [layer]
    while stack:
        obj = stack.pop()
        if isinstance(obj, thawnet.layers.Layer):
            if any(obj is f for f in found):
                continue
            found.append(obj)
            stack.extend(vars(obj).values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
        elif isinstance(obj, dict):
            stack.extend(obj.values())
    return found


def seed_generators(layer) -> list:
    """thawnet ``random.SeedGenerator`` objects held by the layer or its sublayers."""
    random = thawnet_module("random")
    sg_type = None if isinstance(random, Missing) else getattr(random, "SeedGenerator", None)
    if sg_type is None:
        return []
    found = []
    for sub in _sublayers_and_self(layer):
        for value in vars(sub).values():
            for v in (value if isinstance(value, (list, tuple)) else [value]):
                if isinstance(v, sg_type) and not any(v is f for f in found):
                    found.append(v)
    return found


def _call(layer, data, call_kwargs):
    return layer(**data, **call_kwargs) if isinstance(data, dict) else layer(data, **call_kwargs)


class _SumLoss(thawnet.losses.Loss):
    """The training check's loss: the sum of the predictions (one op, any output)."""

    def __call__(self, y_true, y_pred, sample_weight=None):
        return sum(jnp.sum(jnp.asarray(p, "float32")) for p in leaves(y_pred))


def _training_step(layer, input_data, output_data):
    """One ``fit`` step of a model wrapping ``layer``, on a generator (as Keras's check)."""
    class _WrapModel(thawnet.Model):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def call(self, x, training=False):
            return self.inner(x, training=training)

    model = _WrapModel(layer)

    def data():
        while True:
            yield input_data, output_data

    model.compile(optimizer="sgd", loss=_SumLoss())
    model.fit(data(), steps_per_epoch=1, verbose=0)


def run_layer_test(self, layer_cls, init_kwargs, input_shape=None, input_dtype=None,
                   input_sparse=False, input_ragged=False, input_data=None, call_kwargs=None,
                   expected_output_shape=None, expected_output_dtype=None,
                   expected_output_sparse=False, expected_output_ragged=False,
                   expected_output=None, expected_num_trainable_weights=None,
                   expected_num_non_trainable_weights=None,
                   expected_num_non_trainable_variables=None,
                   expected_num_seed_generators=None, expected_num_losses=None,
                   supports_masking=None, expected_mask_shape=None, custom_objects=None,
                   run_training_check=True, run_mixed_precision_check=True,
                   assert_built_after_instantiation=False, tpu_atol=None, tpu_rtol=None):
    """Keras's layer checks, run on a thawnet layer class (see the module docstring)."""
    if input_shape is not None and input_data is not None:
        raise ValueError("input_shape and input_data cannot be passed at the same time.")
    if expected_output_shape is not None and expected_output is not None:
        raise ValueError("expected_output_shape and expected_output cannot both be passed.")
    if expected_output is not None and input_data is None:
        raise ValueError("expected_output needs input_data.")
    if input_sparse or input_ragged or expected_output_sparse or expected_output_ragged:
        raise unittest.SkipTest("sparse/ragged tensors: thawnet has none")
    init_kwargs = init_kwargs or {}
    call_kwargs = call_kwargs or {}
    if input_shape is not None and input_dtype is None:
        input_dtype = default_dtypes(input_shape)
    has_input = input_data is not None or input_shape is not None
    stages = _Stages()
    expected = {"trainable": expected_num_trainable_weights,
                "non_trainable": expected_num_non_trainable_weights,
                "non_trainable_variables": expected_num_non_trainable_variables,
                "seed_generators": expected_num_seed_generators}

    if has_input:
        if input_data is None:
            input_data = eager_inputs(input_shape, input_dtype)
        with stages.stage("count weights of an eagerly called layer"):
            if None in expected.values():
                layer = layer_cls(**init_kwargs)
                _call(layer, input_data, call_kwargs)
                found = {"trainable": len(layer.trainable_weights),
                         "non_trainable": len(layer.non_trainable_weights),
                         "non_trainable_variables": len(layer.non_trainable_variables),
                         "seed_generators": len(seed_generators(layer))}
                expected = {k: found[k] if v is None else v for k, v in expected.items()}

    with stages.stage("config round trip"):
        layer = layer_cls(**init_kwargs)
        self.run_class_serialization_test(layer, custom_objects)

    def build_asserts(layer):
        self.assertTrue(layer.built, msg=f"{type(layer).__name__}.built is False")
        for key, attr in (("trainable", "trainable_weights"),
                          ("non_trainable", "non_trainable_weights"),
                          ("non_trainable_variables", "non_trainable_variables")):
            if expected[key] is not None:
                self.assertLen(getattr(layer, attr), expected[key],
                               msg=f"Unexpected number of {attr}")
        if expected["seed_generators"] is not None:
            self.assertLen(seed_generators(layer), expected["seed_generators"],
                           msg="Unexpected number of seed generators (thawnet.random."
                               "SeedGenerator objects held by the layer)")

    def output_asserts(output):
        if expected_output_shape is not None:
            self.assertTrue(shapes_match(expected_output_shape, output),
                            msg=f"Expected output shapes {expected_output_shape} but received "
                                f"{map_leaves(lambda x: tuple(x.shape), output)}")
        if expected_output_dtype is not None:
            self.assertTrue(dtypes_match(expected_output_dtype, output),
                            msg=f"Expected output dtypes {expected_output_dtype} but received "
                                f"{map_leaves(lambda x: str(x.dtype), output)}")

    symbolic = None
    if has_input:
        if input_shape is None:
            build_shape = map_leaves(lambda x: tuple(x.shape), input_data)
            symbolic = map_leaves(lambda x: backend_shim.KerasTensor(
                tuple(x.shape), backend_shim.standardize_dtype(x.dtype)), input_data)
        else:
            build_shape = input_shape
            symbolic = symbolic_inputs(input_shape, input_dtype)
        with stages.stage("build(input_shape)"):
            layer = layer_cls(**init_kwargs)
            if isinstance(build_shape, dict):
                layer.build(**build_shape)
            else:
                layer.build(build_shape)
            build_asserts(layer)
        with stages.stage("symbolic call"):
            layer = layer_cls(**init_kwargs)
            symbolic_output = _call(layer, symbolic, call_kwargs)
            output_asserts(symbolic_output)
            build_asserts(layer)
        if expected_mask_shape is not None:
            with stages.stage("mask of the symbolic output"):
                # Keras calls compute_mask on the symbolic inputs; thawnet attaches the result
                # of that call to the symbolic output (abstract evaluation of compute_mask).
                mask = backend_shim.get_keras_mask(leaves(symbolic_output)[0])
                self.assertIsNotNone(mask, msg="the symbolic output carries no mask")
                self.assertEqual(tuple(expected_mask_shape), tuple(mask.shape))
        if assert_built_after_instantiation:
            with stages.stage("built after instantiation"):
                self.assertTrue(layer_cls(**init_kwargs).built,
                                msg=f"{layer_cls.__name__} has no weights, so it should be "
                                    "built after instantiation")

                class _OwnBuild(layer_cls):
                    def build(self, *args, **kwargs):
                        pass

                self.assertFalse(_OwnBuild(**init_kwargs).built,
                                 msg="a subclass that overrides build() must not be built "
                                     "before build() runs")

        output_data = None
        with stages.stage("eager call"):
            layer = layer_cls(**init_kwargs)
            output_data = _call(layer, input_data, call_kwargs)
            output_asserts(output_data)
            if expected_output is not None:
                self.assertEqual(type(expected_output), type(output_data))
                for want, got in zip(leaves(expected_output), leaves(output_data)):
                    self.assertAllClose(want, got, msg="Unexpected output value")
            if expected_num_losses is not None:
                self.assertLen(layer.losses, expected_num_losses)
        if run_training_check and output_data is not None:
            with stages.stage("training step (fit)"):
                _training_step(layer, input_data, output_data)
        if run_mixed_precision_check:
            with stages.stage("mixed_float16 policy"):
                _mixed_precision_asserts(self, layer_cls, init_kwargs, input_data, call_kwargs,
                                         symbolic)

    if supports_masking is not None:
        with stages.stage("supports_masking"):
            layer = layer_cls(**init_kwargs)
            self.assertEqual(layer.supports_masking, supports_masking,
                             msg="Unexpected supports_masking value")
    stages.raise_if_failed()


def _mixed_precision_asserts(self, layer_cls, init_kwargs, input_data, call_kwargs, symbolic):
    """A mixed_float16 layer: outputs have the dtypes of its output spec, weights float32."""
    layer = layer_cls(**{**init_kwargs, "dtype": "mixed_float16"})
    output = _call(layer, input_data, call_kwargs)
    compute_dtype = layer.compute_dtype
    autocast = getattr(layer, "autocast", True)

    def spec_of(t):
        dtype = backend_shim.standardize_dtype(t.dtype)
        if autocast and backend_shim.is_float_dtype(dtype):
            dtype = backend_shim.standardize_dtype(compute_dtype)
        return backend_shim.KerasTensor(tuple(t.shape), dtype=dtype)

    input_spec = map_leaves(spec_of, symbolic)
    spec = (layer.compute_output_spec(**input_spec) if isinstance(input_spec, dict)
            else layer.compute_output_spec(input_spec))
    for tensor, out_spec in zip(leaves(output), leaves(spec)):
        got = backend_shim.standardize_dtype(tensor.dtype)
        self.assertEqual(got, backend_shim.standardize_dtype(out_spec.dtype),
                         f"expected output dtype {out_spec.dtype}, got {got}")
    for weight in layer.weights:
        dtype = backend_shim.standardize_dtype(weight.dtype)
        if backend_shim.is_float_dtype(dtype):
            self.assertEqual(dtype, "float32", f"weight {weight.name} is {dtype}")
