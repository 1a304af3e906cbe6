"""The gRPC wire codec: arrays, items, samples, signatures, errors; nothing pickled."""

from __future__ import annotations

import collections
import textwrap
from typing import Any

import numpy as np
import pytest

from policylib.reverb import errors, wire
from policylib.reverb.items import Item, SampledItem
from policylib.reverb.replay_sample import SampleInfo
from policylib.specs import array_spec
from tests.test_tf_free import _run

Point = collections.namedtuple("Point", ["x", "y"])


def _round_trip(array: np.ndarray) -> np.ndarray:
    writer = wire.Writer()
    writer.u8(7)  # Misaligns what follows; arrays are padded to 8 bytes.
    writer.array(array)
    reader = wire.Reader(writer.getvalue())
    assert reader.u8() == 7
    result = reader.array()
    reader.done()
    return result


@pytest.mark.parametrize(
    "array",
    [
        np.arange(6, dtype=np.float32).reshape(2, 3),
        np.array(3.5),
        np.array([True, False]),
        np.arange(4, dtype=">i2"),
        np.array([1 + 2j], np.complex64),
        np.array(["ab", "c"]),
        np.array([b"ab", b"c"]),
        np.zeros((0, 3), np.int64),
        np.arange(12, dtype=np.uint8).reshape(3, 4)[:, ::2],
        np.array(["2020-01-01"], dtype="datetime64[D]"),
    ],
)
def test_arrays_round_trip_with_dtype_and_shape(array: np.ndarray) -> None:
    result = _round_trip(array)
    assert result.dtype == array.dtype and result.shape == array.shape
    np.testing.assert_array_equal(result, array)


def test_object_arrays_of_bytes_or_str_round_trip_others_are_refused() -> None:
    data = np.array([[b"a", b""], [b"\xff\x00", b"xyz"]], dtype=object)
    result = _round_trip(data)
    assert result.dtype == object and result.tolist() == data.tolist()
    text = np.array(["é", "b"], dtype=object)
    assert _round_trip(text).tolist() == ["é", "b"]
    with pytest.raises(
        TypeError,
        match=r"column 1 of item 5 is an object array holding \['dict', 'int'\]",
    ):
        wire.Writer().item(Item(5, 1.0, [np.zeros(1), np.array([1, {}], dtype=object)]))
    with pytest.raises(TypeError, match="structured"):
        wire.Writer().array(np.zeros(2, dtype=[("a", "i4")]))


def test_malformed_messages_raise_value_error() -> None:
    writer = wire.Writer()
    writer.array(np.arange(10))
    data = writer.getvalue()
    with pytest.raises(ValueError, match="truncated"):
        wire.Reader(data[:-1]).array()
    with pytest.raises(ValueError, match="trailing"):
        reader = wire.Reader(data + b"\0")
        reader.array()
        reader.done()
    bad = wire.Writer()
    bad.string("|O")
    with pytest.raises(ValueError, match="not one policylib.reverb sends"):
        wire.Reader(bad.getvalue()).array()


def test_items_samples_and_priorities_round_trip() -> None:
    item = Item(2**63 - 1, 0.25, [np.arange(3), np.float32(1)[None]], (4, 5), 2)
    items, timeout = wire.decode_items(wire.encode_items([("t", item)], None))
    assert timeout is None
    ((table, got),) = items
    assert table == "t" and (
        got.key,
        got.priority,
        got.episode_ids,
        got.times_sampled,
    ) == (
        item.key,
        0.25,
        (4, 5),
        2,
    )
    np.testing.assert_array_equal(got.columns[0], item.columns[0])
    info = SampleInfo(
        key=7, probability=0.5, table_size=3, priority=1.5, times_sampled=1
    )
    (sampled,) = wire.decode_sampled(
        wire.encode_sampled([SampledItem(info, item.columns)])
    )
    assert sampled.info == info and type(sampled.info.key) is int
    assert wire.decode_priorities(wire.encode_priorities("t", {3: 0.5}, [9])) == (
        "t",
        {3: 0.5},
        [9],
    )
    with pytest.raises(ValueError, match="-1 is not a 64-bit unsigned"):
        wire.encode_priorities("t", {}, [-1])


