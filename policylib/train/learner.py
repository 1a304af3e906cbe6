"""`Learner`: trains an agent on a dataset under a distribution strategy.

The learner owns what a training job needs around `agent.train`: the dataset
iterator (distributed over the strategy's replicas), a loop of train steps in
one `tf.function`, loss reduction over replicas, summaries every
`summary_interval` steps, checkpoints of agent and train step (restored on
construction), and triggers run after every `run` call.

The dataset can be any `tf.data.Dataset` of `(experience, sample_info)` pairs,
a Reverb buffer's or a `TFUniformReplayBuffer.as_dataset(...)`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

import gin
import tensorflow as tf

from policylib.agents import tf_agent
from policylib.specs import tensor_spec
from policylib.train import interval_trigger
from policylib.train._context import soft_device_placement
from policylib.typing import types
from policylib.utils import common, keras_compat

__all__ = [
    "COLLECT_POLICY_SAVED_MODEL_DIR",
    "GREEDY_POLICY_SAVED_MODEL_DIR",
    "POLICY_CHECKPOINT_DIR",
    "POLICY_SAVED_MODEL_DIR",
    "RAW_POLICY_SAVED_MODEL_DIR",
    "REPLAY_BUFFER_CHECKPOINT_DIR",
    "TRAIN_DIR",
    "ExperienceAndSampleInfo",
    "Learner",
]

_log = logging.getLogger(__name__)

# Directory layout under a learner's `root_dir`, as TF-Agents names it.
TRAIN_DIR = "train"
POLICY_SAVED_MODEL_DIR = "policies"
COLLECT_POLICY_SAVED_MODEL_DIR = "collect_policy"
GREEDY_POLICY_SAVED_MODEL_DIR = "greedy_policy"
RAW_POLICY_SAVED_MODEL_DIR = "policy"
POLICY_CHECKPOINT_DIR = "checkpoints"
REPLAY_BUFFER_CHECKPOINT_DIR = "replay_buffer_checkpoints"

ExperienceAndSampleInfo = tuple[types.NestedTensor, Any]
Trigger = Callable[..., None]


@gin.configurable
class Learner(tf.Module):
    """Runs an agent's train steps on a dataset, with checkpoints, summaries and triggers.

    Args:
      root_dir: checkpoints go to `root_dir/train/checkpoints`, summaries to
        `root_dir/train` (unless `summary_root_dir` is given).
      train_step: the scalar int64 train-step variable (the agent's counter).
      agent: the `TFAgent` to train.
      experience_dataset_fn: returns the `tf.data.Dataset` to train on; its
        elements are `(experience, sample_info)`, or a `ReplaySample` with
        `use_reverb_v2`, or bare experience with `direct_sampling`. Subclasses
        that pass an iterator to every `run` may leave it None.
      after_train_strategy_step_fn: `fn((experience, sample_info), loss_info)`
        run (under `strategy.run`) after every train step, e.g. to update
        priorities.
      triggers: callables `trigger(train_step_value)` called after every `run`.
      checkpoint_interval: train steps between checkpoints; <= 0 disables them
        (training then cannot resume after preemption).
      summary_interval: train steps between summaries; 0 disables them.
      max_checkpoints_to_keep: how many recent checkpoints to keep.
      use_kwargs_in_agent_train: the dataset yields
        `dict(experience=..., other_train_kwarg=...)`, passed as keywords.
      strategy: the `tf.distribute.Strategy`; the current one by default.
      run_optimizer_variable_init: trace `agent.train` once before the first
        checkpoint so that the optimizer's slot variables exist and are saved
        and restored (turn off only for agents whose input cannot be batched
        from specs).
      use_reverb_v2: dataset elements are `ReplaySample(data, info)`.
      direct_sampling: dataset elements are experience alone (no sample info).
      experience_dataset_options: `tf.distribute.InputOptions` for
        distributing the dataset.
      strategy_run_options: `tf.distribute.RunOptions` for every `strategy.run`.
      summary_root_dir: root of the summary directory, if not `root_dir`.
    """

    def __init__(
        self,
        root_dir: str,
        train_step: tf.Variable,
        agent: tf_agent.TFAgent,
        experience_dataset_fn: Callable[[], tf.data.Dataset] | None = None,
        after_train_strategy_step_fn: Callable[[Any, Any], Any] | None = None,
        triggers: Sequence[Trigger] | None = None,
        checkpoint_interval: int = 100000,
        summary_interval: int = 1000,
        max_checkpoints_to_keep: int = 3,
        use_kwargs_in_agent_train: bool = False,
        strategy: tf.distribute.Strategy | None = None,
        run_optimizer_variable_init: bool = True,
        use_reverb_v2: bool = False,
        direct_sampling: bool = False,
        experience_dataset_options: tf.distribute.InputOptions | None = None,
        strategy_run_options: tf.distribute.RunOptions | None = None,
        summary_root_dir: str | None = None,
    ):
        super().__init__()
        if checkpoint_interval < 0:
            _log.warning(
                "Learner: checkpoint_interval=%d, so no checkpoints are written and "
                "training cannot resume after preemption.",
                checkpoint_interval,
            )
        self._train_dir = os.path.join(root_dir, TRAIN_DIR)
        self._summary_dir = os.path.join(summary_root_dir or root_dir, TRAIN_DIR)
        self._use_reverb_v2 = use_reverb_v2
        self._direct_sampling = direct_sampling
        if summary_interval:
            self.train_summary_writer = tf.summary.create_file_writer(
                self._summary_dir, flush_millis=10000
            )
        else:
            self.train_summary_writer = tf.summary.create_noop_writer()

        self.train_step = train_step
        self._agent = agent
        self.use_kwargs_in_agent_train = use_kwargs_in_agent_train
        self.strategy = strategy or tf.distribute.get_strategy()
        self.after_train_strategy_step_fn = after_train_strategy_step_fn
        self.triggers: list[Trigger] = list(triggers or [])
        self._strategy_run_options = strategy_run_options
        # `agent.train` is already a graph function (or plain TF code); keep the
        # learner's autograph-free loop from converting it again.
        self._agent_train = tf.autograph.experimental.do_not_convert(agent.train)

        dataset = None
        self._experience_iterator: Any = None
        if experience_dataset_fn is not None:
            with self.strategy.scope():
                dataset = self.strategy.distribute_datasets_from_function(
                    lambda _: experience_dataset_fn(),
                    options=experience_dataset_options,
                )
                self._experience_iterator = iter(dataset)

        checkpoint_dir = os.path.join(self._train_dir, POLICY_CHECKPOINT_DIR)
        with self.strategy.scope():
            agent.initialize()
            if run_optimizer_variable_init:
                self._create_optimizer_variables(dataset)
            else:
                _log.warning(
                    "Learner: run_optimizer_variable_init=False is deprecated."
                )
            self._checkpointer = common.Checkpointer(
                checkpoint_dir,
                max_to_keep=max_checkpoints_to_keep,
                agent=self._agent,
                train_step=self.train_step,
            )
            self._checkpointer.initialize_or_restore()

        start = int(self.train_step.numpy())
        for trigger in self.triggers:
            set_start = getattr(trigger, "set_start", None)
            if callable(set_start):
                set_start(start)
        self.triggers.append(self._checkpoint_trigger(checkpoint_interval))
        self.summary_interval = tf.constant(summary_interval, dtype=tf.int64)

    # -- set-up --------------------------------------------------------------

    def _create_optimizer_variables(self, dataset: Any) -> None:
        """Traces one train step from specs so optimizer slots exist before checkpointing."""
        if dataset is not None:
            element_spec = dataset.element_spec
            if self._direct_sampling:
                batched_specs = element_spec
            elif self._use_reverb_v2:
                batched_specs = element_spec.data
            else:
                batched_specs, _ = element_spec
        else:
            batched_specs = tensor_spec.add_outer_dims_nest(
                self._agent.training_data_spec,
                (None, self._agent.train_sequence_length),
            )
        if self.use_kwargs_in_agent_train:
            batched_specs = dict(experience=batched_specs)

        @common.function
        def create_variables(specs: Any) -> Any:
            return self._run_on_replicas(self._agent_train, specs)

        def trace() -> None:
            create_variables.get_concrete_function(batched_specs)

        if keras_compat.is_keras3() and self.strategy.num_replicas_in_sync > 1:
            _trace_building_optimizers_eagerly(self._agent, trace)
        else:
            trace()

    def _checkpoint_trigger(self, checkpoint_interval: int) -> Trigger:
        if checkpoint_interval <= 0:
            return lambda _, force_trigger=False: None

        def save() -> None:
            self._checkpointer.save(self.train_step)

        return interval_trigger.IntervalTrigger(
            checkpoint_interval, save, start=int(self.train_step.numpy())
        )

    # -- properties ----------------------------------------------------------

    @property
    def train_step_numpy(self) -> Any:
        """The train step's value now, as a NumPy scalar."""
        return self.train_step.numpy()

    # -- training ------------------------------------------------------------

    def _summary_record_if(self) -> tf.Tensor:
        if int(self.summary_interval) == 0:
            return tf.constant(False)
        step = tf.cast(self.train_step, tf.int64)
        return tf.equal(step % self.summary_interval, 0)

    def run(
        self, iterations: int = 1, iterator: Any = None, parallel_iterations: int = 10
    ) -> Any:
        """Runs `iterations` train steps in one graph call, then the triggers.

        Args:
          iterations: train steps to run (>= 1).
          iterator: the iterator to draw experience from; the learner's own
            (over `experience_dataset_fn`) by default.
          parallel_iterations: how many loop iterations TensorFlow may run at once.

        Returns:
          The last step's `LossInfo`, each leaf summed over replicas (and over
          its own dimensions).
        """
        assert iterations >= 1, (
            f"Iterations must be greater or equal to 1, was {iterations}"
        )
        iterator = iterator if iterator is not None else self._experience_iterator
        if iterator is None:
            raise ValueError(
                "Learner.run: no iterator; pass one, or give the Learner an "
                "experience_dataset_fn."
            )
        with (
            self.train_summary_writer.as_default(),
            soft_device_placement(),
            tf.summary.record_if(self._summary_record_if),
            self.strategy.scope(),
        ):
            loss_info = self._train(
                tf.constant(iterations, dtype=tf.int64), iterator, parallel_iterations
            )
            step = self.train_step.numpy()
            for trigger in self.triggers:
                trigger(step)
            return loss_info

    @common.function
    def _train(
        self, iterations: tf.Tensor, iterator: Any, parallel_iterations: int
    ) -> Any:
        """`iterations` train steps in a `tf.while_loop`; the last step's reduced loss.

        The first step runs before the loop (the loop needs the loss's structure);
        both calls go through one nested `tf.function`, so the agent's train step
        is traced once, not twice (TF-Agents traces it twice).
        """

        @tf.function(autograph=False)
        def step(iterator: Any) -> Any:
            return self._reduce(
                self.single_train_step(iterator), tf.distribute.ReduceOp.SUM
            )

        first = step(iterator)

        def body(i: tf.Tensor, _: Any) -> tuple[tf.Tensor, Any]:
            return i + 1, step(iterator)

        _, loss_info = tf.while_loop(
            lambda i, _: i < iterations,
            body,
            (tf.constant(1, dtype=tf.int64), first),
            parallel_iterations=parallel_iterations,
        )
        return loss_info

    def single_train_step(self, iterator: Any) -> Any:
        """One train step on the next element of `iterator`; the per-replica `LossInfo`."""
        experience, sample_info = self._split_sample(next(iterator))
        loss_info = self._run_on_replicas(self._agent_train, experience)
        self._after_step(experience, sample_info, loss_info)
        return loss_info

    def loss(
        self,
        experience_and_sample_info: ExperienceAndSampleInfo | None = None,
        reduce_op: tf.distribute.ReduceOp = tf.distribute.ReduceOp.SUM,
    ) -> tf_agent.LossInfo:
        """The agent's loss on a batch, without a gradient step or train-step increment.

        Args:
          experience_and_sample_info: `(experience, sample_info)`; the next
            element of the learner's dataset by default.
          reduce_op: how per-replica losses combine.

        Returns:
          The `LossInfo`, reduced over replicas with `reduce_op`.
        """
        with (
            self.train_summary_writer.as_default(),
            soft_device_placement(),
            tf.summary.record_if(self._summary_record_if),
            self.strategy.scope(),
        ):
            if experience_and_sample_info is None:
                if self._experience_iterator is None:
                    raise ValueError(
                        "Learner.loss: no experience given and no experience_dataset_fn."
                    )
                experience_and_sample_info = self._split_sample(
                    next(self._experience_iterator)
                )
            return self._loss(experience_and_sample_info, reduce_op)

    @common.function
    def _loss(
        self,
        experience_and_sample_info: ExperienceAndSampleInfo,
        reduce_op: tf.distribute.ReduceOp,
    ) -> Any:
        experience, sample_info = experience_and_sample_info
        loss_info = self._run_on_replicas(
            self._agent.loss, experience, with_options=False
        )
        self._after_step(experience, sample_info, loss_info)
        return self._reduce(loss_info, reduce_op)

    # -- helpers -------------------------------------------------------------

    def _split_sample(self, sample: Any) -> tuple[Any, Any]:
        """`(experience, sample_info)` from a dataset element, per the element layout."""
        if self._direct_sampling:
            return sample, None
        if self._use_reverb_v2:
            return sample.data, sample.info
        experience, sample_info = sample
        return experience, sample_info

    def _run_on_replicas(
        self, fn: Callable, experience: Any, with_options: bool = True
    ) -> Any:
        """`fn(experience)` (or `fn(**experience)`) on every replica."""
        options = self._strategy_run_options if with_options else None
        if self.use_kwargs_in_agent_train:
            return self.strategy.run(fn, kwargs=experience, options=options)
        return self.strategy.run(fn, args=(experience,), options=options)

    def _after_step(self, experience: Any, sample_info: Any, loss_info: Any) -> None:
        fn = self.after_train_strategy_step_fn
        if fn is None:
            return
        if self.use_kwargs_in_agent_train:
            self.strategy.run(
                fn,
                kwargs=dict(experience=(experience, sample_info), loss_info=loss_info),
                options=self._strategy_run_options,
            )
        else:
            self.strategy.run(
                fn,
                args=((experience, sample_info), loss_info),
                options=self._strategy_run_options,
            )

    def _reduce(self, loss_info: Any, reduce_op: tf.distribute.ReduceOp) -> Any:
        """Each loss leaf combined over replicas and summed over its own dimensions."""

        def reduce_leaf(loss: Any) -> Any:
            if loss is None:
                return None
            if isinstance(loss, tf.distribute.DistributedValues):
                rank = loss.values[0].shape.rank
            elif tf.is_tensor(loss):
                rank = loss.shape.rank
            else:
                rank = None
            axis = tuple(range(rank)) if rank else None
            return self.strategy.reduce(reduce_op, loss, axis=axis)

        return tf.nest.map_structure(reduce_leaf, loss_info)


class _OptimizerBuild(Exception):
    """Raised from inside a trace: `optimizer` wants slots for `var_list`."""

    def __init__(self, optimizer: Any, var_list: list[Any]):
        super().__init__("optimizer build requested while tracing")
        self.optimizer = optimizer
        self.var_list = var_list


def _trace_building_optimizers_eagerly(agent: Any, trace: Callable[[], None]) -> None:
    """Runs `trace()`, building the agent's Keras 3 optimizers outside it first.

    A Keras 3 optimizer creates its slot variables on its first
    `apply_gradients`; inside a traced function on several replicas a
    `MirroredStrategy` cannot lift their initializers out of the graph. So each
    unbuilt optimizer's `build` is intercepted: the trace stops when one asks,
    the optimizer is built eagerly with the variables it asked for, and the
    trace starts again.
    """
    optimizer_class = keras_compat.keras().optimizers.Optimizer
    optimizers = [
        value
        for value in vars(agent).values()
        if isinstance(value, optimizer_class) and not getattr(value, "built", True)
    ]

    def interceptor(optimizer: Any) -> Callable[..., None]:
        def build(var_list: Any) -> None:
            raise _OptimizerBuild(optimizer, list(var_list))

        return build

    for _ in range(len(optimizers) + 1):
        pending = [o for o in optimizers if not o.built]
        for optimizer in pending:
            # An instance attribute shadows `build` without Keras' attribute tracking.
            object.__setattr__(optimizer, "build", interceptor(optimizer))
        try:
            trace()
            return
        except _OptimizerBuild as request:
            request_ = request
        finally:
            for optimizer in pending:
                object.__delattr__(optimizer, "build")
        request_.optimizer.build(request_.var_list)
    trace()
