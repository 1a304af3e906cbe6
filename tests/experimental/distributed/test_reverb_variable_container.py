"""ReverbVariableContainer: push, pull, update and their errors."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import tensorflow as tf

from policylib import reverb
from policylib.experimental.distributed import reverb_variable_container as rvc

_SIGNATURE = {
    "step": tf.TensorSpec([], tf.int64),
    "weights": (tf.TensorSpec([2], tf.float32), tf.TensorSpec([2, 1], tf.int32)),
}


def _table(
    name: str, max_size: int = 1, signature: object = _SIGNATURE
) -> reverb.Table:
    return reverb.Table(
        name,
        sampler=reverb.selectors.Uniform(),
        remover=reverb.selectors.Fifo(),
        max_size=max_size,
        rate_limiter=reverb.rate_limiters.MinSize(1),
        signature=signature,
    )


@pytest.fixture
def address() -> Iterator[str]:
    with reverb.Server([_table(rvc.DEFAULT_TABLE), _table("other")]) as server:
        yield f"localhost:{server.port}"


def _variables(step: int, weights: float) -> dict:
    return {
        "step": tf.Variable(step, dtype=tf.int64),
        "weights": (
            tf.Variable([weights, weights], dtype=tf.float32),
            tf.Variable([[int(weights)], [int(weights)]], dtype=tf.int32),
        ),
    }


def test_push_then_update_copies_values(address: str) -> None:
    container = rvc.ReverbVariableContainer(address, (rvc.DEFAULT_TABLE, "other"))
    container.push(_variables(3, 2.0))
    container.push(_variables(5, 4.0))  # max_size=1: replaces the first push.
    target = _variables(0, 0.0)
    # A list where the signature has a tuple is accepted (sequence types ignored).
    target["weights"] = list(target["weights"])
    container.update(target)
    assert int(target["step"]) == 5
    np.testing.assert_allclose(target["weights"][0].numpy(), [4.0, 4.0])
    pulled: dict = container.pull()  # type: ignore[assignment]
    assert pulled["weights"][1].numpy().tolist() == [[4], [4]]


def test_errors(address: str) -> None:
    container = rvc.ReverbVariableContainer(address)
    for call in (
        lambda: container.push(tf.Variable(1), "other"),
        lambda: container.pull("nope"),
        lambda: container.update(tf.Variable(1), "nope"),
    ):
        with pytest.raises(KeyError):
            call()
    with pytest.raises(tf.errors.InvalidArgumentError):
        container.push(tf.Variable(1))
    wrong_dtype = _variables(1, 1.0)
    wrong_dtype["step"] = tf.Variable(1, dtype=tf.int32)
    with pytest.raises(tf.errors.InvalidArgumentError):
        container.push(wrong_dtype)
    container.push(_variables(1, 1.0))
    with pytest.raises(ValueError):
        container.update(wrong_dtype)
    with pytest.raises(ValueError):
        container.update(tf.Variable(1, dtype=tf.int64))


def test_table_checks() -> None:
    tables = [_table("big", max_size=2), _table("unsigned", signature=None)]
    with reverb.Server(tables) as server:
        address = f"localhost:{server.port}"
        with pytest.raises(KeyError, match="no table 'variables'"):
            rvc.ReverbVariableContainer(address)
        with pytest.raises(ValueError, match="max_size 2"):
            rvc.ReverbVariableContainer(address, ["big"])
        with pytest.raises(TypeError, match="no signature"):
            rvc.ReverbVariableContainer(address, ["unsigned"])
    assert (rvc.TRAIN_STEP_KEY, rvc.POLICY_KEY) == ("train_step", "policy_variables")
