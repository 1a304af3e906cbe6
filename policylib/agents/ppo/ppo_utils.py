"""PPO's helpers: validity masks, distribution parameters and their KL divergence.

The collect policy records each action distribution's tensor parameters
(`dist_params`) so `train` can rebuild the old policy's distributions
(`distribution_from_spec`) for the importance ratio and the KL penalty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import tensorflow as tf
import tensorflow_probability as tfp

from policylib.base import nest_utils
from policylib.distributions import utils as distribution_utils
from policylib.specs import distribution_spec
from policylib.trajectories import policy_step, trajectory
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = [
    "distribution_from_spec",
    "get_distribution_params",
    "get_learning_rate",
    "get_metric_observers",
    "make_timestep_mask",
    "make_trajectory_mask",
    "nested_kl_divergence",
    "split_shared_variables",
]


def make_trajectory_mask(batched_traj: trajectory.Trajectory) -> tf.Tensor:
    """1.0 for `[B, T]` steps that train, 0.0 for episode boundaries (LAST to
    FIRST) and for steps without a return (return and advantage both 0: the
    padding after the last computed step)."""
    not_between_episodes = ~batched_traj.is_boundary()
    has_return = ~(
        tf.equal(batched_traj.policy_info["return"], 0)
        & tf.equal(batched_traj.policy_info["advantage"], 0)
    )
    return tf.cast(not_between_episodes & has_return, tf.float32)


def make_timestep_mask(
    batched_next_time_step: ts.TimeStep, allow_partial_episodes: bool = False
) -> tf.Tensor:
    """1.0 for `[B, T]` next steps inside an episode, 0.0 at FIRST steps and,
    unless `allow_partial_episodes`, after the last LAST step of each row."""
    valid = ~batched_next_time_step.is_first()
    if not allow_partial_episodes:
        ends_later = (
            tf.cumsum(
                tf.cast(batched_next_time_step.is_last(), tf.float32),
                axis=1,
                reverse=True,
            )
            > 0
        )
        valid &= ends_later
    return tf.cast(valid, tf.float32)


def distribution_from_spec(
    spec: types.NestedTensorSpec,
    new_distribution_params: types.NestedTensor,
    legacy_distribution_network: bool,
) -> types.NestedDistribution:
    """Distributions rebuilt from recorded parameters.

    Args:
      spec: for a `DistributionNetwork` ("legacy"), its `DistributionSpec`
        output spec; otherwise the network's `DistributionSpecV2` output spec.
      new_distribution_params: the tensors `get_distribution_params` recorded.
      legacy_distribution_network: which of the two kinds `spec` is.
    """
    if legacy_distribution_network:
        return distribution_spec.nested_distributions_from_specs(
            spec, new_distribution_params
        )

    def rebuild(
        leaf_spec: distribution_utils.DistributionSpecV2,
        params: dict[str, types.NestedTensor],
    ) -> types.Distribution:
        return distribution_utils.make_from_parameters(
            distribution_utils.merge_to_parameters_from_dict(
                leaf_spec.parameters, params
            )
        )

    return nest_utils.map_structure_up_to(spec, rebuild, spec, new_distribution_params)


def get_distribution_params(
    nested_distribution: types.NestedDistribution,
    legacy_distribution_network: bool,
) -> types.NestedTensor:
    """The tensor parameters of each distribution, as `distribution_from_spec` takes them.

    For a `DistributionNetwork`, the distribution's own tensor `parameters`
    (a `MultivariateNormalDiag`'s `scale_diag` under the name `scale`, which
    its spec's builder takes); otherwise the flattened parameter dict of
    `distributions.utils.get_parameters`.
    """
    if not legacy_distribution_network:
        return tf.nest.map_structure(
            lambda d: distribution_utils.parameters_to_dict(
                distribution_utils.get_parameters(d), tensors_only=True
            ),
            nested_distribution,
        )

    def tensor_parameters(d: types.Distribution) -> dict[str, tf.Tensor]:
        renamed = {}
        for key, value in d.parameters.items():
            if not tf.is_tensor(value):
                continue
            if isinstance(d, tfp.distributions.MultivariateNormalDiag) and (
                key == "scale_diag"
            ):
                key = "scale"
            renamed[key] = value
        return renamed

    return tf.nest.map_structure(tensor_parameters, nested_distribution)


def nested_kl_divergence(
    nested_from_distribution: types.NestedDistribution,
    nested_to_distribution: types.NestedDistribution,
    outer_dims: Sequence[int] = (),
) -> tf.Tensor:
    """`KL(from || to)` summed over leaves and over all but `outer_dims`."""
    nest_utils.assert_same_structure(nested_from_distribution, nested_to_distribution)
    total = []
    for from_d, to_d in zip(
        tf.nest.flatten(nested_from_distribution),
        tf.nest.flatten(nested_to_distribution),
    ):
        kl = from_d.kl_divergence(to_d)
        inner_axes = [axis for axis in range(len(kl.shape)) if axis not in outer_dims]
        total.append(tf.reduce_sum(kl, axis=inner_axes))
    return tf.add_n(total)


def get_metric_observers(
    metrics: Sequence[Callable[[trajectory.Trajectory], object]],
) -> list[Callable[..., object]]:
    """Driver observers of `(time_step, action, next_time_step, policy_state)`
    that feed each metric the matching `Trajectory`."""

    def observer_for(
        metric: Callable[[trajectory.Trajectory], object],
    ) -> Callable[..., object]:
        def observe(
            time_step: ts.TimeStep,
            action: types.NestedTensor,
            next_time_step: ts.TimeStep,
            policy_state: types.NestedTensor,
        ) -> object:
            action_step = policy_step.PolicyStep(action, policy_state, ())
            return metric(
                trajectory.from_transition(time_step, action_step, next_time_step)
            )

        return observe

    return [observer_for(metric) for metric in metrics]


def get_learning_rate(optimizer: types.Optimizer) -> Any:
    """The optimizer's learning rate (Keras 2/3 or `tf.compat.v1`), or -1."""
    for attribute in ("learning_rate", "_lr", "_learning_rate"):
        if hasattr(optimizer, attribute):
            value = getattr(optimizer, attribute)
            if attribute != "learning_rate" and callable(value):
                return value()
            return value
    return -1


def split_shared_variables(
    first: Iterable[tf.Variable], second: Iterable[tf.Variable]
) -> tuple[list[tf.Variable], list[tf.Variable], list[tf.Variable]]:
    """`(only in first, only in second, in both)` of two variable lists (by identity)."""
    first, second = list(first), list(second)
    first_ids = {id(v) for v in first}
    second_ids = {id(v) for v in second}
    return (
        [v for v in first if id(v) not in second_ids],
        [v for v in second if id(v) not in first_ids],
        [v for v in first if id(v) in second_ids],
    )
