"""The training loop of TF-Agents' bandit examples: collect, train, checkpoint, repeat.

`train(...)` runs `training_loops` loops. Each loop runs a driver of the
agent's collect policy for `steps_per_loop` steps per environment (repeated
`async_steps_per_loop` times for asynchronous/offline set-ups), trains the
agent on what the replay buffer holds, clears it, checkpoints the agent and
metrics, and every 100 loops saves the policy. Metrics and losses are written
to the log through `metrics.export_utils`, and as TF summaries under
`root_dir`. A second call with the same `root_dir` resumes from the last
checkpoint, as TF-Agents' tutorials rely on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import tensorflow as tf
from absl import logging

from policylib.bandits.replay_buffers import bandit_replay_buffer
from policylib.drivers import dynamic_step_driver
from policylib.metrics import export_utils, tf_metrics
from policylib.policies import policy_saver
from policylib.replay_buffers import tf_uniform_replay_buffer
from policylib.typing import types
from policylib.utils import common

__all__ = [
    "AGENT_CHECKPOINT_NAME",
    "CHECKPOINT_FILE_PREFIX",
    "STEP_CHECKPOINT_NAME",
    "restore_and_get_checkpoint_manager",
    "set_expected_shape",
    "train",
]

# Names of the checkpointed objects (TF-Agents' checkpoints use the same ones).
AGENT_CHECKPOINT_NAME = "agent"
STEP_CHECKPOINT_NAME = "step"
CHECKPOINT_FILE_PREFIX = "ckpt"

TrainingLoop = Callable[..., None]


def _get_replay_buffer(
    data_spec: types.NestedTensorSpec,
    batch_size: int,
    steps_per_loop: int,
    async_steps_per_loop: int,
) -> bandit_replay_buffer.BanditReplayBuffer:
    """A buffer that holds exactly one loop's collected steps."""
    return bandit_replay_buffer.BanditReplayBuffer(
        data_spec=data_spec,
        batch_size=batch_size,
        max_length=steps_per_loop * async_steps_per_loop,
    )


def set_expected_shape(experience: types.NestedTensor, num_steps: int) -> None:
    """Fixes the time dimension (axis 1) of every tensor in `experience` to `num_steps`.

    Raises:
      ValueError: a tensor has rank below 2, so it has no time dimension.
    """

    def set_time(tensor: tf.Tensor) -> None:
        dims = tensor.shape.as_list()
        if len(dims) < 2:
            raise ValueError(
                "set_expected_shape: every tensor needs [batch, time, ...] "
                f"(rank >= 2); got shape {dims} for {tensor!r}."
            )
        dims[1] = num_steps
        tensor.set_shape(dims)

    tf.nest.map_structure(set_time, experience)


def _export(step: Any, metrics: Sequence[Any]) -> None:
    tf_metrics.log_metrics(metrics)
    export_utils.export_metrics(step=step, metrics=metrics)
    for metric in metrics:
        metric.tf_summaries(train_step=step)


def _get_training_loop(
    driver: dynamic_step_driver.DynamicStepDriver,
    replay_buffer: Any,
    agent: Any,
    steps: int,
    async_steps_per_loop: int,
) -> TrainingLoop:
    """The default loop body: `async_steps_per_loop` driver runs, then as many train steps.

    Each driver run adds `steps` steps per environment to `replay_buffer`;
    training then reads the buffer in order, one `[batch_size, steps]` batch
    per train step, and the buffer is cleared for the next loop.

    The driver's `run` and `agent.train` are traced once (`common.function`);
    TF-Agents ran both eagerly, op by op, ~10x slower on its example set-ups.
    """
    run_driver = common.function(driver.run)
    train = common.function(agent.train)

    def training_loop(train_step: int, metrics: Sequence[Any]) -> None:
        for run in range(async_steps_per_loop):
            run_driver()
            _export(train_step * async_steps_per_loop + run, metrics)
        batches = _loop_batches(
            replay_buffer, driver.env.batch_size, steps, async_steps_per_loop
        )
        for run, experience in enumerate(batches):
            set_expected_shape(experience, steps)
            loss_info = train(experience)
            export_utils.export_metrics(
                step=train_step * async_steps_per_loop + run,
                metrics=[],
                loss_info=loss_info,
            )
        replay_buffer.clear()

    return training_loop


def _loop_batches(
    replay_buffer: Any, batch_size: int, steps: int, count: int
) -> Iterator[types.NestedTensor]:
    """The loop's `count` batches of `[batch_size, steps]`, in the order collected.

    A `TFUniformReplayBuffer` (the default buffer is one) holds just this loop's
    steps, since the loop clears it: one `gather_all` cut along time gives the
    batches a single deterministic pass would. Building that `tf.data` pipeline
    instead costs ~150 ms a loop on 2 cores, 20-50x the act and train steps of the
    example set-ups. Other buffers are read through `as_dataset`, as TF-Agents does.
    """
    if isinstance(replay_buffer, tf_uniform_replay_buffer.TFUniformReplayBuffer):
        everything = replay_buffer.gather_all()
        for i in range(count):
            yield tf.nest.map_structure(
                lambda t, i=i: t[:, i * steps : (i + 1) * steps], everything
            )
        return
    batches = iter(
        replay_buffer.as_dataset(
            sample_batch_size=batch_size,
            num_steps=steps,
            single_deterministic_pass=True,
        )
    )
    for _ in range(count):
        yield next(batches)[0]


