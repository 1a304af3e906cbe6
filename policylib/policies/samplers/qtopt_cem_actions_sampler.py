"""Interfaces of QT-Opt's cross-entropy-method (CEM) action samplers.

`CEMPolicy` asks a sampler for candidate actions around a per-row mean and
variance, scores them with a Q-network and asks the sampler to refit mean and
variance to the best ones. Shapes below: `B` batch, `N` samples, `M` elites,
`A` the size of a (1-d) action leaf.

Clippers and rejecters are hooks a sampler applies to its draws: a clipper
maps actions to actions (e.g. onto a constraint set), a rejecter maps them to
a `[B, N]` boolean mask of the ones to keep.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from policylib.base import nest_utils
from policylib.specs import tensor_spec
from policylib.typing import types
from policylib.utils import common

__all__ = ["ActionsSampler", "SampleClipper", "SampleRejecter"]


class ActionsSampler:
    """Base class of the samplers `CEMPolicy` draws candidate actions from.

    As in TF-Agents, the methods are abstract by convention only: the base
    class can be built, and its methods raise `NotImplementedError`.

    Args:
      action_spec: nest of `BoundedTensorSpec`s of the actions to sample.
      sample_clippers: callables `(actions, state) -> actions` applied to every
        draw; how they are grouped depends on the subclass.
      sample_rejecters: callables `(actions, state) -> [B, N] bool mask` that
        drop draws; how they are grouped depends on the subclass.
    """

    def __init__(
        self,
        action_spec: types.NestedTensorSpec,
        sample_clippers: Any = None,
        sample_rejecters: Any = None,
    ):
        self._action_spec: Any = action_spec
        self._sample_clippers = sample_clippers
        self._sample_rejecters = sample_rejecters

    def refit_distribution_to(
        self, target_sample_indices: tf.Tensor, samples: types.NestedTensor
    ) -> tuple[types.NestedTensor, types.NestedTensor]:
        """The mean and variance (each `[B, A]` per leaf) fitted to the elites.

        Args:
          target_sample_indices: `[B, M]` int indices of the elites among the
            `N` samples of each row.
          samples: the last draw, a nest like `action_spec` of `[B, N, A]`.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement refit_distribution_to()."
        )

    def _check_params(self, mean: types.NestedTensor, var: types.NestedTensor) -> None:
        """ValueError unless `mean` and `var` have the action spec's structure."""
        for label, params in (("mean", mean), ("var", var)):
            nest_utils.assert_same_structure(
                params,
                self._action_spec,
                check_types=False,
                message=f"{type(self).__name__}: {label} must match the action_spec",
            )

    def sample_batch_and_clip(
        self,
        num_samples: int,
        mean: types.NestedTensor,
        var: types.NestedTensor,
        state: types.NestedTensor | None = None,
    ) -> types.NestedTensor:
        """`num_samples` clipped actions per row: a nest of `[B, N, A]` tensors.

        Args:
          num_samples: `N`.
          mean: nest like `action_spec` of `[B, A]` means.
          var: nest like `action_spec` of `[B, A]` variances.
          state: the observation the actions are for, handed to the clippers
            and rejecters.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement sample_batch_and_clip()."
        )


class SampleClipper:
    """A callable that moves sampled actions onto a constraint set."""

    def __call__(
        self, actions: types.NestedTensor, state: types.NestedTensor
    ) -> types.NestedTensor:
        """The clipped `actions` (same structure and shapes).

        Args:
          actions: nest of `[B, N, A]` sampled actions.
          state: the observation the actions are for.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement __call__()."
        )


class SampleRejecter:
    """A callable that marks which sampled actions to keep."""

    def __call__(
        self, actions: types.NestedTensor, state: types.NestedTensor
    ) -> tf.Tensor:
        """A `[B, N]` boolean mask, True for the actions to keep.

        Args:
          actions: nest of `[B, N, A]` sampled actions.
          state: the observation the actions are for.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement __call__()."
        )


def _checked_specs(
    action_spec: types.NestedTensorSpec, sampler: str
) -> list[tuple[str, tf.TensorSpec]]:
    """`(path, spec)` for each leaf of `action_spec`, which must be bounded and 1-d.

    Raises:
      ValueError: a leaf is not a `BoundedTensorSpec` or its rank is not 1.
        The message names the leaf and `sampler`.
    """
    leaves = nest_utils.flatten_with_joined_paths(action_spec)
    for path, spec in leaves:
        where = f"action_spec leaf {path or '<root>'!r} ({spec!r})"
        if spec.shape.rank != 1 or spec.shape[0] is None:
            raise ValueError(
                f"Only 1d action is supported by this sampler ({sampler}), but "
                f"{where} has shape {spec.shape}; split it into 1-d leaves."
            )
        if not tensor_spec.is_bounded(spec):
            raise ValueError(
                f"{sampler} clips its samples to the action bounds, but {where} is "
                "not a BoundedTensorSpec."
            )
    return leaves


def _elite_moments(
    target_sample_indices: tf.Tensor, samples: types.NestedTensor
) -> tuple[types.NestedTensor, types.NestedTensor]:
    """Per-leaf `[B, A]` mean and population variance of each row's elites."""
    elites = tf.nest.map_structure(
        lambda s: tf.gather(s, target_sample_indices, batch_dims=1), samples
    )
    mean = tf.nest.map_structure(lambda e: tf.reduce_mean(e, axis=1), elites)
    var = tf.nest.map_structure(
        lambda e, m: tf.reduce_mean(tf.square(e - m[:, None]), axis=1), elites, mean
    )
    return mean, var


