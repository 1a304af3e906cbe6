"""`CategoricalQPolicy`: a categorical policy over the expected values of a C51 network."""

from __future__ import annotations

import gin
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.networks import network
from policylib.networks import utils as network_utils
from policylib.policies import q_policy, tf_policy
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = ["CategoricalQPolicy"]


@gin.configurable
class CategoricalQPolicy(tf_policy.TFPolicy):
    """`Categorical(logits=E[Q(s, .)] / temperature)` from per-action atom logits.

    Args:
      time_step_spec: the `TimeStep` spec.
      action_spec: a scalar `BoundedTensorSpec` with minimum 0.
      q_network: a network with `num_atoms` returning `[B, num_actions, num_atoms]`.
      min_q_value, max_q_value: range of the (evenly spaced) value support.
      observation_and_action_constraint_splitter: masked actions get
        probability 0.
      temperature: divides the expected values before the softmax.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        q_network: network.Network,
        min_q_value: types.Float,
        max_q_value: types.Float,
        observation_and_action_constraint_splitter: types.Splitter = None,
        temperature: types.Float = 1.0,
    ):
        q_policy.check_network_action_spec(action_spec, q_network)
        if not isinstance(action_spec, tensor_spec.BoundedTensorSpec):
            raise TypeError(
                f"action_spec must be a BoundedTensorSpec. Got: {action_spec}"
            )
        if action_spec.minimum != 0:
            raise ValueError(
                f"Action specs should have minimum of 0, but saw: {action_spec}.  If collecting "
                "from a python environment, consider using "
                "environments.wrappers.ActionOffsetWrapper."
            )
        num_actions = int(action_spec.maximum) - int(action_spec.minimum) + 1
        num_atoms = getattr(q_network, "num_atoms", None)
        if num_atoms is None:
            raise ValueError(
                "Expected q_network to have property `num_atoms`, but it doesn't (you likely "
                f"want a CategoricalQNetwork). Network is: {q_network}"
            )
        self._num_atoms = num_atoms
        network_utils.check_single_floating_network_output(
            q_network.create_variables(), (num_actions, num_atoms), str(q_network)
        )
        super().__init__(
            time_step_spec,
            action_spec,
            policy_state_spec=q_network.state_spec,
            observation_and_action_constraint_splitter=observation_and_action_constraint_splitter,
        )
        self._temperature = tf.convert_to_tensor(temperature, dtype=tf.float32)
        self._q_network = q_network
        self._support = tf.constant(
            np.linspace(min_q_value, max_q_value, num_atoms, dtype=np.float32)
        )
        self._action_dtype = action_spec.dtype

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        observation, mask = self._split_observation(time_step.observation)
        q_logits, policy_state = self._q_network(
            observation, step_type=time_step.step_type, network_state=policy_state
        )
        q_logits.shape.assert_has_rank(3)
        logits = (
            common.convert_q_logits_to_values(q_logits, self._support)
            / self._temperature
        )
        if mask is not None:
            logits = q_policy.masked_logits(logits, mask, -np.inf)
        distribution = tfp.distributions.Categorical(
            logits=logits, dtype=self._action_dtype
        )
        return policy_step.PolicyStep(distribution, policy_state)
