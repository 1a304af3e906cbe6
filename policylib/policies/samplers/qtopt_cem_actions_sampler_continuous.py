"""A CEM actions sampler for nests of continuous 1-d actions.

Every leaf is drawn from independent Gaussians (one per action dimension and
batch row), passed through the clippers and clipped to its spec's bounds.
With a rejecter, each row keeps the first `N` draws it accepts.
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
    """Samples continuous actions from per-row Gaussians.

    Args:
      action_spec: nest of 1-d `BoundedTensorSpec`s, all floating point unless
        `support_integer`.
      sample_clippers: clippers `(actions, state) -> actions` applied in order
        to every draw, before clipping to the spec.
      sample_rejecters: one callable `(actions, state) -> [B, N] bool mask`.
        Each call then draws up to `max_rejection_iterations` rounds of `N`
        and keeps each row's first `N` accepted draws; a row short of them is
        filled with zeros (clipped to the spec).
      max_rejection_iterations: rounds of `N` draws when rejecting.
      support_integer: also accept integer leaves: drawn as floats, clipped,
        then cast to the leaf's dtype (which truncates toward zero).

    Raises:
      ValueError: a leaf is not bounded or not 1-d, or is an integer leaf
        without `support_integer`.
    """

    def __init__(
        self,
        action_spec: types.NestedTensorSpec,
        sample_clippers: Any = None,
        sample_rejecters: Any = None,
        max_rejection_iterations: int = 10,
        support_integer: bool = False,
    ):
        action_spec = tensor_spec.from_spec(action_spec)
        for path, spec in base._checked_specs(action_spec, type(self).__name__):
            if spec.dtype.is_integer and not support_integer:
                raise ValueError(
                    "Only continuous action is supported by this sampler (set "
                    f"support_integer=True to sample integer leaves), but action_spec "
                    f"leaf {path or '<root>'!r} is {spec!r}."
                )
            if not (spec.dtype.is_integer or spec.dtype.is_floating):
                raise ValueError(
                    f"action_spec leaf {path or '<root>'!r} has dtype {spec.dtype.name}; "
                    "this sampler draws numbers."
                )
        if sample_rejecters is not None and not callable(sample_rejecters):
            raise TypeError(
                "sample_rejecters must be one callable (actions, state) -> mask for this "
                f"sampler, got {type(sample_rejecters).__name__}."
            )
        super().__init__(action_spec, sample_clippers, sample_rejecters)
        self._max_rejection_iterations = base._checked_rounds(max_rejection_iterations)
        self._support_integer = support_integer

    def refit_distribution_to(
        self, target_sample_indices: tf.Tensor, samples: types.NestedTensor
    ) -> tuple[types.NestedTensor, types.NestedTensor]:
        """Mean and (population) variance over each row's elites, per leaf."""
        return base._elite_moments(target_sample_indices, samples)

    def sample_batch_and_clip(
        self,
        num_samples: int,
        mean: types.NestedTensor,
        var: types.NestedTensor,
        state: types.NestedTensor | None = None,
    ) -> types.NestedTensor:
        """`[B, N, A]` Gaussian draws per leaf, clipped (and cast if integer)."""
        self._check_params(mean, var)

        def draw() -> types.NestedTensor:
            draws = tf.nest.map_structure(
                lambda m, v: base._normal_draws(num_samples, m, v), mean, var
            )
            draws = base._apply_clippers(self._sample_clippers, draws, state)
            return base._clip_to_specs(draws, self._action_spec)

        if self._sample_rejecters:
            filler = tf.nest.map_structure(
                lambda m, spec: tf.zeros(spec.shape, tf.convert_to_tensor(m).dtype),
                mean,
                self._action_spec,
            )
            actions = base._sample_with_rejection(
                draw,
                self._sample_rejecters,
                num_samples,
                self._max_rejection_iterations,
                state,
                base._clip_to_specs(filler, self._action_spec),
            )
        else:
            actions = draw()
        if self._support_integer:
            actions = tf.nest.map_structure(
                lambda a, spec: tf.cast(a, spec.dtype), actions, self._action_spec
            )
        return actions
