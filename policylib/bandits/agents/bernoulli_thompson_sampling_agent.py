"""`BernoulliThompsonSamplingAgent`: Thompson sampling for Bernoulli bandits.

Each arm's reward is a coin flip with an unknown success probability. With a
`Beta(alpha, beta)` prior (conjugate to the Bernoulli likelihood), observing
reward `r` for an arm adds `r` to its `alpha` and `1 - r` to its `beta`, so
training is a pair of counters per arm; acting samples the posteriors (see
`BernoulliThompsonSamplingPolicy`). Rewards are clipped to [0, 1].

    agent = BernoulliThompsonSamplingAgent(time_step_spec, action_spec)
    agent.train(experience)
"""

from __future__ import annotations

from collections.abc import Sequence

import gin
import tensorflow as tf

from policylib.agents import data_converter, tf_agent
from policylib.bandits.policies import bernoulli_thompson_sampling_policy
from policylib.base import nest_utils
from policylib.policies import utils as policy_utilities
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["BernoulliBanditVariableCollection", "BernoulliThompsonSamplingAgent"]


def _check_float_dtype(dtype: tf.DType) -> tf.DType:
    dtype = tf.as_dtype(dtype)
    if dtype not in (tf.float32, tf.float64):
        raise ValueError(
            f"The Beta parameters must be tf.float32 or tf.float64; got dtype {dtype.name}."
        )
    return dtype


class BernoulliBanditVariableCollection(tf.Module):
    """The `alpha` and `beta` Beta-posterior parameters of every arm, all 1 at first.

    Args:
      num_actions: the number of arms.
      dtype: `tf.float32` or `tf.float64`.
      name: module name.

    Raises:
      ValueError: `num_actions` is not positive, or `dtype` is not a float
        type.
    """

    def __init__(
        self,
        num_actions: int,
        dtype: tf.DType = tf.float32,
        name: str | None = None,
    ):
        super().__init__(name=name)
        if int(num_actions) < 1:
            raise ValueError(f"num_actions must be positive; got {num_actions}.")
        dtype = _check_float_dtype(dtype)
        self.alpha = [
            tf.Variable(tf.ones([], dtype), name=f"alpha_{k}")
            for k in range(num_actions)
        ]
        self.beta = [
            tf.Variable(tf.ones([], dtype), name=f"beta_{k}")
            for k in range(num_actions)
        ]


@gin.configurable
class BernoulliThompsonSamplingAgent(tf_agent.TFAgent):
    """Counts each arm's successes and failures into its Beta posterior.

    Args:
      time_step_spec: the `TimeStep` spec.
      action_spec: a scalar `int32`/`int64` `BoundedTensorSpec` with minimum 0.
      variable_collection: the `alpha`/`beta` variables to update (e.g. to
        share or restore them); a new one if None.
      dtype: the dtype of new variables (`tf.float32` or `tf.float64`).
      batch_size: how much `train` advances `train_step_counter` per call; if
        None, by the number of samples trained on.
      observation_and_action_constraint_splitter: splits the observation into
        `(observation, mask)` for the policy.
      emit_policy_info: names of `policy_utilities.InfoFields` the policy
        emits.
      name: module name.

    Raises:
      ValueError: the action spec is not a scalar integer spec starting at 0,
        or the dtype is not a float type.
      TypeError: `variable_collection` is not a
        `BernoulliBanditVariableCollection`.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        variable_collection: BernoulliBanditVariableCollection | None = None,
        dtype: tf.DType = tf.float32,
        batch_size: int | None = 1,
        observation_and_action_constraint_splitter: types.Splitter | None = None,
        emit_policy_info: Sequence[str] = (),
        name: str | None = None,
    ):
        tf.Module.__init__(self, name=name)
        self._num_actions = policy_utilities.get_num_actions_from_tensor_spec(
            action_spec
        )
        self._dtype = _check_float_dtype(dtype)
        if variable_collection is None:
            variable_collection = BernoulliBanditVariableCollection(
                num_actions=self._num_actions, dtype=self._dtype
            )
        elif not isinstance(variable_collection, BernoulliBanditVariableCollection):
            raise TypeError(
                "Parameter `variable_collection` should be of type "
                "`BernoulliBanditVariableCollection`; got "
                f"{type(variable_collection).__name__}."
            )
        if len(variable_collection.alpha) != self._num_actions:
            raise ValueError(
                f"variable_collection has {len(variable_collection.alpha)} arms, but "
                f"the action spec has {self._num_actions} actions."
            )
        self._variable_collection = variable_collection
        self._observation_and_action_constraint_splitter = (
            observation_and_action_constraint_splitter
        )
        self._batch_size = batch_size
        policy = bernoulli_thompson_sampling_policy.BernoulliThompsonSamplingPolicy(
            time_step_spec,
            action_spec,
            alpha=variable_collection.alpha,
            beta=variable_collection.beta,
            observation_and_action_constraint_splitter=observation_and_action_constraint_splitter,
            emit_policy_info=emit_policy_info,
        )
        super().__init__(
            time_step_spec,
            action_spec,
            policy,
            collect_policy=policy,
            train_sequence_length=None,
        )
        self._as_trajectory = data_converter.AsTrajectory(
            self.data_context, sequence_length=None
        )

    @property
    def alpha(self) -> list[tf.Variable]:
        return list(self._variable_collection.alpha)

    @property
    def beta(self) -> list[tf.Variable]:
        return list(self._variable_collection.beta)

    def _train(
        self, experience: types.NestedTensor, weights: types.Tensor | None = None
    ) -> tf_agent.LossInfo:
        """Adds each arm's summed (clipped) rewards to `alpha`, their complements to `beta`.

        Returns:
          `LossInfo(-sum(clipped rewards), ())`.
        """
        del weights  # Every sample counts once.
        experience = self._as_trajectory(experience)
        reward, _ = nest_utils.flatten_multi_batched_nested_tensors(
            experience.reward, self._time_step_spec.reward
        )
        action, _ = nest_utils.flatten_multi_batched_nested_tensors(
            experience.action, self._action_spec
        )
        reward = tf.clip_by_value(tf.cast(reward, self._dtype), 0.0, 1.0)
        arms = tf.cast(action, tf.int32)
        successes = tf.math.unsorted_segment_sum(reward, arms, self._num_actions)
        trials = tf.math.unsorted_segment_sum(
            tf.ones_like(reward), arms, self._num_actions
        )
        alpha = self._variable_collection.alpha
        beta = self._variable_collection.beta
        for k in range(self._num_actions):
            alpha[k].assign_add(successes[k])
            beta[k].assign_add(trials[k] - successes[k])

        counter = self.train_step_counter
        if self._batch_size is None:
            increment = tf.size(reward, out_type=counter.dtype)
        else:
            increment = tf.constant(self._batch_size, counter.dtype)
        counter.assign_add(increment)
        loss = -tf.reduce_sum(tf.cast(reward, tf.float32))
        return tf_agent.LossInfo(loss=loss, extra=())
