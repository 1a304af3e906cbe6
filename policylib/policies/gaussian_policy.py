"""`GaussianPolicy`: adds Gaussian exploration noise to a continuous policy's actions."""

from __future__ import annotations

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.policies import policy_specs, tf_policy
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["ActionNoisePolicy", "GaussianPolicy", "check_continuous"]


def check_continuous(action_spec: types.NestedTensorSpec, noise: str) -> None:
    """ValueError unless every action leaf is continuous."""
    for path_spec in tf.nest.flatten(action_spec):
        if not tensor_spec.is_continuous(path_spec):
            raise ValueError(
                f"{noise} is applicable only to continuous actions; got {path_spec}."
            )


class ActionNoisePolicy(tf_policy.TFPolicy):
    """Base of the noise wrappers: a continuous policy's actions plus noise.

    It takes the wrapped policy's specs and checks its actions are
    continuous; a subclass adds its noise in `_action`. A noisy policy has no
    distribution.

    Args:
      wrapped_policy: the continuous-action policy to perturb.
      noise: the noise's name, for the error on a discrete action spec.
      clip: clip noisy actions to the spec.
      name: module name.
    """

    def __init__(
        self,
        wrapped_policy: tf_policy.TFPolicy,
        noise: str,
        clip: bool,
        name: str | None,
    ):
        check_continuous(wrapped_policy.action_spec, noise)
        super().__init__(
            **policy_specs.wrapped_specs(wrapped_policy),
            clip=clip,
            name=name,
        )
        self._wrapped_policy = wrapped_policy

    @property
    def wrapped_policy(self) -> tf_policy.TFPolicy:
        return self._wrapped_policy

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        raise NotImplementedError(
            f"{type(self).__name__} does not implement distribution()."
        )


@gin.configurable
class GaussianPolicy(ActionNoisePolicy):
    """`action = wrapped_action + N(0, scale^2)` per action element.

    Each batch entry gets its own noise draw.

    Args:
      wrapped_policy: the continuous-action policy to perturb.
      scale: noise standard deviation.
      clip: clip noisy actions to the spec.
      name: module name.
    """

    def __init__(
        self,
        wrapped_policy: tf_policy.TFPolicy,
        scale: types.Float = 1.0,
        clip: bool = True,
        name: str | None = None,
    ):
        super().__init__(wrapped_policy, "Gaussian Noise", clip, name)
        self._noise_distribution = tf.nest.map_structure(
            lambda spec: tfp.distributions.Normal(
                loc=tf.zeros(spec.shape, dtype=spec.dtype),
                scale=tf.ones(spec.shape, dtype=spec.dtype) * scale,
            ),
            self._action_spec,
        )

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        seed_stream = tfp.util.SeedStream(seed=seed, salt="gaussian_noise")
        step = self._wrapped_policy.action(time_step, policy_state, seed_stream())

        def _add_noise(action: tf.Tensor, noise: tfp.distributions.Normal) -> tf.Tensor:
            # One draw per batch entry (outer dims), not one shared by the batch.
            outer_rank = action.shape.rank - noise.batch_shape.rank
            return action + noise.sample(
                tf.shape(action)[:outer_rank], seed=seed_stream()
            )

        actions = tf.nest.map_structure(
            _add_noise, step.action, self._noise_distribution
        )
        return policy_step.PolicyStep(actions, step.state, step.info)
