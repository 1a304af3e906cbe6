"""The fast paths through TensorFlow's per-call code give TensorFlow's answers."""

from __future__ import annotations

import collections
import sys
import typing

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.data.ops import iterator_ops
from tensorflow.python.util import custom_nest_protocol, numpy_compat

from policylib import _tf_fast_paths, _tf_patches
from policylib.base import import_hooks
from policylib.replay_buffers import tf_uniform_replay_buffer
from policylib.trajectories import trajectory

pytestmark = pytest.mark.skipif(
    _tf_patches.opted_out(), reason="POLICYLIB_NO_TF_PATCHES is set"
)


class _Flattens:
    def __tf_flatten__(self):
        return None, (1,)

    @classmethod
    def __tf_unflatten__(cls, metadata, components):
        return cls()


class _OptsOut(_Flattens):
    __tf_flatten__ = None  # a method set to None: not an instance of the protocol


class _HalfProtocol:
    def __tf_flatten__(self):
        return None, ()


class _Convertible:
    def __tf_tensor__(self, dtype=None, name=None):
        return tf.constant(1.0)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="Python 3.12+ needs no mending")
def test_protocol_checks_answer_as_python_does():
    from tensorflow.python.framework import tensor_util
    from tensorflow.python.types import core

    python_check = type(typing.Protocol).__instancecheck__
    protocols = [
        custom_nest_protocol.CustomNestProtocol,
        core.TensorProtocol,
        tensor_util.IsTensorLike,
    ]
    values = [
        tf.constant(1.0),
        tf.TensorSpec([2]),
        np.zeros(2),
        3,
        None,
        "text",
        _Flattens(),
        _OptsOut(),
        _HalfProtocol(),
        _Convertible(),
        tf.RaggedTensor.from_row_lengths([1, 2, 3], [2, 1]),
    ]
    for protocol in protocols:
        assert type(protocol).__name__ == "_OnceProtocolMeta"
        for value in values:
            for _ in range(
                2
            ):  # the first answer collects the members; the second reads them
                assert isinstance(value, protocol) == python_check(protocol, value), (
                    protocol,
                    value,
                )


def test_np_asarray_gives_tensorflows_arrays():
    fast = numpy_compat.np_asarray
    original = fast.__wrapped__
    cases = [
        ([1, 2, 3], None, None),
        (np.arange(4, dtype=np.int64), np.int8, None),  # narrowing wraps, as TF wants
        (np.array([300]), np.uint8, None),
        ([[1.5, 2.5]], np.int32, "C"),
        (np.zeros((2, 3), order="F"), None, "C"),
        ([b"a", b"bc"], None, None),
        (np.float32(2.0), np.float64, None),
    ]
    for values, dtype, order in cases:
        got, want = (
            fast(values, dtype=dtype, order=order),
            original(values, dtype=dtype, order=order),
        )
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
        assert got.flags.c_contiguous == want.flags.c_contiguous


def _trajectory_dataset() -> tf.data.Dataset:
    spec = trajectory.Trajectory(
        step_type=tf.TensorSpec([], tf.int32),
        observation={"z": tf.TensorSpec([3]), "a": tf.TensorSpec([2], tf.int64)},
        action=tf.TensorSpec([], tf.int64),
        policy_info=(),
        next_step_type=tf.TensorSpec([], tf.int32),
        reward=tf.TensorSpec([]),
        discount=tf.TensorSpec([]),
    )
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        spec, batch_size=1, max_length=50
    )
    for i in range(10):
        item = tf.nest.map_structure(
            lambda s, i=i: tf.fill([1, *s.shape], tf.cast(i, s.dtype)), spec
        )
        buffer.add_batch(item)
    return buffer.as_dataset(sample_batch_size=4, num_steps=2).prefetch(2)


def _same(got, want) -> None:
    tf.nest.assert_same_structure(got, want, check_types=True)
    for g, w in zip(tf.nest.flatten(got), tf.nest.flatten(want)):
        assert type(g) is type(w) and g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g.numpy(), w.numpy())


@pytest.mark.parametrize(
    "make",
    [
        _trajectory_dataset,
        lambda: tf.data.Dataset.from_tensor_slices(
            collections.OrderedDict(b=tf.range(4), a=tf.ones([4, 2]))
        ),
        lambda: tf.data.Dataset.range(5).map(lambda i: {"y": (i, i * 2), "x": [i, i]}),
        lambda: tf.data.Dataset.range(3).map(
            lambda i: tf.RaggedTensor.from_row_lengths(tf.range(i + 1), [i + 1])
        ),
        lambda: tf.data.Dataset.range(3),
    ],
    ids=["trajectory", "ordered-dict", "dict-of-tuple", "ragged", "scalar"],
)
def test_dataset_elements_match_tensorflows(make):
    assert getattr(
        iterator_ops.OwnedIterator._next_internal, "_policylib_packer", False
    )
    original = iterator_ops.OwnedIterator._next_internal.__wrapped__
    fast_it, plain_it = iter(make()), iter(make())
    tf.random.set_seed(0)
    fast = [next(fast_it) for _ in range(3)]
    tf.random.set_seed(0)
    plain = [original(plain_it) for _ in range(3)]
    for got, want in zip(fast, plain):
        _same(got, want)


def test_element_packer_only_for_plain_tensor_nests():
    spec = {
        "b": tf.TensorSpec([2]),
        "a": (tf.TensorSpec([]), tf.TensorSpec([3], tf.int32)),
    }
    packer = _tf_fast_paths.element_packer(spec)
    assert packer is not None
    flat = [tf.zeros([]), tf.zeros([3], tf.int32), tf.ones([2])]  # sorted-key order
    element = packer(flat)
    assert list(element) == ["b", "a"]  # the spec's key order
    assert element["b"] is flat[2] and element["a"][1] is flat[1]
    assert _tf_fast_paths.element_packer(tf.RaggedTensorSpec([None], tf.int32)) is None
    assert _tf_fast_paths.element_packer([tf.TensorSpec([])]) is None
    assert (
        _tf_fast_paths.element_packer({1: tf.TensorSpec([]), "a": tf.TensorSpec([])})
        is None
    )


def test_exhausted_iterator_still_stops():
    it = iter(tf.data.Dataset.range(2))
    assert [int(x) for x in it] == [0, 1]
    with pytest.raises(StopIteration):
        next(it)


def test_after_import_runs_now_or_on_import(tmp_path, monkeypatch):
    seen = []
    import_hooks.after_import(
        "json", lambda m: seen.append(m.__name__)
    )  # already loaded
    assert seen == ["json"]
    (tmp_path / "policylib_hook_probe.py").write_text("VALUE = 41\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import_hooks.after_import(
        "policylib_hook_probe", lambda m: setattr(m, "VALUE", m.VALUE + 1)
    )
    import policylib_hook_probe  # noqa: PLC0415

    assert policylib_hook_probe.VALUE == 42
    assert type(policylib_hook_probe.__loader__).__name__ == "SourceFileLoader"
    sys.modules.pop("policylib_hook_probe", None)
