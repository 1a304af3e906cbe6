"""A CEM actions sampler for nests mixing continuous and discrete 1-d actions.

Every leaf is drawn from per-row Gaussians; integer leaves get the draws cast
to their dtype (truncating toward zero, as TF-Agents does), then every leaf is
clipped to its spec's bounds and passed through the clippers.
"""

from __future__ import annotations

from typing import Any

import gin
import tensorflow as tf

from policylib.policies.samplers import qtopt_cem_actions_sampler as base
from policylib.specs import tensor_spec
from policylib.typing import types

__all__ = ["GaussianActionsSampler"]


@gin.configurable
class GaussianActionsSampler(base.ActionsSampler):
    """Samples continuous and integer actions from per-row Gaussians.

    Args:
      action_spec: nest of 1-d `BoundedTensorSpec`s, floating point or integer.
      sample_clippers: clippers `(actions, state) -> actions` applied in order
        after clipping to the spec.

    Raises:
      ValueError: a leaf is not bounded, not 1-d, or neither floating point
        nor integer.
    """

    def __init__(
        self, action_spec: types.NestedTensorSpec, sample_clippers: Any = None
    ):
        action_spec = tensor_spec.from_spec(action_spec)
        for path, spec in base._checked_specs(action_spec, type(self).__name__):
            if not (spec.dtype.is_integer or spec.dtype.is_floating):
                raise ValueError(
                    f"action_spec leaf {path or '<root>'!r} has dtype {spec.dtype.name}; "
                    "this sampler draws numbers."
                )
        super().__init__(action_spec, sample_clippers)

    def refit_distribution_to(
        self, target_sample_indices: tf.Tensor, samples: types.NestedTensor
    ) -> tuple[types.NestedTensor, types.NestedTensor]:
        """float32 mean and (population) variance over each row's elites, per leaf."""
        samples = tf.nest.map_structure(lambda s: tf.cast(s, tf.float32), samples)
        return base._elite_moments(target_sample_indices, samples)

    def sample_batch_and_clip(
        self,
        num_samples: int,
        mean: types.NestedTensor,
        var: types.NestedTensor,
        state: types.NestedTensor | None = None,
    ) -> types.NestedTensor:
        """`[B, N, A]` draws per leaf in its dtype, clipped, then custom-clipped."""
        self._check_params(mean, var)
        actions = tf.nest.map_structure(
            lambda m, v, spec: tf.cast(
                base._normal_draws(num_samples, m, v), spec.dtype
            ),
            mean,
            var,
            self._action_spec,
        )
        actions = base._clip_to_specs(actions, self._action_spec)
        return base._apply_clippers(self._sample_clippers, actions, state)