def restore_and_get_checkpoint_manager(
    root_dir: str, agent: Any, metrics: Sequence[Any], step_metric: Any
) -> tf.train.CheckpointManager:
    """Restores agent, metrics and step counter from `root_dir` if it has a checkpoint.

    Returns:
      The manager whose `save()` writes the next checkpoint (5 are kept).
    """
    objects = {metric.name: metric for metric in metrics}
    objects[AGENT_CHECKPOINT_NAME] = agent
    objects[STEP_CHECKPOINT_NAME] = step_metric
    checkpoint = tf.train.Checkpoint(**objects)
    manager = tf.train.CheckpointManager(checkpoint, directory=root_dir, max_to_keep=5)
    latest = manager.latest_checkpoint
    if latest is None:
        logging.info("No checkpoint in %s: training starts from scratch.", root_dir)
    else:
        checkpoint.restore(latest)
        logging.info("Restored %s at step %s.", latest, step_metric.result())
    return manager


def _default_metrics(environment: Any) -> list[Any]:
    """Episodes, episode length and average return (per reward key if not scalar)."""
    batch_size = environment.batch_size
    reward_spec = environment.reward_spec()
    metrics: list[Any] = [
        tf_metrics.NumberOfEpisodes(),
        tf_metrics.AverageEpisodeLengthMetric(batch_size=batch_size),
    ]
    if isinstance(reward_spec, dict) or reward_spec.shape != tf.TensorShape(()):
        metrics.append(
            tf_metrics.AverageReturnMultiMetric(
                reward_spec=reward_spec, batch_size=batch_size
            )
        )
    if not isinstance(reward_spec, dict):
        metrics.append(tf_metrics.AverageReturnMetric(batch_size=batch_size))
    return metrics


def train(
    root_dir: str,
    agent: Any,
    environment: Any,
    training_loops: int,
    steps_per_loop: int,
    async_steps_per_loop: int | None = None,
    additional_metrics: Sequence[Any] = (),
    get_replay_buffer_fn: Callable[..., Any] | None = None,
    get_training_loop_fn: Callable[..., TrainingLoop] | None = None,
    training_data_spec_transformation_fn: Callable[[Any], Any] | None = None,
    save_policy: bool = True,
    resume_training_loops: bool = False,
) -> None:
    """Trains `agent` on `environment` for `training_loops` loops, checkpointing each.

    Args:
      root_dir: where checkpoints, summaries and saved policies go; a run
        with the same `root_dir` resumes from its last checkpoint.
      agent: a bandit `TFAgent`.
      environment: a batched `TFEnvironment`.
      training_loops: loops to run (see `resume_training_loops`).
      steps_per_loop: driver steps per environment in one driver run.
      async_steps_per_loop: driver runs (then as many train steps) per loop,
        for simulating asynchronous or offline training; None means 1.
      additional_metrics: metrics logged beside episodes, episode length and
        average return (e.g. `bandits.metrics.tf_metrics.RegretMetric`).
      get_replay_buffer_fn: `(data_spec, batch_size, steps_per_loop,
        async_steps_per_loop) -> buffer`; default: a `BanditReplayBuffer`
        holding one loop.
      get_training_loop_fn: `(driver, buffer, agent, steps_per_loop,
        async_steps_per_loop) -> training_loop(train_step, metrics)`.
      training_data_spec_transformation_fn: applied to the trajectory spec
        and to each collected batch before it is stored.
      save_policy: save `agent.policy` under `root_dir/policy_<step>` every
        100 loops.
      resume_training_loops: count `training_loops` from the first run in
        `root_dir` (True) rather than from this call (False).

    Raises:
      ValueError: with `resume_training_loops`, the checkpointed step count is
        not a whole number of loops.
    """
    data_spec = agent.policy.trajectory_spec
    transform = training_data_spec_transformation_fn
    if transform is not None:
        data_spec = transform(data_spec)
    async_steps_per_loop = async_steps_per_loop or 1
    replay_buffer = (get_replay_buffer_fn or _get_replay_buffer)(
        data_spec, environment.batch_size, steps_per_loop, async_steps_per_loop
    )

    # Bandit rounds seen: trajectories times the batch size.
    step_metric = tf_metrics.EnvironmentSteps()
    metrics = _default_metrics(environment)
    metrics[2:2] = list(additional_metrics)
    if transform is None:
        add_batch = replay_buffer.add_batch
    else:

        def add_batch(batch: Any) -> Any:
            return replay_buffer.add_batch(transform(batch))

    driver = dynamic_step_driver.DynamicStepDriver(
        env=environment,
        policy=agent.collect_policy,
        num_steps=steps_per_loop * environment.batch_size,
        observers=[add_batch, step_metric, *metrics],
    )
    training_loop = (get_training_loop_fn or _get_training_loop)(
        driver, replay_buffer, agent, steps_per_loop, async_steps_per_loop
    )
    checkpoint_manager = restore_and_get_checkpoint_manager(
        root_dir, agent, metrics, step_metric
    )
    saver = None
    if save_policy:
        saver = policy_saver.PolicySaver(
            agent.policy,
            train_step=tf.compat.v1.train.get_or_create_global_step(),
        )
    tf.summary.create_file_writer(root_dir).set_as_default()

    first_loop = 0
    if resume_training_loops:
        per_loop = steps_per_loop * environment.batch_size * async_steps_per_loop
        done = int(step_metric.result().numpy())
        if done % per_loop:
            raise ValueError(
                f"train(resume_training_loops=True): the checkpoint in {root_dir} "
                f"is at step {done}, not a multiple of steps_per_loop * batch_size "
                f"* async_steps_per_loop = {steps_per_loop} * "
                f"{environment.batch_size} * {async_steps_per_loop} = {per_loop}."
            )
        first_loop = done // per_loop

    for loop in range(first_loop, training_loops):
        training_loop(train_step=loop, metrics=metrics)
        checkpoint_manager.save()
        if saver is not None and loop % 100 == 0:
            step = int(step_metric.result().numpy())
            saver.save(os.path.join(root_dir, f"policy_{step}"))