def test_array_spec_signatures_round_trip_without_tensorflow_specs() -> None:
    signature = {
        "obs": array_spec.BoundedArraySpec((1, 2), np.float32, -1.0, [1.0, 2.0], "obs"),
        "pair": Point(
            array_spec.ArraySpec((1,), np.int64), [array_spec.ArraySpec((), np.bool_)]
        ),
        3: (array_spec.ArraySpec((2,), np.uint8, name="k"),),
    }
    encoded = wire.encode_signature(signature)
    got: Any = wire.decode_signature(encoded)
    assert type(got["pair"]) is Point
    assert got == signature
    np.testing.assert_array_equal(got["obs"].maximum, [1.0, 2.0])
    assert got[3][0].name == "k"


def test_tensorflow_specs_round_trip_as_tensorflow_specs() -> None:
    tf = pytest.importorskip("tensorflow")
    from policylib.specs import tensor_spec

    signature = [
        tf.TensorSpec([None, 3], tf.float32, name="obs"),
        tensor_spec.BoundedTensorSpec([1], tf.int32, 0, 4, name="action"),
        tf.TensorSpec(None, tf.string),
    ]
    got: Any = wire.decode_signature(wire.encode_signature(signature))
    assert got == signature
    assert isinstance(got[1], tensor_spec.BoundedTensorSpec) and got[1].name == "action"
    assert int(got[1].maximum) == 4
    with pytest.raises(TypeError, match="Signature leaf 1 is 5"):
        wire.encode_signature([tf.TensorSpec([], tf.int32), 5])


def test_tensorflow_signatures_decode_to_array_specs_without_tensorflow() -> None:
    tf = pytest.importorskip("tensorflow")
    encoded = wire.encode_signature(
        {"a": tf.TensorSpec([2], tf.float32), "b": tf.TensorSpec(None, tf.int64)}
    )
    done = _run(
        f"""
        import numpy as np
        from policylib.reverb import wire, signatures
        got = wire.decode_signature({encoded!r})
        print(type(got["a"]).__name__, got["a"].shape, got["a"].dtype)
        flat = signatures.flatten_signature(got)
        signatures.check_columns("t", flat, [np.zeros(2, np.float32), np.zeros((4, 5), np.int64)])
        print("OK", "tensorflow" in sys.modules)
        """
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[:2] == ["ArraySpec (2,) float32", "OK False"]


def test_errors_travel_by_their_first_listed_class() -> None:
    assert wire.error_class_name(errors.NotFoundError("x")) == "NotFoundError"
    assert wire.error_class_name(FileNotFoundError("x")) == "OSError"
    assert wire.error_class_name(ZeroDivisionError("x")) == "RuntimeError"
    assert wire.error_message(KeyError("k")) == "k"


def test_grpc_client_and_server_run_without_tensorflow() -> None:
    done = _run(
        textwrap.dedent(
            """
            import numpy as np
            from tests.reverb.grpc_server_process import ServerProcess
            from policylib import reverb
            with ServerProcess("--block-tf") as server:
                client = reverb.Client(server.address, connect_timeout=20)
                with client.trajectory_writer(2) as writer:
                    for step in range(3):
                        writer.append({"obs": np.zeros(3, np.float32), "step": np.int64(step)})
                        writer.create_item("signed", 1.0, {
                            "obs": writer.history["obs"][-1:],
                            "step": writer.history["step"][-1:]})
                print([int(s[0].data[1]) for s in client.sample("signed", 2)])
                info = client.server_info()["signed"]
                print(info.current_size, sorted(info.signature))
                print("terminated", server.terminate())
            print("TF", "tensorflow" in sys.modules)
            """
        )
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[:4] == [
        "[0, 0]",
        "3 ['obs', 'step']",
        "terminated 0",
        "TF False",
    ]
