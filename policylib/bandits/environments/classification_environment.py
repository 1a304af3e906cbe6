"""`ClassificationBanditEnvironment`: a bandit made from a labelled data set.

Each step shows a batch of inputs from a `tf.data.Dataset` of
`(context, label)` pairs; the agent picks an action per input and is paid a
draw from a reward table indexed by `[label, action]`. With the identity
table, reward 1 means "predicted the class", as in the covertype bandit:

    env = ClassificationBanditEnvironment(
        dataset_utilities.convert_covertype_dataset("/data/covtype.data"),
        tfd.Independent(tfd.Deterministic(tf.eye(7)), reinterpreted_batch_ndims=2),
        batch_size=8,
    )

`compute_optimal_action()` / `compute_optimal_reward()` give the best action
and mean reward for the batch the last `step` rewarded, for regret metrics
(see `environment_utilities.compute_optimal_*_with_classification_environment`).
"""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.bandits.environments import bandit_tf_environment
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import eager_utils

__all__ = ["ClassificationBanditEnvironment"]


def _batched_table_lookup(
    tbl: types.Tensor, row: types.Tensor, col: types.Tensor
) -> tf.Tensor:
    """Picks `tbl[i, row[i], col[i]]` for every `i`.

    Args:
      tbl: a `[n, num_rows, num_cols]` tensor (one table per batch entry).
      row: `[n]` integer row indices.
      col: `[n]` integer column indices.

    Returns:
      The `[n]` picked entries.
    """
    tbl = tf.convert_to_tensor(tbl)
    row = tf.cast(tf.convert_to_tensor(row), tf.int32)
    col = tf.cast(tf.convert_to_tensor(col), tf.int32)
    checks = [
        tf.debugging.assert_equal(
            tf.shape(row), tf.shape(col), message="row and col must have one shape"
        ),
        tf.debugging.assert_equal(
            tf.shape(row)[0],
            tf.shape(tbl)[0],
            message="row and col need one index per table",
        ),
    ]
    with tf.control_dependencies(checks):
        batch = tf.range(tf.shape(row)[0])
        return tf.gather_nd(tbl, tf.stack([batch, row, col], axis=-1))


def _dataset_specs(dataset: tf.data.Dataset) -> tuple[tf.TensorSpec, tf.TensorSpec]:
    """The `(context, label)` element specs; ValueError unless there are two."""
    spec = dataset.element_spec
    if isinstance(spec, (tuple, list)) and len(spec) != 2:
        raise ValueError(
            "dataset must yield (context, label) pairs; got elements of "
            f"{len(spec)} components."
        )
    if not isinstance(spec, (tuple, list)):
        raise ValueError(
            "dataset must yield (context, label) pairs; got elements of spec "
            f"{spec!r:.200}."
        )
    context, label = spec
    if not isinstance(context, tf.TensorSpec) or not isinstance(label, tf.TensorSpec):
        raise ValueError(
            f"dataset's context and label must be dense tensors; got {context!r} "
            f"and {label!r}."
        )
    return context, label


