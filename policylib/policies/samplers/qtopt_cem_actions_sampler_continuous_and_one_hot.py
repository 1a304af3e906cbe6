"""A CEM actions sampler for a dict of continuous actions and one one-hot action.

The one-hot (integer) leaf of size `S` chooses among `S` mutually exclusive
actions. `sub_actions_fields` groups the dict's keys into sub-actions: the
group holding only the one-hot key stands for plain 0/1 choices, and each
other group is a choice that comes with its continuous keys. With `K`
continuous groups the one-hot key has `S - K` plain choices.

Groups take one-hot positions in their order: with `S = 4` and groups
`[["c1", "c3"], ["one_hot"], ["c2"]]`, position 0 means "c1 and c3",
positions 1 and 2 the two plain choices, position 3 "c2". A sample sets the
keys of its group and leaves every other continuous key at zero (clipped to
its spec).

Of `N` samples per row, the plain choices get one sample each (enumerated,
not drawn) and the continuous groups share the other `N - S + K` evenly (the
last continuous group takes the remainder), each drawn from per-row Gaussians.
Samples are laid out group by group along the sample axis.
"""

from __future__ import annotations

import collections.abc
from typing import Any

import gin
import tensorflow as tf

from policylib.policies.samplers import qtopt_cem_actions_sampler as base
from policylib.specs import tensor_spec
from policylib.typing import types

__all__ = ["GaussianActionsSampler"]


