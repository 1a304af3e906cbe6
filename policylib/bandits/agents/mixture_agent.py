"""`MixtureAgent`: trains several bandit agents that act through one `MixturePolicy`.

Every step, the mixture policy lets one sub-agent's collect policy act for
each batch entry and records its index in the info (`mixture_agent_id`).
Training splits the experience by that index and trains each sub-agent on
the samples it chose, then lets the subclass update the mixture
distribution (`_update_mixture_distribution`). `StaticMixtureAgent` keeps
the distribution fixed; `Exp3MixtureAgent` learns it.

The split uses `tf.dynamic_partition`, so these agents do not compile with
XLA.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.agents import data_converter, tf_agent
from policylib.bandits.policies import mixture_policy
from policylib.base import nest_utils
from policylib.trajectories import trajectory
from policylib.typing import types

__all__ = ["MixtureAgent"]


def _dynamic_partition_of_nested_tensors(
    nested_tensor: types.NestedTensor,
    partitions: types.Int,
    num_partitions: int,
) -> list[types.NestedTensor]:
    """Splits every leaf of a nest by `partitions` (one index per outer row).

    Args:
      nested_tensor: a nest of tensors sharing their outer dimension `N`.
      partitions: `[N]` integers in `[0, num_partitions)`.
      num_partitions: the number of parts.

    Returns:
      `num_partitions` nests shaped like `nested_tensor`; leaf `i` of part `k`
      holds the rows of leaf `i` whose partition is `k`. A nest without
      leaves is returned `num_partitions` times.
    """
    leaves = tf.nest.flatten(nested_tensor)
    if not leaves:
        return [nested_tensor] * num_partitions
    parts_per_leaf = [
        tf.dynamic_partition(leaf, partitions, num_partitions) for leaf in leaves
    ]
    return [
        tf.nest.pack_sequence_as(nested_tensor, [parts[k] for parts in parts_per_leaf])
        for k in range(num_partitions)
    ]


def _check_consistent_agents(agents: Sequence[tf_agent.TFAgent]) -> None:
    """ValueError naming the first sub-agent whose specs differ from agent 0's."""
    first = agents[0]
    for index, agent in enumerate(agents[1:], start=1):
        for what, mine, theirs in (
            ("action spec", first.action_spec, agent.action_spec),
            ("time step spec", first.time_step_spec, agent.time_step_spec),
            ("info spec", first.policy.info_spec, agent.policy.info_spec),
        ):
            if mine != theirs:
                raise ValueError(
                    f"Inconsistent {what}s: agents 0 and {index} of the mixture "
                    f"differ: {mine} vs {theirs}."
                )


@gin.configurable
class MixtureAgent(tf_agent.TFAgent, metaclass=abc.ABCMeta):
    """Trains each sub-agent on the samples its policy chose.

    Args:
      mixture_distribution: a `tfp.distributions.Categorical` over the agents,
        from which the policy draws the acting agent; subclasses may update
        its parameters (e.g. variables behind its logits).
      agents: bandit agents with equal action, time step and policy info
        specs.
      name: module name.

    Raises:
      ValueError: no agents, or agents whose specs differ.
      TypeError: `mixture_distribution` is not a `Categorical` (raised by the
        policy).
    """

    def __init__(
        self,
        mixture_distribution: tfp.distributions.Categorical,
        agents: Sequence[tf_agent.TFAgent],
        name: str | None = None,
    ):
        tf.Module.__init__(self, name=name)
        agents = list(agents)
        if not agents:
            raise ValueError("MixtureAgent needs at least one agent.")
        _check_consistent_agents(agents)
        self._agents = agents
        self._num_agents = len(agents)
        self._original_info_spec = agents[0].policy.info_spec
        self._mixture_distribution = mixture_distribution
        policy = mixture_policy.MixturePolicy(
            mixture_distribution, [agent.collect_policy for agent in agents]
        )
        super().__init__(
            agents[0].time_step_spec,
            agents[0].action_spec,
            policy,
            policy,
            train_sequence_length=None,
        )
        self._as_trajectory = data_converter.AsTrajectory(
            self.data_context, sequence_length=None
        )

    @property
    def agents(self) -> list[tf_agent.TFAgent]:
        return list(self._agents)

    def _initialize(self) -> None:
        for agent in self._agents:
            agent.initialize()

    @abc.abstractmethod
    def _update_mixture_distribution(self, experience: trajectory.Trajectory) -> Any:
        """Updates the mixture distribution from a batch of (validated) experience."""

    def _train(
        self, experience: types.NestedTensor, weights: types.Tensor | None = None
    ) -> tf_agent.LossInfo:
        """Trains every sub-agent on its share of `experience`, then the mixture.

        Each sub-agent sees its samples as one `[1, n_k]` batch of single
        steps (`n_k` may be 0).

        Returns:
          `LossInfo(sum of the sub-agents' losses, ())`.
        """
        del weights  # Sub-agents weigh their own samples.
        experience = self._as_trajectory(experience)
        spec = self._time_step_spec

        def flat(value: types.NestedTensor, value_spec: Any) -> Any:
            if not tf.nest.flatten(value):  # E.g. an info without fields.
                return value
            return nest_utils.flatten_multi_batched_nested_tensors(value, value_spec)[0]

        info = experience.policy_info
        info_spec: Any = self.collect_policy.info_spec
        choice = flat(
            info[mixture_policy.MIXTURE_AGENT_ID],
            info_spec[mixture_policy.MIXTURE_AGENT_ID],
        )
        choice = tf.cast(choice, tf.int32)

        def split(value: types.NestedTensor, value_spec: Any) -> list[Any]:
            return _dynamic_partition_of_nested_tensors(
                flat(value, value_spec), choice, self._num_agents
            )

        rewards = split(experience.reward, spec.reward)
        actions = split(experience.action, self._action_spec)
        observations = split(experience.observation, spec.observation)
        infos = split(info[mixture_policy.SUBPOLICY_INFO], self._original_info_spec)
        choices = tf.dynamic_partition(choice, choice, self._num_agents)

        def as_batch(nest: types.NestedTensor) -> types.NestedTensor:
            return tf.nest.map_structure(lambda t: tf.expand_dims(t, 0), nest)

        loss: types.Tensor = tf.constant(0.0)
        for k, agent in enumerate(self._agents):
            sub_experience = trajectory.single_step(
                observation=as_batch(observations[k]),
                action=as_batch(actions[k]),
                policy_info=as_batch(infos[k]),
                reward=as_batch(rewards[k]),
                discount=tf.zeros_like(as_batch(choices[k]), spec.discount.dtype),
            )
            loss += tf.cast(agent.train(sub_experience).loss, tf.float32)
        self._update_mixture_distribution(experience)
        return tf_agent.LossInfo(loss=loss, extra=())
