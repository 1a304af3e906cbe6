"""Test helpers for agents (TF-Agents' tests import this module)."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from policylib.agents import tf_agent
from policylib.base import nest_utils
from policylib.typing import types

__all__ = ["test_loss_and_train_output"]


def test_loss_and_train_output(
    test: tf.test.TestCase,
    expect_equal_loss_values: bool,
    agent: tf_agent.TFAgent,
    experience: types.NestedTensor,
    weights: types.Tensor | None = None,
    **kwargs: Any,
) -> None:
    """Checks that `agent.loss` and `agent.train` return matching `LossInfo`s.

    Same type, structure, dtypes and ranks; loss values equal when
    `expect_equal_loss_values`, else different.
    """
    from_loss = agent.loss(experience=experience, weights=weights, **kwargs)
    from_train = agent.train(experience=experience, weights=weights, **kwargs)
    if not tf.executing_eagerly():
        test.evaluate(tf.compat.v1.global_variables_initializer())
        from_loss = test.evaluate(from_loss)
        from_train = test.evaluate(from_train)
    test.assertIsInstance(from_train, tf_agent.LossInfo)
    test.assertEqual(type(from_train), type(from_loss))
    if expect_equal_loss_values:
        test.assertEqual(
            from_train.loss,
            from_loss.loss,
            msg=f"Expected equal loss values, but train() has output "
            f"{from_train.loss} vs loss() output {from_loss.loss}.",
        )
    else:
        test.assertNotEqual(
            from_train.loss,
            from_loss.loss,
            msg=f"Expected train() and loss() output to have different loss "
            f"values, but both are {from_train.loss}.",
        )
    nest_utils.assert_tensors_matching_dtypes_and_shapes(
        from_train, from_loss, test, "`LossInfo` from train()", "`LossInfo` from loss()"
    )
