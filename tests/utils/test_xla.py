from __future__ import annotations

import pytest
import tensorflow as tf

from policylib.utils import xla


@pytest.fixture
def fresh_cache(monkeypatch):
    """An empty availability cache, restored afterwards."""
    monkeypatch.setattr(xla, "_XLA_AVAILABLE", {})


def test_availability_is_probed_once_per_device(fresh_cache, monkeypatch):
    probed = []

    def probe(device):
        probed.append(device)
        return True

    monkeypatch.setattr(xla, "_xla_runs_on", probe)
    assert xla.is_xla_available() is True
    assert xla.is_xla_available() is True
    assert len(probed) == 1


def test_a_device_xla_cannot_target_is_unavailable(fresh_cache):
    @tf.function(autograph=False)
    def on_tpu():
        with tf.device("/device:TPU:0"):
            return tf.constant(xla.is_xla_available())

    # No TPU here: the probe fails (soft placement is off) instead of raising.
    assert not on_tpu().numpy()
    assert xla._XLA_AVAILABLE["/device:TPU:0"] is False


def _graph_of_call(fn, *args):
    """(outer graph, graph `fn`'s body ran in) when called inside a tf.function."""
    seen = {}

    @xla.compile_in_graph_mode
    def body(x, y):
        seen["inner"] = tf.compat.v1.get_default_graph()
        return fn(x, y)

    @tf.function(autograph=False)
    def outer(x, y):
        seen["outer"] = tf.compat.v1.get_default_graph()
        return body(x, y)

    result = outer(*args)
    return result, seen["outer"], seen["inner"]


def test_graph_calls_are_compiled_in_their_own_function():
    if not xla.is_xla_available():
        pytest.skip("XLA is not available on this device")
    result, outer, inner = _graph_of_call(
        lambda x, y: {"add": x + y, "sub": x - y}, 1.0, 2.0
    )
    assert inner is not outer  # traced by the inner jit_compile tf.function
    assert result["add"].numpy() == 3.0 and result["sub"].numpy() == -1.0


def test_graph_calls_run_directly_without_xla(monkeypatch):
    monkeypatch.setattr(xla, "is_xla_available", lambda: False)
    result, outer, inner = _graph_of_call(lambda x, y: x * y, 2.0, 3.0)
    assert inner is outer
    assert result.numpy() == 6.0


def test_eager_calls_run_directly_with_tensor_arguments():
    seen = []

    @xla.compile_in_graph_mode
    def add(x, nested):
        seen.append((tf.executing_eagerly(), type(x), type(nested["y"])))
        return x + nested["y"]

    assert add(1.0, nested={"y": 2.0}).numpy() == 3.0
    eager, x_type, y_type = seen[0]
    assert eager
    assert issubclass(x_type, tf.Tensor) and issubclass(y_type, tf.Tensor)


def test_method_keeps_self_and_compiles_the_rest():
    class Scaler:
        def __init__(self, factor):
            self.factor = factor

        @tf.function(autograph=False)
        @xla.compile_method_in_graph_mode
        def scale(self, values):
            return self.factor * values["a"] / values["b"]

    scaler = Scaler(3.0)  # tf.function holds methods' `self` weakly: keep it alive
    out = scaler.scale(values={"a": 2.0, "b": 4.0})
    assert out.numpy() == pytest.approx(1.5)


def test_decorators_keep_the_name_and_docstring():
    def step(x):
        """Doc."""
        return x

    for decorate in (xla.compile_in_graph_mode, xla.compile_method_in_graph_mode):
        wrapped = decorate(step)
        assert (wrapped.__name__, wrapped.__doc__) == ("step", "Doc.")


def test_none_argument_is_a_clear_error():
    @xla.compile_in_graph_mode
    def identity(x):
        return x

    with pytest.raises(ValueError, match="identity is XLA-compiled.*got \\(None,\\)"):
        identity(None)
