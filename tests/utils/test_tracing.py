"""`common.function`'s remembered calls: a repeated eager call with tensors of the
same dtypes, shapes and structure runs the concrete function TF picked before;
everything else (Python values, new shapes, graphs, `run_functions_eagerly`)
still goes through `tf.function` with its tracing and retracing."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import tensorflow as tf

from policylib.utils import common

Pair = collections.namedtuple("Pair", ["a", "b"])


def _counted(fn):
    """`common.function(fn)` and a list that grows by one per trace."""
    traces: list[int] = []

    def body(*args, **kwargs):
        traces.append(1)
        return fn(*args, **kwargs)

    return common.function(body), traces


def test_it_is_a_tf_function_used_as_call_or_decorator() -> None:
    traced = common.function(lambda x: x + 1)
    assert isinstance(traced, tf.types.experimental.PolymorphicFunction)

    @common.function(reduce_retracing=False)
    def decorated(x):
        return 2 * x

    assert isinstance(decorated, tf.types.experimental.PolymorphicFunction)
    assert float(decorated(tf.constant(2.0))) == 4.0


def test_repeated_calls_give_tf_functions_results_without_retracing() -> None:
    traces: list[int] = []

    @common.function
    def fn(p, scale=None):
        traces.append(1)
        return p.a * p.b + (0.0 if scale is None else scale)

    rng = np.random.default_rng(0)
    for _ in range(5):
        a, b = rng.normal(size=(2, 3)).astype(np.float32)
        got = fn(Pair(tf.constant(a), tf.constant(b)))
        np.testing.assert_allclose(got.numpy(), a * b, rtol=1e-6)
    assert len(traces) == 1
    # A new dtype, a new shape: TF's own path (and its traces).
    np.testing.assert_array_equal(
        fn(Pair(tf.constant([1.0], tf.float64), tf.constant([3.0], tf.float64))), [3]
    )
    np.testing.assert_array_equal(fn(Pair(tf.ones([4]), tf.ones([4]))), np.ones(4))
    # The default given, by keyword and by position.
    ones = Pair(tf.ones([3]), tf.ones([3]))
    for _ in range(2):
        np.testing.assert_allclose(fn(ones, scale=tf.constant(2.0)), [3.0] * 3)
        np.testing.assert_allclose(fn(ones, tf.constant(1.0)), [2.0] * 3)
    np.testing.assert_allclose(fn(ones), [1.0] * 3)
    assert fn.experimental_get_tracing_count() == len(traces)


def test_python_values_still_retrace_per_value() -> None:
    fn, traces = _counted(lambda x, n: x * n)
    assert float(fn(tf.constant(2.0), 3)) == 6.0
    assert float(fn(tf.constant(2.0), 4)) == 8.0
    assert float(fn(tf.constant(2.0), 3)) == 6.0
    assert len(traces) == 2


def test_same_shapes_other_structure_type_is_not_confused() -> None:
    fn = common.function(lambda x: tf.nest.map_structure(lambda t: t + 1, x))
    out = fn(Pair(tf.zeros([2]), tf.zeros([2])))
    assert isinstance(out, Pair)
    out = fn((tf.zeros([2]), tf.zeros([2])))  # same leaves, a plain tuple
    assert type(out) is tuple
    out = fn(Pair(tf.zeros([2]), tf.zeros([2])))
    assert isinstance(out, Pair)


def test_variables_made_on_the_first_call_and_state_updates() -> None:
    layer = tf.keras.layers.Dense(2, kernel_initializer="ones")
    counter = tf.Variable(0)

    @common.function
    def step(x):
        counter.assign_add(1)
        return layer(x)

    x = tf.ones([1, 3])
    for _ in range(4):
        np.testing.assert_allclose(step(x).numpy(), [[3.0, 3.0]])
    assert int(counter.numpy()) == 4


def test_no_argument_calls_and_inside_other_functions() -> None:
    counter = tf.Variable(0)
    tick, traces = _counted(lambda: counter.assign_add(1))
    for _ in range(3):
        tick()
    assert int(counter.numpy()) == 3 and len(traces) == 1

    @tf.function
    def outer():
        tick()
        return tick()

    outer()
    assert int(counter.numpy()) == 5


def test_run_functions_eagerly_still_runs_python_each_call() -> None:
    fn, traces = _counted(lambda x: x + 1)
    fn(tf.constant(1.0))
    tf.config.run_functions_eagerly(True)
    try:
        fn(tf.constant(1.0))
        fn(tf.constant(1.0))
    finally:
        tf.config.run_functions_eagerly(False)
    assert len(traces) == 3


def test_errors_are_tf_functions_errors() -> None:
    fn = common.function(lambda x: x + 1)
    fn(tf.constant(1.0))
    with pytest.raises(TypeError):
        fn(tf.constant(1.0), tf.constant(2.0))


def test_calls_in_any_binding_give_the_functions_results() -> None:
    """Keywords out of parameter order, tensor defaults and dicts bind as TF binds."""
    traces: list[int] = []
    default = tf.constant(10.0)

    @common.function
    def fn(x, y, bias=default, extra=None):
        traces.append(1)
        out = x * 2.0 + y["b"] - y["a"] + bias
        return out if extra is None else out + extra

    x, one, two = tf.constant(1.0), tf.constant(1.0), tf.constant(2.0)
    for round_ in range(3):
        assert float(fn(x, {"b": two, "a": one})) == 13.0
        assert float(fn(y={"a": one, "b": two}, x=tf.constant(3.0))) == 17.0
        assert float(fn(x, {"a": one, "b": two}, extra=one, bias=one)) == 5.0
        if round_ == 0:
            first_round = len(traces)
    assert len(traces) == first_round  # the repeats reuse TF's traces


def test_plain_tf_functions_remember_calls_with_the_patch_inventory() -> None:
    from policylib import _tf_patches

    if "tf_function_remembered_calls" not in _tf_patches.installed():
        pytest.skip("the patch inventory is off (POLICYLIB_NO_TF_PATCHES)")
    traces: list[int] = []

    @tf.function
    def fn(p):
        traces.append(1)
        return p.a - p.b

    for i in range(4):
        got = fn(Pair(tf.constant([float(i)]), tf.constant([1.0])))
        np.testing.assert_array_equal(got.numpy(), [i - 1.0])
    assert len(traces) == 1 and len(fn._policylib_calls) == 1
    assert fn.experimental_get_tracing_count() == 1


def test_restored_functions_keep_their_own_call_path(tmp_path) -> None:
    module = tf.Module()
    module.v = tf.Variable(2.0)
    module.f = tf.function(
        lambda x: x * module.v, input_signature=[tf.TensorSpec([None], tf.float32)]
    )
    tf.saved_model.save(module, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    for _ in range(2):
        np.testing.assert_array_equal(loaded.f(tf.constant([1.0, 2.0])), [2.0, 4.0])
    assert "_policylib_calls" not in loaded.f.__dict__
