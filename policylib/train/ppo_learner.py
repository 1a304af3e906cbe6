"""`PPOLearner`: PPO's on-policy training loop on top of `Learner`.

Each `run` reads the newest `num_samples` dataset elements (collected
sequences), updates the agent's observation and reward normalizers from a
second, synchronized dataset, then trains `num_epochs` passes over those
elements, whole sequences or shuffled minibatches of single steps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import gin
import tensorflow as tf

from policylib.agents.ppo import ppo_agent
from policylib.train import learner
from policylib.utils import common

__all__ = ["PPOLearner"]

_log = logging.getLogger(__name__)


def _merge_outer_two_dims(tensor: tf.Tensor) -> tf.Tensor:
    """`[B, T, ...]` -> `[B * T, ...]`."""
    shape = tf.shape(tensor)
    merged = tf.reshape(tensor, tf.concat([[shape[0] * shape[1]], shape[2:]], axis=0))
    static = tensor.shape
    if static.rank is not None:
        outer = None
        if static[0] is not None and static[1] is not None:
            outer = static[0] * static[1]
        merged.set_shape([outer, *static[2:]])
    return merged


def _frames_in(reward: tf.Tensor) -> tf.Tensor:
    """Steps in a batch, read off its rewards: `B` for `[B]`, `B * T` for `[B, T]`."""
    rank = reward.shape.rank
    if not rank:
        return tf.constant(1, tf.int32)
    shape = tf.shape(reward)
    return shape[0] * shape[1] if rank > 1 else shape[0]


@gin.configurable
class PPOLearner:
    """Trains a `PPOAgent` on freshly collected data, with normalization and minibatching.

    Set the agent up with `update_normalizers_in_train=False` (this learner
    updates them) and, for minibatches, `compute_value_and_advantage_in_train=False`
    with advantages computed in the data pipeline (`agent.preprocess_sequence`).

    Args:
      root_dir: checkpoints and summaries go under it (see `Learner`).
      train_step: the scalar train-step variable.
      agent: the `PPOAgent`.
      experience_dataset_fn: returns the training dataset of
        `(trajectory, sample_info)` elements (episodes or windows).
      normalization_dataset_fn: returns a dataset of the same elements, read
        to update the normalizers (often a second table written in sync).
      num_samples: dataset elements per `run`, for training and normalization.
      num_epochs: passes over those elements per `run`.
      minibatch_size: if set, the elements are flattened into single steps,
        shuffled and batched as `[minibatch_size, 1, ...]`; None trains on whole
        sequences (needed for RNNs).
      shuffle_buffer_size: shuffle buffer of the minibatch pipeline (required
        with `minibatch_size`; 1-3 episode lengths is typical).
      after_train_strategy_step_fn: see `Learner`.
      triggers: see `Learner`.
      checkpoint_interval: see `Learner`.
      summary_interval: see `Learner`.
      use_kwargs_in_agent_train: see `Learner`.
      strategy: the `tf.distribute.Strategy`; the current one by default.

    Raises:
      ValueError: minibatching without `shuffle_buffer_size`, with RNN networks,
        or with values/advantages computed in `train`; or an agent that updates
        its normalizers in `train`.
    """

    def __init__(
        self,
        root_dir: str,
        train_step: tf.Variable,
        agent: ppo_agent.PPOAgent,
        experience_dataset_fn: Callable[[], tf.data.Dataset],
        normalization_dataset_fn: Callable[[], tf.data.Dataset],
        num_samples: int,
        num_epochs: int = 1,
        minibatch_size: int | None = None,
        shuffle_buffer_size: int | None = None,
        after_train_strategy_step_fn: Callable[[Any, Any], Any] | None = None,
        triggers: Sequence[Callable[..., None]] | None = None,
        checkpoint_interval: int = 100000,
        summary_interval: int = 1000,
        use_kwargs_in_agent_train: bool = False,
        strategy: tf.distribute.Strategy | None = None,
    ):
        if minibatch_size and shuffle_buffer_size is None:
            raise ValueError(
                "PPOLearner: shuffle_buffer_size must be provided if minibatch_size "
                f"is not None (minibatch_size={minibatch_size})."
            )
        if minibatch_size and (
            agent._actor_net.state_spec or agent._value_net.state_spec
        ):  # noqa: SLF001
            raise ValueError(
                "PPOLearner: minibatch_size must be set to None for RNN networks "
                "(they train on whole sequences)."
            )
        if minibatch_size and agent._compute_value_and_advantage_in_train:  # noqa: SLF001
            raise ValueError(
                "PPOLearner: agent.compute_value_and_advantage_in_train should be set "
                "to False when mini batching is used (compute them in the dataset "
                "with agent.preprocess_sequence)."
            )
        if agent.update_normalizers_in_train:
            raise ValueError(
                "PPOLearner: agent.update_normalizers_in_train should be set to False "
                "when PPOLearner is used (the learner updates the normalizers)."
            )
        strategy = strategy or tf.distribute.get_strategy()
        self._agent = agent
        self._minibatch_size = minibatch_size
        self._shuffle_buffer_size = shuffle_buffer_size
        self._num_epochs = num_epochs
        self._num_samples = num_samples
        self._experience_dataset_fn = experience_dataset_fn
        self._normalization_dataset_fn = normalization_dataset_fn

        self._generic_learner = learner.Learner(
            root_dir,
            train_step,
            agent,
            experience_dataset_fn=None,
            after_train_strategy_step_fn=after_train_strategy_step_fn,
            triggers=triggers,
            checkpoint_interval=checkpoint_interval,
            summary_interval=summary_interval,
            use_kwargs_in_agent_train=use_kwargs_in_agent_train,
            strategy=strategy,
        )
        self.num_replicas = strategy.num_replicas_in_sync
        self._create_datasets(strategy)
        self.num_frames_for_training = tf.Variable(0, dtype=tf.int32)

    def _one_run_of_training_data(self, _: Any = None) -> tf.data.Dataset:
        """The training elements of one `run`: `num_samples` elements, `num_epochs` times."""
        dataset = self._experience_dataset_fn().take(self._num_samples)
        dataset = dataset.cache().repeat(self._num_epochs)
        if not self._minibatch_size:
            return dataset

        def to_steps(sequence: Any, info: Any) -> Any:
            return tf.nest.map_structure(_merge_outer_two_dims, (sequence, info))

        assert self._shuffle_buffer_size is not None
        dataset = dataset.map(to_steps).unbatch().shuffle(self._shuffle_buffer_size)
        # Each step as a length-1 sequence: [minibatch_size, 1, ...].
        dataset = dataset.batch(1, drop_remainder=True)
        return dataset.batch(self._minibatch_size, drop_remainder=True)

    def _create_datasets(self, strategy: tf.distribute.Strategy) -> None:
        """Endless training and normalization datasets: one fresh read of the data per run."""

        def training(_: Any) -> tf.data.Dataset:
            return tf.data.Dataset.counter().flat_map(self._one_run_of_training_data)

        self._normalization_dataset = tf.data.Dataset.counter().flat_map(
            lambda _: self._normalization_dataset_fn()
        )
        self._normalization_iterator = iter(self._normalization_dataset)
        with strategy.scope():
            if strategy.num_replicas_in_sync > 1:
                self._train_dataset = strategy.distribute_datasets_from_function(
                    training
                )
            else:
                self._train_dataset = training(0)
            self._train_iterator = iter(self._train_dataset)

    def run(self, parallel_iterations: int = 10) -> Any:
        """Updates the normalizers, then trains on `num_samples` elements for `num_epochs`.

        Args:
          parallel_iterations: passed to the train loop (see `Learner.run`).

        Returns:
          The last train step's `LossInfo`.

        Raises:
          ValueError: fewer batches than replicas (raise `num_samples`).
        """
        num_frames = self._update_normalizers(self._normalization_iterator)
        self.num_frames_for_training.assign(num_frames)
        if self._minibatch_size:
            frames = int(self.num_frames_for_training.numpy())
            num_total_batches = (frames // self._minibatch_size) * self._num_epochs
        else:
            num_total_batches = self._num_samples * self._num_epochs
        iterations = num_total_batches // self.num_replicas
        if iterations == 0:
            raise ValueError(
                f"PPOLearner: cannot distribute {num_total_batches} batches across "
                f"{self.num_replicas} replicas; increase num_samples."
            )
        return self._generic_learner.run(
            iterations, self._train_iterator, parallel_iterations=parallel_iterations
        )

    @common.function
    def _update_normalizers(self, iterator: Any) -> tf.Tensor:
        """Feeds `num_samples` elements to the normalizers; the number of frames seen."""

        def update(frames: tf.Tensor) -> tf.Tensor:
            trajectory, _ = next(iterator)
            self._agent.update_observation_normalizer(trajectory.observation)
            self._agent.update_reward_normalizer(trajectory.reward)
            return frames + _frames_in(trajectory.reward)

        frames = update(tf.constant(0, tf.int32))
        _, frames = tf.while_loop(
            lambda i, _: i < self._num_samples,
            lambda i, f: (i + 1, update(f)),
            (tf.constant(1), frames),
        )
        return frames

    @property
    def train_step_numpy(self) -> Any:
        """The train step's value now, as a NumPy scalar."""
        return self._generic_learner.train_step_numpy
