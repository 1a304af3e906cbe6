"""`QPolicy`: a categorical policy over the Q-values of a discrete action.

`distribution()` is `Categorical(logits=Q(s, .))`; wrap it in `GreedyPolicy`
for argmax actions or `BoltzmannPolicy` for a temperature.
"""

from __future__ import annotations

from typing import Any

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.distributions import shifted_categorical
from policylib.networks import network
from policylib.networks import utils as network_utils
from policylib.policies import tf_policy
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["QPolicy"]


def check_network_action_spec(
    action_spec: types.TensorSpec, q_network: types.Network
) -> None:
    """ValueError unless `action_spec` is compatible with `q_network.action_spec` (if any)."""
    network_action_spec = getattr(q_network, "action_spec", None)
    if network_action_spec is not None and not action_spec.is_compatible_with(
        network_action_spec
    ):
        raise ValueError(
            "action_spec must be compatible with q_network.action_spec; instead got "
            f"action_spec={action_spec}, q_network.action_spec={network_action_spec}"
        )


def masked_logits(logits: tf.Tensor, mask: Any, fill: Any) -> tf.Tensor:
    """`logits` with entries where `mask` is 0 replaced by `fill`."""
    return tf.where(
        tf.cast(mask, tf.bool), logits, tf.constant(fill, dtype=logits.dtype)
    )


@gin.configurable
class QPolicy(tf_policy.TFPolicy):
    """Samples actions from the softmax of a Q-network's outputs.

    Args:
      time_step_spec: the `TimeStep` spec.
      action_spec: one bounded discrete spec (scalar, minimum 0 when validated).
      q_network: a `Network` mapping observations to `[B, num_actions]`.
      emit_log_probability: add log-probabilities to the info.
      observation_and_action_constraint_splitter: splits the observation into
        `(observation, mask)`; masked actions are never chosen.
      validate_action_spec_and_network: check the spec and the network's output.
      name: module name.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        q_network: network.Network,
        emit_log_probability: bool = False,
        observation_and_action_constraint_splitter: types.Splitter = None,
        validate_action_spec_and_network: bool = True,
        name: str | None = None,
    ):
        action_spec = tensor_spec.from_spec(action_spec)
        time_step_spec = tensor_spec.from_spec(time_step_spec)
        check_network_action_spec(action_spec, q_network)
        flat_action_spec = tf.nest.flatten(action_spec)
        if len(flat_action_spec) > 1:
            raise ValueError(
                f"Only scalar actions are supported now, but action spec is: {action_spec}"
            )
        spec = flat_action_spec[0]
        if validate_action_spec_and_network:
            if spec.shape.rank > 0:
                raise ValueError(
                    f"Only scalar actions are supported now, but action spec is: {action_spec}"
                )
            if spec.minimum != 0:
                raise ValueError(
                    f"Action specs should have minimum of 0, but saw: {spec}"
                )
            num_actions = int(spec.maximum) - int(spec.minimum) + 1
            network_utils.check_single_floating_network_output(
                q_network.create_variables(), (num_actions,), str(q_network)
            )
        self._flat_action_spec = spec
        self._q_network = q_network
        super().__init__(
            time_step_spec,
            action_spec,
            policy_state_spec=q_network.state_spec,
            clip=False,
            emit_log_probability=emit_log_probability,
            observation_and_action_constraint_splitter=observation_and_action_constraint_splitter,
            name=name,
        )

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        observation, mask = self._split_observation(time_step.observation)
        logits, policy_state = self._q_network(
            observation, network_state=policy_state, step_type=time_step.step_type
        )
        if mask is not None:
            logits = masked_logits(logits, mask, logits.dtype.min)
        spec = self._flat_action_spec
        if spec.minimum != 0:
            distribution = shifted_categorical.ShiftedCategorical(
                logits=logits, dtype=spec.dtype, shift=spec.minimum
            )
        else:
            distribution = tfp.distributions.Categorical(
                logits=logits, dtype=spec.dtype
            )
        distribution = tf.nest.pack_sequence_as(self._action_spec, [distribution])
        return policy_step.PolicyStep(distribution, policy_state)