def _normal_draws(num_samples: int, mean: tf.Tensor, var: tf.Tensor) -> tf.Tensor:
    """`[B, N, A]` draws from `Normal(mean, sqrt(var))` for `[B, A]` mean and var."""
    mean = tf.convert_to_tensor(mean)
    var = tf.cast(var, mean.dtype)
    shape = tf.concat([tf.shape(mean)[:1], [num_samples], tf.shape(mean)[1:]], 0)
    noise = tf.random.normal(shape, dtype=mean.dtype)
    return mean[:, None] + tf.sqrt(var)[:, None] * noise


def _apply_clippers(
    clippers: Any, actions: types.NestedTensor, state: types.NestedTensor
) -> types.NestedTensor:
    """`actions` passed through each of `clippers` in order (none if falsy)."""
    for clipper in clippers or ():
        actions = clipper(actions, state)
    return actions


def _clip_to_specs(
    actions: types.NestedTensor, action_spec: types.NestedTensorSpec
) -> types.NestedTensor:
    """Each leaf of `actions` clipped to the bounds of its spec."""
    return tf.nest.map_structure(common.clip_to_spec, actions, action_spec)


def _checked_rounds(max_rejection_iterations: Any) -> int:
    """`max_rejection_iterations` as an int; ValueError unless it is >= 1."""
    if (
        not isinstance(max_rejection_iterations, (int, np.integer))
        or max_rejection_iterations < 1
    ):
        raise ValueError(
            "max_rejection_iterations must be an integer >= 1, got "
            f"{max_rejection_iterations!r}."
        )
    return int(max_rejection_iterations)


def _sample_with_rejection(
    draw: Any,
    rejecter: Any,
    num_samples: int,
    rounds: int,
    state: types.NestedTensor,
    filler: types.NestedTensor,
) -> types.NestedTensor:
    """`num_samples` accepted draws per row, padded with `filler` if too few.

    Draws rounds of `draw()` (each a nest of `[B, N, A]`) until every row has
    `N` draws that `rejecter(draws, state)` accepts, or `rounds` rounds are
    done; keeps each row's first `N` accepted in the order drawn and fills
    the rest of a row short of them with `filler` (a nest of `[A]` tensors).
    """

    def checked_mask(sample: types.NestedTensor) -> tf.Tensor:
        mask = tf.convert_to_tensor(rejecter(sample, state))
        if mask.shape.rank is not None and mask.shape.rank != 2:
            raise ValueError(
                "A sample rejecter must return a [batch, num_samples] mask, got shape "
                f"{mask.shape}."
            )
        return tf.cast(mask, tf.bool)

    def merge(
        kept: types.NestedTensor,
        kept_mask: tf.Tensor,
        sample: types.NestedTensor,
        sample_mask: tf.Tensor,
    ) -> tuple[types.NestedTensor, tf.Tensor]:
        """The first `N` accepted of `kept` then `sample`, per row, and their mask."""
        accepted = tf.concat([kept_mask, sample_mask], axis=1)  # [B, 2N]
        position = tf.range(tf.shape(accepted)[1])
        key = tf.where(accepted, position, position + tf.shape(accepted)[1])
        order = tf.argsort(key, axis=1, stable=True)[:, :num_samples]  # [B, N]
        merged = tf.nest.map_structure(
            lambda k, d: tf.gather(tf.concat([k, d], axis=1), order, batch_dims=1),
            kept,
            sample,
        )
        return merged, tf.gather(accepted, order, batch_dims=1)

    first = draw()
    first_mask = checked_mask(first)
    kept, kept_mask = merge(first, tf.zeros_like(first_mask), first, first_mask)

    def more(i: tf.Tensor, kept: Any, kept_mask: tf.Tensor) -> tf.Tensor:
        return tf.logical_and(i < rounds, tf.logical_not(tf.reduce_all(kept_mask)))

    def again(i: tf.Tensor, kept: Any, kept_mask: tf.Tensor) -> tuple[Any, ...]:
        sample = draw()
        return (i + 1, *merge(kept, kept_mask, sample, checked_mask(sample)))

    _, kept, kept_mask = tf.while_loop(more, again, (tf.constant(1), kept, kept_mask))

    def fill(t: tf.Tensor, value: tf.Tensor) -> tf.Tensor:
        value = tf.broadcast_to(tf.cast(value, t.dtype), tf.shape(t))
        return tf.where(kept_mask[:, :, None], t, value)

    return tf.nest.map_structure(fill, kept, filler)
