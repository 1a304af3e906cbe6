"""`Exp3MixtureAgent`: a `MixtureAgent` that learns its mixture weights with EXP3.

Each sub-agent is an arm of an outer EXP3 bandit (Lattimore and Szepesvari,
"Bandit Algorithms", 2019). After a training batch, sub-agent `k` with
mixture probability `p_k` gets the importance-weighted increment

    u_k = 1 - sum over the samples k chose of (1 - reward) / p_k

into its reward aggregate, which is then multiplied by `forgetting` (so old
batches fade and the aggregates stay bounded). The mixture logits are the
aggregates divided by a temperature that grows as the square root of the
number of samples seen, but is never below `max_inverse_temperature`. The
forgetting and this floor both keep the mixture from committing early to an
agent that looked good on little data; `forgetting = 1 - 1 /
max_inverse_temperature` balances them (then the logits are roughly the
agents' recent mean increments). These are TF-Agents' update rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.agents import tf_agent
from policylib.bandits.agents import mixture_agent
from policylib.bandits.policies import mixture_policy
from policylib.base import nest_utils
from policylib.specs import bandit_spec_utils
from policylib.trajectories import trajectory
from policylib.typing import types
from policylib.utils import summaries

__all__ = ["Exp3MixtureAgent", "Exp3MixtureVariableCollection"]


@gin.configurable
class Exp3MixtureVariableCollection(tf.Module):
    """What restores an `Exp3MixtureAgent`'s mixture: reward aggregates and temperature.

    The sub-agents' own variables are not in it.

    Args:
      num_agents: the number of mixed agents.
      reward_aggregates: initial aggregate per agent; zeros if None.
      inverse_temperature: initial value of the temperature variable.

    Raises:
      ValueError: `reward_aggregates` does not have `num_agents` entries.
    """

    def __init__(
        self,
        num_agents: int,
        reward_aggregates: Sequence[float] | None = None,
        inverse_temperature: float = 0.0,
    ):
        super().__init__()
        if reward_aggregates is None:
            reward_aggregates = [0.0] * num_agents
        elif len(reward_aggregates) != num_agents:
            raise ValueError(
                f"`reward_aggregates` must have `num_agents` ({num_agents}) elements; "
                f"got {len(reward_aggregates)}."
            )
        self._reward_aggregates = tf.Variable(
            reward_aggregates, name="reward_aggregates", dtype=tf.float32
        )
        self._inverse_temperature = tf.Variable(
            inverse_temperature, name="inverse_temperature", dtype=tf.float32
        )

    @property
    def reward_aggregates(self) -> tf.Variable:
        return self._reward_aggregates

    @property
    def inverse_temperature(self) -> tf.Variable:
        return self._inverse_temperature


@gin.configurable
class Exp3MixtureAgent(mixture_agent.MixtureAgent):
    """Mixes sub-agents with weights learned by a smoothed EXP3.

    Args:
      agents: the bandit agents to mix and train.
      variable_collection: the mixture's restorable variables; new ones if
        None.
      forgetting: in (0, 1]; the factor the aggregates shrink by each batch.
      max_inverse_temperature: the floor of the temperature the aggregates
        are divided by (the name is TF-Agents').
      name: module name.

    Raises:
      TypeError: `variable_collection` is not an `Exp3MixtureVariableCollection`.
      ValueError: its aggregates do not have one entry per agent, or
        `forgetting` / `max_inverse_temperature` are out of range.
    """

    def __init__(
        self,
        agents: Sequence[tf_agent.TFAgent],
        variable_collection: Exp3MixtureVariableCollection | None = None,
        forgetting: float = 0.999,
        max_inverse_temperature: float = 1000.0,
        name: str | None = None,
    ):
        agents = list(agents)
        if not 0.0 < forgetting <= 1.0:
            raise ValueError(f"forgetting must be in (0, 1]; got {forgetting}.")
        if max_inverse_temperature <= 0.0:
            raise ValueError(
                f"max_inverse_temperature must be positive; got {max_inverse_temperature}."
            )
        num_agents = len(agents)
        if variable_collection is None:
            variable_collection = Exp3MixtureVariableCollection(num_agents)
        elif not isinstance(variable_collection, Exp3MixtureVariableCollection):
            raise TypeError(
                "Parameter `variable_collection` should be of type "
                f"`Exp3MixtureVariableCollection`; got {type(variable_collection).__name__}."
            )
        elif variable_collection.reward_aggregates.shape != [num_agents]:
            raise ValueError(
                "`variable_collection.reward_aggregates` should have shape "
                f"`[len(agents)]` = [{num_agents}]; got "
                f"{variable_collection.reward_aggregates.shape}."
            )
        self._forgetting = forgetting
        self._max_inverse_temperature = max_inverse_temperature
        self._variable_collection = variable_collection
        # Recomputed from the collection after every batch, so not part of it; a
        # variable so that the distribution reads its current value.
        self._mixture_weights = tf.Variable(
            tf.zeros_like(variable_collection.reward_aggregates), name="mixture_weights"
        )
        super().__init__(
            tfp.distributions.Categorical(logits=self._mixture_weights),
            agents,
            name=name,
        )

    def _update_mixture_distribution(
        self, experience: trajectory.Trajectory
    ) -> tf.Tensor:
        reward = experience.reward
        reward_spec = self._time_step_spec.reward
        if isinstance(reward, dict):
            reward = reward[bandit_spec_utils.REWARD_SPEC_KEY]
            reward_spec = reward_spec[bandit_spec_utils.REWARD_SPEC_KEY]
        reward, _ = nest_utils.flatten_multi_batched_nested_tensors(reward, reward_spec)
        reward = tf.cast(reward, tf.float32)
        info_spec: Any = self.collect_policy.info_spec
        choice_spec = info_spec[mixture_policy.MIXTURE_AGENT_ID]
        choice, _ = nest_utils.flatten_multi_batched_nested_tensors(
            experience.policy_info[mixture_policy.MIXTURE_AGENT_ID], choice_spec
        )
        choice = tf.cast(choice, tf.int32)

        probabilities = tf.nn.softmax(self._mixture_weights)
        self._summarize_probabilities(probabilities)
        estimates = (1.0 - reward) / tf.gather(probabilities, choice)
        update = 1.0 - tf.math.unsorted_segment_sum(estimates, choice, self._num_agents)
        collection = self._variable_collection
        collection.reward_aggregates.assign(
            self._forgetting * (collection.reward_aggregates + update)
        )
        num_samples = tf.cast(tf.size(reward), tf.float32)
        collection.inverse_temperature.assign(
            tf.maximum(
                self._max_inverse_temperature,
                tf.sqrt(tf.square(collection.inverse_temperature) + num_samples),
            )
        )
        return self._mixture_weights.assign(
            collection.reward_aggregates / collection.inverse_temperature
        )

    def _summarize_probabilities(self, probabilities: types.Tensor) -> None:
        if not self.summaries_enabled:
            return
        for k in range(self._num_agents):
            summaries.scalar(
                name=f"policy_{k}_prob",
                data=probabilities[k],
                step=self.train_step_counter,
            )
