"""`OUNoisePolicy`: adds Ornstein-Uhlenbeck (temporally correlated) noise to actions."""

from __future__ import annotations

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.policies import gaussian_policy, tf_policy
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = ["OUNoisePolicy"]


@gin.configurable
class OUNoisePolicy(gaussian_policy.ActionNoisePolicy):
    """`action = wrapped_action + x`, `x <- (1 - damping) * x + N(0, stddev^2)` per call.

    The noise state lives in non-trainable variables created on the first
    call (one process per action leaf, shared across the batch shape of the
    spec).

    Args:
      wrapped_policy: the continuous-action policy to perturb.
      ou_stddev: standard deviation of the noise increments.
      ou_damping: pull of the noise towards 0.
      clip: clip noisy actions to the spec.
      name: module name.
    """

    def __init__(
        self,
        wrapped_policy: tf_policy.TFPolicy,
        ou_stddev: types.Float = 1.0,
        ou_damping: types.Float = 1.0,
        clip: bool = True,
        name: str | None = None,
    ):
        super().__init__(wrapped_policy, "OU Noise", clip, name)
        self._ou_stddev = ou_stddev
        self._ou_damping = ou_damping
        self._ou_process = None

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        seed_stream = tfp.util.SeedStream(seed=seed, salt="ou_noise")
        if self._ou_process is None:
            self._ou_process = tf.nest.map_structure(
                lambda spec: common.OUProcess(
                    lambda: tf.zeros(spec.shape, dtype=spec.dtype),
                    self._ou_damping,
                    self._ou_stddev,
                    seed=seed_stream(),
                ),
                self._action_spec,
            )
        step = self._wrapped_policy.action(time_step, policy_state, seed_stream())
        actions = tf.nest.map_structure(
            lambda action, process: action + process(), step.action, self._ou_process
        )
        return policy_step.PolicyStep(actions, step.state, step.info)