@gin.configurable
class ClassificationBanditEnvironment(bandit_tf_environment.BanditTFEnvironment):
    """A contextual bandit over a classification data set.

    The dataset is optionally shuffled, then repeated, batched (dropping the
    last partial batch) and optionally prefetched, in that order.

    Args:
      dataset: a `tf.data.Dataset` of unbatched `(context, label)` pairs; the
        context has a fully known shape, the label is one integer class id
        (of any shape with one element).
      reward_distribution: a distribution with event shape
        `[num_classes, num_actions]`: entry `[c, a]` is the reward of action
        `a` for an input of class `c`.
      batch_size: inputs per step.
      label_dtype_cast: if set, labels are cast to this integer dtype (e.g.
        for float labels).
      shuffle_buffer_size: if set, shuffle the dataset with this buffer.
      repeat_dataset: repeat the dataset, so stepping never exhausts it.
      prefetch_size: if set, prefetch this many batches.
      seed: shuffle seed.
      name: the environment's name.

    Raises:
      ValueError: a reward event shape not of rank 2, a dataset that does not
        yield `(context, label)` pairs, a context shape not fully known, a
        label with more than one element, or non-integer labels.
    """

    def __init__(
        self,
        dataset: tf.data.Dataset,
        reward_distribution: types.Distribution,
        batch_size: int,
        label_dtype_cast: tf.DType | None = None,
        shuffle_buffer_size: types.Int | None = None,
        repeat_dataset: bool | None = True,
        prefetch_size: types.Int | None = None,
        seed: types.Int | None = None,
        name: str | None = "classification",
    ):
        event_shape = tf.TensorShape(reward_distribution.event_shape)
        if event_shape.rank != 2 or not event_shape.is_fully_defined():
            raise ValueError(
                "reward_distribution must have a known event shape of rank 2 "
                f"([num_classes, num_actions]); got event shape {event_shape}."
            )
        num_classes, num_actions = event_shape.as_list()

        context_spec, label_spec = _dataset_specs(dataset)
        if not context_spec.shape.is_fully_defined():
            raise ValueError(
                "dataset's contexts must have a fully known shape; got "
                f"{context_spec.shape} (give it one with dataset.map and "
                "tf.ensure_shape)."
            )
        label_shape = label_spec.shape
        if label_shape.is_fully_defined() and label_shape.num_elements() != 1:
            raise ValueError(
                "dataset's labels must hold one class id per context (a shape "
                f"with one element, e.g. () or (1,)); got label shape {label_shape} "
                f"for context shape {context_spec.shape}."
            )
        label_dtype = tf.as_dtype(label_dtype_cast or label_spec.dtype)
        if not label_dtype.is_integer:
            raise ValueError(
                f"dataset's labels must be integer class ids; got {label_dtype.name} "
                "(pass label_dtype_cast=tf.int32 to cast them)."
            )

        action_spec = tensor_spec.BoundedTensorSpec(
            shape=(), dtype=tf.int32, minimum=0, maximum=num_actions - 1, name="action"
        )
        observation_spec = tensor_spec.TensorSpec(
            context_spec.shape, context_spec.dtype, name="observation"
        )
        super().__init__(
            time_step_spec=ts.time_step_spec(observation_spec),
            action_spec=action_spec,
            batch_size=batch_size,
            name=name,
        )

        # Shuffle first, so one pass of the data is shuffled as a whole.
        if shuffle_buffer_size:
            dataset = dataset.shuffle(
                buffer_size=shuffle_buffer_size,
                seed=seed,
                reshuffle_each_iteration=True,
            )
        if repeat_dataset:
            dataset = dataset.repeat()
        dataset = dataset.batch(self.batch_size, drop_remainder=True)
        if prefetch_size:
            dataset = dataset.prefetch(prefetch_size)
        self._data_iterator = eager_utils.dataset_iterator(dataset)

        self._num_classes = num_classes
        self._num_actions = num_actions
        self._label_dtype = label_dtype
        self._reward_distribution = reward_distribution
        # Labels of the batch on show, and of the one the last step rewarded.
        self._current_label = tf.Variable(
            tf.zeros([self.batch_size], label_dtype), trainable=False
        )
        self._previous_label = tf.Variable(
            tf.zeros([self.batch_size], label_dtype), trainable=False
        )
        mean_rewards = reward_distribution.mean()
        self._optimal_action_table = tf.argmax(
            mean_rewards, axis=1, output_type=action_spec.dtype
        )
        self._optimal_reward_table = tf.reduce_max(mean_rewards, axis=1)

    def _observe(self) -> types.NestedTensor:
        context, label = eager_utils.get_next(self._data_iterator)
        label = tf.reshape(tf.cast(label, self._label_dtype), [self.batch_size])
        checks = [
            tf.debugging.assert_non_negative(
                label, message="labels must be class ids >= 0"
            ),
            tf.debugging.assert_less(
                label,
                tf.cast(self._num_classes, self._label_dtype),
                message=(
                    f"labels must be class ids below num_classes={self._num_classes} "
                    "(the reward distribution's event shape [num_classes, "
                    "num_actions])"
                ),
            ),
        ]
        with tf.control_dependencies(checks):
            # In graph mode the copy must read the label before it is replaced.
            copied = self._previous_label.assign(self._current_label)
        with tf.control_dependencies([copied]):
            self._current_label.assign(label)
        observation_shape = self.time_step_spec().observation.shape.as_list()
        return tf.reshape(context, [self.batch_size, *observation_shape])

    def _apply_action(self, action: types.NestedTensor) -> types.NestedTensor:
        action = tf.reshape(tf.cast(action, tf.int32), [self.batch_size])
        in_range = f"actions must be in [0, {self._num_actions - 1}]"
        checks = [
            tf.debugging.assert_non_negative(action, message=in_range),
            tf.debugging.assert_less(action, self._num_actions, message=in_range),
        ]
        with tf.control_dependencies(checks):
            tables = self._reward_distribution.sample(tf.shape(action))
        return _batched_table_lookup(tables, self._current_label, action)

    def compute_optimal_action(self) -> types.NestedTensor:
        """The best mean-reward action for each input the last step rewarded."""
        return tf.gather(self._optimal_action_table, self._previous_label)

    def compute_optimal_reward(self) -> types.NestedTensor:
        """The best mean reward for each input the last step rewarded."""
        return tf.gather(self._optimal_reward_table, self._previous_label)
