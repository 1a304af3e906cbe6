"""Train-step variables, staleness summaries and waiting helpers for Actor–Learner jobs."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from policylib.policies import py_tf_eager_policy

__all__ = [
    "create_staleness_metrics_after_train_step_fn",
    "create_train_step",
    "wait_for_file",
    "wait_for_policy",
    "wait_for_predicate",
]

_log = logging.getLogger(__name__)

_DEFAULT_SLEEP_SECS = 1
_DEFAULT_NUM_RETRIES = 24 * 60 * 60  # a day of one-second sleeps


def create_train_step() -> tf.Variable:
    """A scalar int64 train-step counter that a distribution strategy keeps once.

    Replicas may all add to it; `ONLY_FIRST_REPLICA` aggregation keeps the first
    replica's update, so the counter advances by one per synchronous step.
    """
    return tf.Variable(
        0,
        trainable=False,
        dtype=tf.int64,
        shape=(),
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
    )


def create_staleness_metrics_after_train_step_fn(
    train_step: tf.Variable, train_steps_per_policy_update: int = 1
) -> Callable[[tuple[Any, Any], Any], None]:
    """An `after_train_strategy_step_fn` summarizing how stale the sampled data was.

    Actors are assumed to write, as each item's Reverb priority, the train step
    of the policy that collected it. Data is stale when the learner has published
    a newer policy (one per `train_steps_per_policy_update` steps) since then.

    Args:
      train_step: the learner's train-step counter.
      train_steps_per_policy_update: train steps between two policy updates.

    Returns:
      `fn((experience, sample_info), loss_info)` writing three scalar summaries:
      `staleness/max_train_step_delta_in_batch`,
      `staleness/max_policy_update_delta_in_batch` and
      `staleness/num_stale_obserations_in_batch` (TF-Agents' spelling).
    """
    per_update = int(train_steps_per_policy_update)

    def after_train_step_fn(experience: tuple[Any, Any], loss_info: Any) -> None:
        del loss_info
        _, sample_info = experience
        collected_at = tf.cast(sample_info.priority, tf.int64)
        # The train step of the newest policy the actors can have seen.
        published_at = tf.cast(train_step / per_update, tf.int64) * per_update
        delta = published_at - collected_at
        max_delta = tf.reduce_max(delta)
        max_update_delta = tf.cast(max_delta / per_update, tf.int64)
        num_stale = tf.reduce_sum(tf.cast(delta > 0, tf.int64))
        with tf.name_scope(""):
            tf.summary.scalar(
                name="staleness/max_train_step_delta_in_batch",
                data=max_delta,
                step=train_step,
            )
            tf.summary.scalar(
                name="staleness/max_policy_update_delta_in_batch",
                data=max_update_delta,
                step=train_step,
            )
            tf.summary.scalar(
                name="staleness/num_stale_obserations_in_batch",
                data=num_stale,
                step=train_step,
            )

    return after_train_step_fn


def wait_for_predicate(
    wait_predicate_fn: Callable[[], bool],
    sleep_time_secs: float = _DEFAULT_SLEEP_SECS,
    num_retries: int | None = _DEFAULT_NUM_RETRIES,
) -> None:
    """Blocks while `wait_predicate_fn()` returns True.

    Args:
      wait_predicate_fn: returns True while there is still something to wait for.
      sleep_time_secs: seconds slept between two checks.
      num_retries: how many checks may say "wait" before giving up; None waits
        for ever.

    Raises:
      TimeoutError: the predicate still said "wait" after `num_retries` checks.
    """
    checks = 0
    while num_retries is None or checks < num_retries:
        if not wait_predicate_fn():
            _log.info("wait_for_predicate: done waiting after %d check(s).", checks + 1)
            return
        checks += 1
        if sleep_time_secs > 0 and (num_retries is None or checks < num_retries):
            _log.info("wait_for_predicate: waiting %s s.", sleep_time_secs)
            time.sleep(sleep_time_secs)
    raise TimeoutError(
        f"wait_for_predicate: still waiting after {num_retries} checks "
        f"{sleep_time_secs} s apart."
    )


def wait_for_file(
    file_path: str,
    sleep_time_secs: float = _DEFAULT_SLEEP_SECS,
    num_retries: int | None = _DEFAULT_NUM_RETRIES,
) -> str:
    """Blocks until `file_path` exists and is not empty; returns `file_path`.

    Raises:
      TimeoutError: the file did not appear within `num_retries` checks.
    """

    def missing() -> bool:
        try:
            return tf.io.gfile.stat(file_path).length <= 0
        except tf.errors.NotFoundError:
            return True

    try:
        wait_for_predicate(missing, sleep_time_secs, num_retries)
    except TimeoutError:
        raise TimeoutError(
            f"wait_for_file: {file_path} did not appear after {num_retries} checks "
            f"{sleep_time_secs} s apart."
        ) from None
    return file_path


def wait_for_policy(
    policy_dir: str,
    sleep_time_secs: float = _DEFAULT_SLEEP_SECS,
    num_retries: int | None = _DEFAULT_NUM_RETRIES,
    **saved_model_policy_args: Any,
) -> py_tf_eager_policy.SavedModelPyTFEagerPolicy:
    """Blocks until a policy SavedModel is in `policy_dir`, then loads it.

    The policy counts as written once its `policy_specs.pbtxt` (written last)
    is there.

    Args:
      policy_dir: the SavedModel directory.
      sleep_time_secs: seconds between checks.
      num_retries: checks before giving up.
      **saved_model_policy_args: passed to `SavedModelPyTFEagerPolicy`.

    Returns:
      The loaded `SavedModelPyTFEagerPolicy`.

    Raises:
      TimeoutError: the policy did not appear in time.
    """
    wait_for_file(
        os.path.join(policy_dir, "policy_specs.pbtxt"), sleep_time_secs, num_retries
    )
    return py_tf_eager_policy.SavedModelPyTFEagerPolicy(
        policy_dir, **saved_model_policy_args
    )
