"""`ActorPolicy`: acts with an actor network that emits actions or distributions.

The network's tensor outputs become `Deterministic` distributions, so
`distribution()` always returns distributions and `action()` samples them (a
deterministic network's sample is its output), then clips to the spec.
"""

from __future__ import annotations

from typing import Any

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.distributions import utils as distribution_utils
from policylib.networks import network
from policylib.policies import tf_policy
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["ActorPolicy"]


@gin.configurable
class ActorPolicy(tf_policy.TFPolicy):
    """A policy around an actor `Network`.

    Args:
      time_step_spec: the `TimeStep` spec.
      action_spec: nest of action specs; must match the network's outputs.
      actor_network: a `Network` returning actions or distributions.
      policy_state_spec: defaults to the network's `state_spec`.
      info_spec: info spec.
      observation_normalizer: optional object with `normalize(observation)`.
      clip: clip actions to bounded specs.
      training: passed to the network as `training=`.
      observation_and_action_constraint_splitter: splits the observation into
        `(observation, mask)`; the mask is passed as `mask=` (single discrete
        action spec only).
      name: module name.

    Raises:
      ValueError: `actor_network` is not a `Network`, or its output spec does
        not match `action_spec`.
      NotImplementedError: a splitter with a non-discrete or nested action spec.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        actor_network: network.Network,
        policy_state_spec: types.NestedTensorSpec = (),
        info_spec: types.NestedTensorSpec = (),
        observation_normalizer: Any = None,
        clip: bool = True,
        training: bool = False,
        observation_and_action_constraint_splitter: types.Splitter = None,
        name: str | None = None,
    ):
        time_step_spec = tensor_spec.from_spec(time_step_spec)
        action_spec = tensor_spec.from_spec(action_spec)
        if not isinstance(actor_network, network.Network):
            raise ValueError(
                f"actor_network must be a network.Network. Found {type(actor_network)}."
            )
        actor_output_spec = actor_network.create_variables(time_step_spec.observation)
        if isinstance(actor_network, network.DistributionNetwork):
            actor_output_spec = tf.nest.map_structure(
                lambda spec: spec.sample_spec, actor_network.output_spec
            )
        distribution_utils.assert_specs_are_compatible(
            actor_output_spec,
            action_spec,
            "actor_network output spec does not match action spec",
        )
        if observation_and_action_constraint_splitter is not None and (
            len(tf.nest.flatten(action_spec)) > 1
            or not tensor_spec.is_discrete(action_spec)
        ):
            raise NotImplementedError(
                "Action constraints for ActorPolicy are only supported for a single spec of "
                f"discrete actions. Got action_spec {action_spec}"
            )
        self._actor_network = actor_network
        self._observation_normalizer = observation_normalizer
        self._training = training
        super().__init__(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            policy_state_spec=policy_state_spec or actor_network.state_spec,
            info_spec=info_spec,
            clip=clip,
            observation_and_action_constraint_splitter=observation_and_action_constraint_splitter,
            name=name,
        )

    @property
    def observation_normalizer(self) -> Any:
        return self._observation_normalizer

    def _apply_actor_network(
        self,
        observation: types.NestedTensor,
        step_type: tf.Tensor,
        policy_state: types.NestedTensor,
        mask: types.TensorOrArray | None = None,
    ) -> tuple[types.NestedTensor, types.NestedTensor]:
        if self._observation_normalizer:
            observation = self._observation_normalizer.normalize(observation)
        kwargs = {} if mask is None else {"mask": mask}
        return self._actor_network(
            observation,
            step_type=step_type,
            network_state=policy_state,
            training=self._training,
            **kwargs,
        )

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        observation, mask = self._split_observation(time_step.observation)
        outputs, policy_state = self._apply_actor_network(
            observation,
            step_type=time_step.step_type,
            policy_state=policy_state,
            mask=mask,
        )

        def _as_distribution(output: object) -> object:
            if isinstance(output, tf.Tensor):
                return tfp.distributions.Deterministic(loc=output)
            return output

        return policy_step.PolicyStep(
            tf.nest.map_structure(_as_distribution, outputs), policy_state
        )
