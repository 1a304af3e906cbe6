"""`PPOPolicy`: an `ActorPolicy` that also runs PPO's value network.

The collect version records what PPO's `train` needs in the policy info: the
action distributions' parameters (`dist_params`) and, unless the agent
computes values in `train`, the value prediction (`value_prediction`).
Observations are normalized with the agent's observation normalizer for both
networks.
"""

from __future__ import annotations

from typing import Any

import gin
import tensorflow as tf

from policylib.agents.ppo import ppo_utils
from policylib.base import nest_utils
from policylib.distributions import utils as distribution_utils
from policylib.networks import network
from policylib.policies import actor_policy
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = ["PPOPolicy"]

_ACTOR_STATE = "actor_network_state"
_VALUE_STATE = "value_network_state"


def _dist_params_spec(
    actor_network: network.Network, actor_output_spec: types.NestedSpec
) -> types.NestedTensorSpec:
    """The spec of `get_distribution_params` of the actor's distributions.

    Raises:
      ValueError: a non-`DistributionNetwork` actor whose outputs are not
        distributions.
    """
    if isinstance(actor_network, network.DistributionNetwork):
        return tf.nest.map_structure(
            lambda spec: spec.input_params_spec, actor_network.output_spec
        )

    def params_spec(spec: object) -> dict[str, types.NestedTensorSpec]:
        if not isinstance(spec, distribution_utils.DistributionSpecV2):
            raise ValueError(
                "Unexpected output from `actor_network`.  Expected `Distribution` "
                f"objects, but saw output spec: {actor_output_spec}"
            )
        return distribution_utils.parameters_to_dict(spec.parameters, tensors_only=True)

    return tf.nest.map_structure(params_spec, actor_output_spec)


@gin.configurable(module="policylib")
class PPOPolicy(actor_policy.ActorPolicy):
    """PPO's policy: the actor's distributions, plus value predictions when collecting.

    Args:
      time_step_spec: the `TimeStep` spec.
      action_spec: nest of action specs.
      actor_network: a `Network` emitting action distributions.
      value_network: a `Network` emitting one value per observation.
      observation_normalizer: a `TensorNormalizer` applied to observations.
      clip: clip actions to bounded specs.
      collect: record `dist_params` (and `value_prediction`) in the info.
      compute_value_and_advantage_in_train: the agent computes values in
        `train`, so the collect policy records no value prediction.

    Raises:
      TypeError: either network is not a `Network`.
      ValueError: the value network does not emit one float per
        observation, or the actor's output does not match `action_spec`.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        actor_network: network.Network,
        value_network: network.Network,
        observation_normalizer: Any = None,
        clip: bool = True,
        collect: bool = True,
        compute_value_and_advantage_in_train: bool = False,
    ):
        if not isinstance(actor_network, network.Network):
            raise TypeError("actor_network is not of type network.Network")
        if not isinstance(value_network, network.Network):
            raise TypeError("value_network is not of type network.Network")
        actor_output_spec = actor_network.create_variables(time_step_spec.observation)
        value_output_spec = value_network.create_variables(time_step_spec.observation)
        nest_utils.assert_value_spec(value_output_spec, "value_network")
        self._compute_value_and_advantage_in_train = (
            compute_value_and_advantage_in_train
        )
        info_spec: types.NestedTensorSpec = ()
        if collect:
            info_spec = {
                "dist_params": _dist_params_spec(actor_network, actor_output_spec)
            }
            if not compute_value_and_advantage_in_train:
                info_spec["value_prediction"] = tensor_spec.TensorSpec(
                    shape=[], dtype=tf.float32, name="value_prediction"
                )
        policy_state_spec: dict[str, types.NestedTensorSpec] = {}
        if actor_network.state_spec:
            policy_state_spec[_ACTOR_STATE] = actor_network.state_spec
        if (
            collect
            and value_network.state_spec
            and not compute_value_and_advantage_in_train
        ):
            policy_state_spec[_VALUE_STATE] = value_network.state_spec
        self._collect = collect
        self._value_network = value_network
        super().__init__(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            actor_network=actor_network,
            policy_state_spec=policy_state_spec or (),
            info_spec=info_spec,
            observation_normalizer=observation_normalizer,
            clip=clip,
        )

    def get_initial_value_state(self, batch_size: types.Int) -> types.NestedTensor:
        """Zeros of the value network's state for `batch_size` rows."""
        return tensor_spec.zero_spec_nest(
            self._value_network.state_spec,
            outer_dims=None if batch_size is None else [batch_size],
        )

    def apply_value_network(
        self,
        observations: types.NestedTensor,
        step_types: types.Tensor,
        value_state: types.NestedTensor | None = None,
        training: bool = False,
    ) -> tuple[tf.Tensor, types.NestedTensor]:
        """`(values, new_value_state)` of (normalized) observations."""
        if self._observation_normalizer:
            observations = self._observation_normalizer.normalize(observations)
        return self._value_network(
            observations,
            step_type=step_types,
            network_state=value_state,
            training=training,
        )

    def _variables(self) -> list:
        variables = list(self._actor_network.variables) + list(
            self._value_network.variables
        )
        if self._observation_normalizer:
            variables += tf.nest.flatten(self._observation_normalizer.variables)
        return variables

    def _distribution(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        training: bool = False,
    ) -> policy_step.PolicyStep:
        state = dict(policy_state) if policy_state else {}
        observation = time_step.observation
        if self._observation_normalizer:
            observation = self._observation_normalizer.normalize(observation)
        distributions, actor_state = self._actor_network(
            observation,
            step_type=time_step.step_type,
            network_state=state.get(_ACTOR_STATE, ()),
            training=training,
        )
        new_state: dict = {_ACTOR_STATE: actor_state}
        info: types.NestedTensor = ()
        if self._collect:
            info = {
                "dist_params": ppo_utils.get_distribution_params(
                    distributions,
                    legacy_distribution_network=isinstance(
                        self._actor_network, network.DistributionNetwork
                    ),
                )
            }
            if not self._compute_value_and_advantage_in_train:
                info["value_prediction"], new_state[_VALUE_STATE] = (
                    self.apply_value_network(
                        time_step.observation,
                        time_step.step_type,
                        value_state=state.get(_VALUE_STATE, ()),
                        training=False,
                    )
                )
        new_state = {
            key: value
            for key, value in new_state.items()
            if common.safe_has_state(value)
        }
        return policy_step.PolicyStep(distributions, new_state or (), info)
