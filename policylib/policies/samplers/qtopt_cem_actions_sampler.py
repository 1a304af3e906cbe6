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

    Draws `rounds` rounds of `draw()` (each a nest of `[B, N, A]`), keeps,
    for each row, the first `N` that `rejecter(draws, state)` accepts in the
    order drawn, and fills the rest of a row short of accepted draws with
    `filler` (a nest of `[A]` tensors).
    """
    draws, masks = [], []
    for _ in range(rounds):
        sample = draw()
        mask = tf.convert_to_tensor(rejecter(sample, state))
        if mask.shape.rank is not None and mask.shape.rank != 2:
            raise ValueError(
                "A sample rejecter must return a [batch, num_samples] mask, got shape "
                f"{mask.shape}."
            )
        draws.append(sample)
        masks.append(tf.cast(mask, tf.bool))
    pool = tf.nest.map_structure(lambda *t: tf.concat(t, axis=1), *draws)
    accepted = tf.concat(masks, axis=1)  # [B, R * N]
    # Accepted draws first, each group in the order drawn.
    position = tf.range(tf.shape(accepted)[1])
    key = tf.where(accepted, position, position + tf.shape(accepted)[1])
    order = tf.argsort(key, axis=1, stable=True)[:, :num_samples]  # [B, N]
    num_accepted = tf.reduce_sum(tf.cast(accepted, tf.int32), axis=1)
    keep = tf.range(num_samples)[None, :] < num_accepted[:, None]  # [B, N]

    def pick(t: tf.Tensor, fill: tf.Tensor) -> tf.Tensor:
        chosen = tf.gather(t, order, batch_dims=1)
        fill = tf.broadcast_to(tf.cast(fill, chosen.dtype), tf.shape(chosen))
        return tf.where(keep[:, :, None], chosen, fill)

    return tf.nest.map_structure(pick, pool, filler)
