"""A recording PPO agent and fixed trajectories for `PPOLearner` tests.

`FakePPOAgent.train` records what it is given and trains nothing, so a test
can check how many batches a learner fed and in which layout.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from policylib.agents import tf_agent
from policylib.agents.ppo import ppo_agent
from policylib.networks import actor_distribution_network, value_network
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory

__all__ = ["FakePPOAgent", "create_trajectories"]

_OBSERVATION_SPEC = tensor_spec.TensorSpec(shape=[], dtype=tf.float32)
_ACTION_SPEC = tensor_spec.BoundedTensorSpec([1], tf.float32, -1, 1)


class FakePPOAgent(ppo_agent.PPOAgent):
    """A PPO agent (scalar observation, 1-d action) whose `train` only records its input.

    Args:
      strategy: the strategy it trains under; with one, the returned losses are
        per-example vectors of 10 zeros (what a replica returns), else scalars.
    """

    def __init__(self, strategy: tf.distribute.Strategy | None = None):
        self._strategy = strategy
        actor_net = actor_distribution_network.ActorDistributionNetwork(
            _OBSERVATION_SPEC,
            _ACTION_SPEC,
            fc_layer_params=(1,),
            activation_fn=tf.nn.tanh,
        )
        value_net = value_network.ValueNetwork(_OBSERVATION_SPEC, fc_layer_params=(1,))
        super().__init__(
            time_step_spec=ts.time_step_spec(_OBSERVATION_SPEC),
            action_spec=_ACTION_SPEC,
            actor_net=actor_net,
            value_net=value_net,
            # Keeps value predictions, returns and advantages in the training data.
            compute_value_and_advantage_in_train=False,
            update_normalizers_in_train=False,
        )
        self.train_called_times = tf.Variable(0, dtype=tf.int32)
        self.experiences: list[Any] = []

    def _train(self, experience: Any, weights: Any) -> tf_agent.LossInfo:
        del weights
        self.train_called_times.assign_add(1)
        self.experiences.append(experience)
        if self._strategy is None:
            return tf_agent.LossInfo(0.0, 0.0)
        zeros = tf.zeros([10], tf.float32)
        return tf_agent.LossInfo(zeros, zeros)

    def reset(self) -> None:
        """Forgets the recorded calls."""
        self.train_called_times.assign(0)
        self.experiences = []


def create_trajectories(n_time_steps: int, batch_size: int) -> trajectory.Trajectory:
    """A `[batch_size, n_time_steps]` trajectory of MID steps; row `i`'s observations are `10 i + t`.

    Rewards, discounts, value predictions, returns and advantages are 1; actions
    and the action distribution's loc and scale are `[1.]`.
    """
    observation = tf.constant(
        np.arange(n_time_steps)[None, :] + 10 * np.arange(batch_size)[:, None],
        dtype=tf.float32,
    )
    ones = tf.ones([batch_size, n_time_steps], tf.float32)
    ones_1d = tf.ones([batch_size, n_time_steps, 1], tf.float32)
    step_type = tf.fill(
        [batch_size, n_time_steps], tf.constant(int(ts.StepType.MID), tf.int32)
    )
    policy_info = {
        "dist_params": {"loc": ones_1d, "scale": ones_1d},
        "value_prediction": ones,
        "return": ones,
        "advantage": ones,
    }
    return trajectory.Trajectory(
        step_type=step_type,
        observation=observation,
        action=ones_1d,
        policy_info=policy_info,
        next_step_type=step_type,
        reward=ones,
        discount=ones,
    )
