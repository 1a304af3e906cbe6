"""Triggers: interval logic, policy exports and checkpoints, steps/sec, Reverb checkpoints."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from policylib import reverb
from policylib.agents.dqn import dqn_agent
from policylib.environments import suite_gym
from policylib.metrics import py_metrics
from policylib.networks import q_network
from policylib.policies import py_tf_eager_policy
from policylib.train import interval_trigger, learner, step_per_second_tracker, triggers
from policylib.train.utils import spec_utils, train_utils


def test_interval_trigger_fires_once_interval_has_passed():
    fired = []
    trigger = interval_trigger.IntervalTrigger(5, lambda: fired.append(len(fired)))
    for value in (0, 3, 7, 9, 12, 16):
        trigger(value)
    assert fired == [0, 1]  # at 7 and 12
    trigger(12, force_trigger=True)  # already fired at 12: no
    trigger(13, force_trigger=True)
    assert len(fired) == 3
    trigger.reset()
    trigger(5)
    assert len(fired) == 4
    trigger.set_start(100)
    trigger(104)
    assert len(fired) == 4


def test_interval_trigger_disabled():
    fired = []
    trigger = interval_trigger.IntervalTrigger(0, lambda: fired.append(1))
    trigger(10**6, force_trigger=True)
    assert fired == []


def test_step_per_second_tracker():
    step = tf.Variable(10, dtype=tf.int64)
    tracker = step_per_second_tracker.StepPerSecondTracker(step)
    step.assign(30)
    assert tracker.steps_per_second() > 0
    tracker.restart()
    assert tracker.last_iteration == 30


class _FixedMetric:
    """A metric whose result is set by the test."""

    name = "Fixed"

    def __init__(self, value: int):
        self.value = np.int64(value)

    def result(self) -> np.int64:
        return self.value


def _agent(train_step):
    env = suite_gym.load("CartPole-v0")
    _, action_spec, time_step_spec = spec_utils.get_tensor_specs(env)
    agent = dqn_agent.DqnAgent(
        time_step_spec,
        action_spec,
        q_network=q_network.QNetwork(
            time_step_spec.observation, action_spec, fc_layer_params=(4,)
        ),
        optimizer=tf.keras.optimizers.Adam(1e-3),
        train_step_counter=train_step,
    )
    agent.initialize()
    return agent, env


def test_policy_saved_model_trigger_exports_and_checkpoints(tmp_path):
    train_step = train_utils.create_train_step()
    agent, env = _agent(train_step)
    saved_model_dir = str(tmp_path / learner.POLICY_SAVED_MODEL_DIR)
    episodes = _FixedMetric(0)

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
    def double(x):
        return 2.0 * x

    trigger = triggers.PolicySavedModelTrigger(
        saved_model_dir,
        agent,
        train_step,
        interval=10,
        metadata_metrics={triggers.ENV_STEP_METADATA_KEY: episodes},
        extra_concrete_functions=[("double", double)],
    )
    for subdir in ("policy", "collect_policy", "greedy_policy"):
        assert tf.io.gfile.exists(
            os.path.join(saved_model_dir, subdir, "policy_specs.pbtxt")
        )

    train_step.assign(12)
    episodes.value = np.int64(3)  # read when the checkpoint is written
    trigger(12)
    checkpoint = os.path.join(
        saved_model_dir, "checkpoints", "policy_checkpoint_0000000012"
    )
    assert tf.io.gfile.exists(checkpoint)

    loaded = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
        os.path.join(saved_model_dir, "greedy_policy"), load_specs_from_pbtxt=True
    )
    loaded.update_from_checkpoint(checkpoint)
    assert int(loaded.get_train_step()) == 12
    assert int(loaded.get_metadata()[triggers.ENV_STEP_METADATA_KEY]) == 3
    assert float(loaded._policy.double(tf.constant(1.5))) == 3.0  # noqa: SLF001
    time_step = env.reset()
    assert loaded.action(time_step).action.shape == ()


def test_policy_saved_model_trigger_options(tmp_path):
    train_step = train_utils.create_train_step()
    agent, _ = _agent(train_step)
    saved_model_dir = str(tmp_path)
    triggers.PolicySavedModelTrigger(
        saved_model_dir,
        agent,
        train_step,
        interval=1,
        save_greedy_policy=False,
        save_collect_policy=False,
        use_nest_path_signatures=False,
    )
    assert sorted(os.listdir(saved_model_dir)) == ["policy"]
    with pytest.raises(NotImplementedError, match="async_saving"):
        triggers.PolicySavedModelTrigger(
            saved_model_dir,
            agent,
            train_step,
            interval=1,
            async_saving=True,
            metadata_metrics={"n": py_metrics.NumberOfEpisodes()},
        )


def test_step_per_second_log_trigger_writes_summary(tmp_path):
    train_step = train_utils.create_train_step()
    trigger = triggers.StepPerSecondLogTrigger(train_step, interval=2)
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        train_step.assign(4)
        trigger(4)
    writer.flush()
    tags: set[str] = set()
    for path in tf.io.gfile.glob(os.path.join(str(tmp_path), "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
    assert "RunTime/train_steps_per_sec" in tags


def test_reverb_checkpoint_trigger_checkpoints_the_server(tmp_path):
    checkpointer = reverb.checkpointers.DefaultCheckpointer(str(tmp_path))
    table = reverb.Table(
        "t",
        sampler=reverb.selectors.Uniform(),
        remover=reverb.selectors.Fifo(),
        max_size=10,
        rate_limiter=reverb.rate_limiters.MinSize(1),
    )
    server = reverb.Server([table], checkpointer=checkpointer)
    try:
        client = reverb.Client(f"localhost:{server.port}")
        client.insert(np.ones(2, np.float32), {"t": 1.0})
        trigger = triggers.ReverbCheckpointTrigger(
            train_utils.create_train_step(), interval=3, reverb_client=client
        )
        trigger(2)
        assert os.listdir(tmp_path) == []
        trigger(3)
        assert os.listdir(tmp_path)
    finally:
        server.stop()
