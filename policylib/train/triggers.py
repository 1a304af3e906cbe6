"""Triggers a learner runs after every `run`: export policies, log speed, checkpoint Reverb.

Each is an `IntervalTrigger`: called with the current train step, it acts
once `interval` steps have passed since it last did.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import tensorflow as tf

from policylib.agents import tf_agent
from policylib.policies import (
    async_policy_saver,
    greedy_policy,
    policy_saver,
    tf_policy,
)
from policylib.train import interval_trigger, learner, step_per_second_tracker

__all__ = [
    "ENV_STEP_METADATA_KEY",
    "PolicySavedModelTrigger",
    "ReverbCheckpointTrigger",
    "StepPerSecondLogTrigger",
]

_log = logging.getLogger(__name__)

# Metadata key under which trainers usually save the environment step count.
ENV_STEP_METADATA_KEY = "env_step"

_Saver = policy_saver.PolicySaver | async_policy_saver.AsyncPolicySaver


class PolicySavedModelTrigger(interval_trigger.IntervalTrigger):
    """Exports an agent's policies once, then checkpoints their variables every `interval` steps.

    On construction it writes SavedModels of the raw policy
    (`saved_model_dir/policy`), the collect policy (`collect_policy`) and a
    greedy version (`greedy_policy`), skipping any already there (a restarted
    job keeps its exports). Each firing writes
    `saved_model_dir/checkpoints/policy_checkpoint_<step, 10 digits>`, which
    updates any of the exported policies (they share variables).

    Args:
      saved_model_dir: where the policies and their checkpoints go.
      agent: the agent whose policies are exported.
      train_step: the train-step variable (saved with the policies).
      interval: train steps between checkpoints.
      async_saving: write from a background thread (variable values then are
        whatever they are when the thread reads them).
      metadata_metrics: name -> metric whose scalar `result()` is saved with
        every checkpoint (not with `async_saving`).
      start: the train step counted as the last firing.
      extra_concrete_functions: `(name, tf.function)` pairs to add to every
        exported policy.
      batch_size: fixed batch size of the exported signatures (None: any).
      use_nest_path_signatures: name signature inputs by their nest paths
        (else every spec needs a unique name).
      save_greedy_policy: export the greedy policy (off for policies whose
        distributions have no mode).
      save_collect_policy: export the collect policy.
      input_fn_and_spec: `(input_fn, spec)` making the action signature take
        `spec` and convert it to `(time_step, policy_state)`.

    Raises:
      NotImplementedError: `metadata_metrics` with `async_saving`.
    """

    def __init__(
        self,
        saved_model_dir: str,
        agent: tf_agent.TFAgent,
        train_step: tf.Variable,
        interval: int,
        async_saving: bool = False,
        metadata_metrics: Mapping[str, Any] | None = None,
        start: int = 0,
        extra_concrete_functions: Sequence[tuple[str, Any]] | None = None,
        batch_size: int | None = None,
        use_nest_path_signatures: bool = True,
        save_greedy_policy: bool = True,
        save_collect_policy: bool = True,
        input_fn_and_spec: Any = None,
    ):
        if async_saving and metadata_metrics:
            raise NotImplementedError(
                "PolicySavedModelTrigger: metadata_metrics are not supported with "
                "async_saving=True."
            )
        self._agent = agent
        self._train_step = train_step
        self._async_saving = async_saving
        self._metadata_metrics = dict(metadata_metrics or {})
        self._metadata = {
            name: tf.Variable(tf.zeros_like(tf.convert_to_tensor(metric.result())))
            for name, metric in self._metadata_metrics.items()
        }
        self._input_fn_and_spec = input_fn_and_spec

        if isinstance(agent.policy, greedy_policy.GreedyPolicy):
            raw_policy = agent.policy.wrapped_policy
            greedy: tf_policy.TFPolicy | None = agent.policy
        else:
            raw_policy = agent.policy
            greedy = (
                greedy_policy.GreedyPolicy(agent.policy) if save_greedy_policy else None
            )

        def saver(policy: tf_policy.TFPolicy) -> _Saver:
            return self._build_saver(policy, batch_size, use_nest_path_signatures)

        self._raw_policy_saver = saver(raw_policy)
        savers: list[tuple[_Saver, str]] = [
            (self._raw_policy_saver, learner.RAW_POLICY_SAVED_MODEL_DIR)
        ]
        if save_collect_policy:
            savers.append(
                (saver(agent.collect_policy), learner.COLLECT_POLICY_SAVED_MODEL_DIR)
            )
        if save_greedy_policy and greedy is not None:
            savers.append((saver(greedy), learner.GREEDY_POLICY_SAVED_MODEL_DIR))

        for each, _ in savers:
            for name, fn in extra_concrete_functions or ():
                each.register_concrete_function(name, fn)

        self._checkpoint_dir = os.path.join(
            saved_model_dir, learner.POLICY_CHECKPOINT_DIR
        )
        for each, subdir in savers:
            export_dir = os.path.join(saved_model_dir, subdir)
            if not tf.io.gfile.exists(
                os.path.join(export_dir, policy_saver.POLICY_SPECS_PBTXT)
            ):
                each.save(export_dir)
        super().__init__(interval, self._save_fn, start=start)

    def _build_saver(
        self,
        policy: tf_policy.TFPolicy,
        batch_size: int | None,
        use_nest_path_signatures: bool,
    ) -> _Saver:
        saver = policy_saver.PolicySaver(
            policy,
            batch_size=batch_size,
            train_step=self._train_step,
            metadata=self._metadata,
            use_nest_path_signatures=use_nest_path_signatures,
            input_fn_and_spec=self._input_fn_and_spec,
        )
        if self._async_saving:
            return async_policy_saver.AsyncPolicySaver(saver)
        return saver

    def _save_fn(self) -> None:
        self._agent.post_process_policy()
        for name, metric in self._metadata_metrics.items():
            self._metadata[name].assign(metric.result())
        step = int(self._train_step.numpy())
        self._raw_policy_saver.save_checkpoint(
            os.path.join(self._checkpoint_dir, f"policy_checkpoint_{step:010d}")
        )


class StepPerSecondLogTrigger(interval_trigger.IntervalTrigger):
    """Logs and summarizes train steps per second every `interval` steps.

    Args:
      train_step: the train-step variable.
      interval: train steps between two measurements.
      log_to_terminal: also log the rate (at INFO).
    """

    def __init__(
        self, train_step: tf.Variable, interval: int, log_to_terminal: bool = True
    ):
        self._train_step = train_step
        self._log_to_terminal = log_to_terminal
        self._step_timer = step_per_second_tracker.StepPerSecondTracker(train_step)
        super().__init__(interval, self._log_steps_per_sec)

    def _log_steps_per_sec(self) -> None:
        steps_per_sec = self._step_timer.steps_per_second()
        self._step_timer.restart()
        step = int(self._train_step.numpy())
        if self._log_to_terminal:
            _log.info("Step: %d, %.3f steps/sec", step, steps_per_sec)
        with tf.summary.record_if(True), tf.name_scope("RunTime/"):
            tf.summary.scalar(name="train_steps_per_sec", data=steps_per_sec, step=step)


class ReverbCheckpointTrigger(interval_trigger.IntervalTrigger):
    """Has a Reverb server checkpoint its tables every `interval` steps.

    Args:
      train_step: the train-step variable.
      interval: train steps between two checkpoints.
      reverb_client: a `reverb.Client` (or `policylib.reverb.Client`) of the
        server; its `checkpoint()` writes the checkpoint and returns its path.
    """

    def __init__(self, train_step: tf.Variable, interval: int, reverb_client: Any):
        self._train_step = train_step
        self._reverb_client = reverb_client
        super().__init__(interval, self._save_fn)

    def _save_fn(self) -> None:
        path = self._reverb_client.checkpoint()
        _log.info("Reverb data checkpointed to %s", path)