@gin.configurable
class GaussianActionsSampler(base.ActionsSampler):
    """Samples one-hot choices and the continuous actions that come with them.

    Args:
      action_spec: dict of 1-d `BoundedTensorSpec`s: exactly one integer leaf
        (the one-hot choice, bounds covering 0 and 1), the rest floating point.
      sample_clippers: one list of clippers per group of `sub_actions_fields`,
        applied in order to that group's draws (before clipping to the spec);
        the one-hot group's list is not used.
      sub_actions_fields: list of groups (lists of keys) covering every key of
        `action_spec` once; the one-hot key forms a group on its own.
      sample_rejecters: one rejecter `(actions, state) -> [B, N] bool mask` or
        None per group. A group with one draws up to `max_rejection_iterations`
        rounds and keeps each row's first accepted draws, filling a row short
        of them with zeros (clipped to the spec) and the group's one-hot.
      max_rejection_iterations: rounds of draws per group when rejecting.

    Raises:
      ValueError: the spec or the groups break the rules above.
    """

    def __init__(
        self,
        action_spec: types.NestedTensorSpec,
        sample_clippers: Any = None,
        sub_actions_fields: Any = None,
        sample_rejecters: Any = None,
        max_rejection_iterations: int = 10,
    ):
        name = type(self).__name__
        action_spec = tensor_spec.from_spec(action_spec)
        leaves = base._checked_specs(action_spec, name)
        one_hot = [(path, spec) for path, spec in leaves if spec.dtype.is_integer]
        if len(one_hot) != 1:
            raise ValueError(
                "Only continuous action + 1 one_hot action is supported by this sampler "
                f"({name}), but action_spec has {len(one_hot)} integer leaves "
                f"({[p for p, _ in one_hot]}): {action_spec!r}."
            )
        if not isinstance(action_spec, collections.abc.Mapping) or any(
            isinstance(s, (collections.abc.Mapping, list, tuple))
            for s in action_spec.values()
        ):
            raise ValueError(
                f"{name} needs a flat dict action_spec (key -> spec), got {action_spec!r}."
            )
        one_hot_key, one_hot_spec = one_hot[0]
        if len(leaves) < 2:
            raise ValueError(
                f"{name} needs at least one continuous leaf besides the one-hot "
                f"{one_hot_key!r}, got {action_spec!r}."
            )
        if not (one_hot_spec.minimum <= 0 and one_hot_spec.maximum >= 1):
            raise ValueError(
                f"The one-hot leaf {one_hot_key!r} must allow 0 and 1, but its bounds "
                f"are [{one_hot_spec.minimum}, {one_hot_spec.maximum}]."
            )
        if sample_clippers is None:
            raise ValueError(f"{name} needs sample_clippers: one list per sub-action.")
        if sub_actions_fields is None:
            raise ValueError(f"{name} needs sub_actions_fields: the groups of keys.")
        sub_actions_fields = [list(group) for group in sub_actions_fields]
        if len(sample_clippers) != len(sub_actions_fields):
            raise ValueError(
                f"{name} needs one list of sample_clippers per sub-action: got "
                f"{len(sample_clippers)} lists for {len(sub_actions_fields)} groups "
                f"{sub_actions_fields}."
            )
        if sample_rejecters is None:
            sample_rejecters = [None] * len(sub_actions_fields)
        if len(sample_rejecters) != len(sub_actions_fields):
            raise ValueError(
                f"{name} needs one sample rejecter (or None) per sub-action: got "
                f"{len(sample_rejecters)} for {len(sub_actions_fields)} groups."
            )
        listed = [key for group in sub_actions_fields for key in group]
        if sorted(listed) != sorted(action_spec) or not all(sub_actions_fields):
            raise ValueError(
                "sub_actions_fields must list every action_spec key exactly once, in "
                "non-empty groups; "
                f"action_spec keys: {sorted(action_spec)}, listed: {listed}."
            )
        groups_with_one_hot = [g for g in sub_actions_fields if one_hot_key in g]
        if groups_with_one_hot[0] != [one_hot_key]:
            raise ValueError(
                f"The one-hot key {one_hot_key!r} must form a sub-action of its own, "
                f"but is grouped with continuous keys: {groups_with_one_hot[0]}."
            )
        num_choices = int(one_hot_spec.shape[0])  # S
        num_continuous_groups = len(sub_actions_fields) - 1  # K
        if num_continuous_groups > num_choices:
            raise ValueError(
                f"The one-hot leaf {one_hot_key!r} has {num_choices} choices, fewer than "
                f"the {num_continuous_groups} continuous sub-actions it must choose among."
            )
        super().__init__(action_spec, sample_clippers, sample_rejecters)
        self._sub_actions_fields = sub_actions_fields
        self._categorical_key = one_hot_key
        self._categorical_index = sub_actions_fields.index([one_hot_key])
        self._num_mutually_exclusive_actions = num_choices
        self._num_sub_continuous_actions = num_continuous_groups
        self._num_sub_categorical_actions = num_choices - num_continuous_groups
        self._max_rejection_iterations = base._checked_rounds(max_rejection_iterations)
        self._last_num_samples: int | None = None

    def _layout(self, num_samples: int) -> list[tuple[int, int, int]]:
        """`(start, stop, first one-hot position)` of each group's samples."""
        num_choices = self._num_mutually_exclusive_actions
        if num_samples < num_choices:
            raise ValueError(
                f"num_samples={num_samples} is too few: {type(self).__name__} needs at "
                f"least one sample per one-hot choice ({num_choices})."
            )
        k = self._num_sub_continuous_actions
        continuous_total = num_samples - self._num_sub_categorical_actions
        each = continuous_total // k
        last_continuous = max(
            i
            for i in range(len(self._sub_actions_fields))
            if i != self._categorical_index
        )
        layout, start, position = [], 0, 0
        for i in range(len(self._sub_actions_fields)):
            if i == self._categorical_index:
                size = self._num_sub_categorical_actions
            elif i == last_continuous:
                size = continuous_total - each * (k - 1)
            else:
                size = each
            layout.append((start, start + size, position))
            start += size
            position += size if i == self._categorical_index else 1
        return layout

    def _one_hot_rows(self, first: int, count: int) -> tf.Tensor:
        """`[count, S]` one-hot rows for positions `first .. first + count - 1`."""
        return tf.one_hot(
            tf.range(first, first + count),
            self._num_mutually_exclusive_actions,
            dtype=self._action_spec[self._categorical_key].dtype,
        )

    def _group_samples(
        self,
        group: int,
        count: int,
        position: int,
        batch_size: tf.Tensor,
        mean: Any,
        var: Any,
        state: types.NestedTensor,
    ) -> Any:
        """`[B, count, A]` samples of one group, clipped to the spec."""
        fields = self._sub_actions_fields[group]

        def constant(rows: tf.Tensor) -> tf.Tensor:
            return tf.broadcast_to(
                rows, tf.concat([[batch_size], tf.shape(rows)], axis=0)
            )

        def zeros(key: str) -> tf.Tensor:
            spec = self._action_spec[key]
            return constant(tf.zeros([count, spec.shape[0]], spec.dtype))

        if group == self._categorical_index:
            samples = {key: zeros(key) for key in self._action_spec}
            samples[self._categorical_key] = constant(
                self._one_hot_rows(position, count)
            )
            return base._clip_to_specs(samples, self._action_spec)

        def draw() -> Any:
            samples: Any = {}
            for key, spec in self._action_spec.items():
                if key == self._categorical_key:
                    rows = tf.tile(self._one_hot_rows(position, 1), [count, 1])
                    samples[key] = constant(rows)
                elif key in fields:
                    draws = base._normal_draws(count, mean[key], var[key])
                    samples[key] = tf.cast(draws, spec.dtype)
                else:
                    samples[key] = zeros(key)
            samples = base._apply_clippers(self._sample_clippers[group], samples, state)
            return base._clip_to_specs(samples, self._action_spec)

        rejecter = self._sample_rejecters[group]
        if not rejecter:
            return draw()
        filler = {
            key: tf.zeros(spec.shape, spec.dtype)
            for key, spec in self._action_spec.items()
        }
        filler[self._categorical_key] = self._one_hot_rows(position, 1)[0]
        return base._sample_with_rejection(
            draw,
            rejecter,
            count,
            self._max_rejection_iterations,
            state,
            base._clip_to_specs(filler, self._action_spec),
        )

    def sample_batch_and_clip(
        self,
        num_samples: int,
        mean: types.NestedTensor,
        var: types.NestedTensor,
        state: types.NestedTensor | None = None,
    ) -> types.NestedTensor:
        """`[B, N, A]` samples per key, laid out group by group (see the module)."""
        self._check_params(mean, var)
        num_samples = int(num_samples)
        layout = self._layout(num_samples)
        self._last_num_samples = num_samples
        batch_size = tf.shape(tf.nest.flatten(mean)[0])[0]
        parts = [
            self._group_samples(i, stop - start, position, batch_size, mean, var, state)
            for i, (start, stop, position) in enumerate(layout)
        ]
        return {
            key: tf.concat([part[key] for part in parts], axis=1)
            for key in self._action_spec
        }

    def refit_distribution_to(
        self, target_sample_indices: tf.Tensor, samples: Any
    ) -> tuple[types.NestedTensor, types.NestedTensor]:
        """float32 mean and variance of each continuous key over its group's elites.

        Elites from other groups are left out; a row without any elite of the
        key's group gets mean and variance 0, and so does the one-hot key.
        """
        num_samples = samples[self._categorical_key].shape[1] or self._last_num_samples
        if num_samples is None:
            raise ValueError(
                "sample_batch_and_clip must be called before refit_distribution_to "
                "when the number of samples is not static."
            )
        layout = self._layout(int(num_samples))
        indices = tf.convert_to_tensor(target_sample_indices)
        batch_size = tf.shape(indices)[0]
        mean, var = {}, {}
        for group, (start, stop, _) in enumerate(layout):
            in_group = tf.cast((indices >= start) & (indices < stop), tf.float32)
            count = tf.reduce_sum(in_group, axis=1, keepdims=True)  # [B, 1]
            for key in self._sub_actions_fields[group]:
                size = self._action_spec[key].shape[0]
                if key == self._categorical_key:
                    mean[key] = var[key] = tf.zeros([batch_size, size], tf.float32)
                    continue
                elites = tf.gather(
                    tf.cast(samples[key], tf.float32), indices, batch_dims=1
                )
                weights = in_group[:, :, None]
                mean[key] = tf.math.divide_no_nan(
                    tf.reduce_sum(elites * weights, axis=1), count
                )
                var[key] = tf.math.divide_no_nan(
                    tf.reduce_sum(
                        tf.square(elites - mean[key][:, None]) * weights, axis=1
                    ),
                    count,
                )
        return (
            {key: mean[key] for key in self._action_spec},
            {key: var[key] for key in self._action_spec},
        )
