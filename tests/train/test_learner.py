"""Learner: training on any dataset, checkpoint save and restore, triggers, strategies."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from policylib.agents.dqn import dqn_agent
from policylib.drivers import dynamic_step_driver
from policylib.environments import suite_gym, tf_py_environment
from policylib.networks import q_network
from policylib.replay_buffers import tf_uniform_replay_buffer
from policylib.train import interval_trigger, learner
from policylib.train.utils import test_utils as dist_test_utils
from policylib.train.utils import train_utils

# Before TensorFlow's runtime starts (a no-op if it already has).
dist_test_utils.configure_logical_cpus()


def _build(
    root_dir: str, strategy: tf.distribute.Strategy | None = None, **kwargs: object
) -> tuple[learner.Learner, dqn_agent.DqnAgent]:
    """A tiny CartPole DQN learner on a `TFUniformReplayBuffer` of 40 collected steps.

    The buffer lives outside `strategy` (its variables are not mirrored); the
    agent, train step and learner inside it.
    """
    strategy = strategy or tf.distribute.get_strategy()
    env = tf_py_environment.TFPyEnvironment(suite_gym.load("CartPole-v0"))
    with strategy.scope():
        train_step = train_utils.create_train_step()
        q_net = q_network.QNetwork(
            env.observation_spec(), env.action_spec(), fc_layer_params=(8,)
        )
        agent = dqn_agent.DqnAgent(
            env.time_step_spec(),
            env.action_spec(),
            q_network=q_net,
            optimizer=tf.keras.optimizers.Adam(learning_rate=1e-2),
            train_step_counter=train_step,
        )
        agent.initialize()
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        agent.collect_data_spec, batch_size=env.batch_size, max_length=100
    )
    dynamic_step_driver.DynamicStepDriver(
        env, agent.collect_policy, observers=[buffer.add_batch], num_steps=40
    ).run()
    kwargs.setdefault("checkpoint_interval", 2)
    with strategy.scope():
        test_learner = learner.Learner(
            root_dir,
            train_step,
            agent,
            experience_dataset_fn=lambda: buffer.as_dataset(
                sample_batch_size=8, num_steps=2
            ),
            strategy=strategy,
            **kwargs,  # type: ignore[arg-type]
        )
    return test_learner, agent


def test_dqn_on_uniform_replay_buffer_trains_checkpoints_and_restores(tmp_path):
    root = str(tmp_path / "root")
    test_learner, agent = _build(root)
    before = [v.numpy() for v in agent.collect_policy.variables()]

    loss = test_learner.run(iterations=3)

    assert np.isfinite(loss.loss.numpy())
    assert test_learner.train_step_numpy == 3
    after = [v.numpy() for v in agent.collect_policy.variables()]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    checkpoint_dir = os.path.join(
        root, learner.TRAIN_DIR, learner.POLICY_CHECKPOINT_DIR
    )
    assert tf.train.latest_checkpoint(checkpoint_dir).endswith("ckpt-3")

    restored_learner, restored_agent = _build(root)
    assert restored_learner.train_step_numpy == 3
    for a, b in zip(after, restored_agent.collect_policy.variables()):
        np.testing.assert_array_equal(a, b.numpy())
    optimizer_vars = restored_agent._optimizer.variables  # noqa: SLF001
    optimizer_vars = optimizer_vars() if callable(optimizer_vars) else optimizer_vars
    assert int(np.asarray(optimizer_vars[0])) == 3  # the restored iteration count


def test_loss_does_not_train(tmp_path):
    test_learner, agent = _build(str(tmp_path))
    before = [v.numpy() for v in agent.collect_policy.variables()]
    loss = test_learner.loss()
    assert np.isfinite(loss.loss.numpy())
    assert test_learner.train_step_numpy == 0
    for a, b in zip(before, agent.collect_policy.variables()):
        np.testing.assert_array_equal(a, b.numpy())


def test_triggers_fire_after_run_and_start_at_restored_step(tmp_path):
    fired: list[int] = []
    test_learner, _ = _build(str(tmp_path), checkpoint_interval=-1)
    trigger = interval_trigger.IntervalTrigger(2, lambda: fired.append(step()))
    test_learner.triggers.insert(0, trigger)

    def step() -> int:
        return int(test_learner.train_step_numpy)

    for _ in range(5):
        test_learner.run(iterations=1)
    assert fired == [2, 4]
    # checkpoint_interval=-1 writes nothing.
    assert not tf.io.gfile.exists(os.path.join(str(tmp_path), "train", "checkpoints"))


def test_summaries_written_every_interval(tmp_path):
    test_learner, _ = _build(str(tmp_path), summary_interval=1, checkpoint_interval=-1)
    test_learner.run(iterations=2)
    test_learner.train_summary_writer.flush()
    events = tf.io.gfile.glob(
        os.path.join(str(tmp_path), "train", "events.out.tfevents.*")
    )
    assert events and os.path.getsize(events[0]) > 100


def test_after_train_step_fn_sees_sample_info(tmp_path):
    calls: list[int] = []

    def after(experience_and_info, loss_info):
        _, info = experience_and_info
        assert loss_info.loss.shape == ()
        calls.append(len(tf.nest.flatten(info)))

    test_learner, _ = _build(str(tmp_path), after_train_strategy_step_fn=after)
    test_learner.run(iterations=2)
    assert calls  # traced: BufferInfo(ids, probabilities)
    assert calls[0] == 2


def test_invalid_iterations_and_missing_dataset(tmp_path):
    test_learner, agent = _build(str(tmp_path))
    with pytest.raises(
        AssertionError, match="Iterations must be greater or equal to 1"
    ):
        test_learner.run(iterations=0)
    bare = learner.Learner(str(tmp_path / "bare"), agent.train_step_counter, agent)
    with pytest.raises(ValueError, match="no iterator"):
        bare.run()


@pytest.fixture(scope="module")
def mirrored() -> tf.distribute.MirroredStrategy:
    """One MirroredStrategy over two logical CPUs for the whole module.

    Each strategy numbers its collective ops from the same start, so two
    strategies in one process would reuse instance keys for tensors of other
    shapes (TensorFlow aborts with "Shape mismatch in the collective instance").
    """
    cpus = tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([d.name for d in cpus[:2]])


def test_mirrored_strategy_on_cpu(tmp_path, mirrored):
    strategy = mirrored
    test_learner, agent = _build(str(tmp_path), strategy)
    assert test_learner.strategy is strategy
    before = [v.numpy() for v in agent.collect_policy.variables()]
    loss = test_learner.run(iterations=2)
    assert np.isfinite(loss.loss.numpy())
    assert test_learner.train_step_numpy == 2
    after = [v.numpy() for v in agent.collect_policy.variables()]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))


def test_constants_match_tf_agents_layout():
    assert (learner.TRAIN_DIR, learner.POLICY_CHECKPOINT_DIR) == (
        "train",
        "checkpoints",
    )
    assert learner.POLICY_SAVED_MODEL_DIR == "policies"
    assert learner.RAW_POLICY_SAVED_MODEL_DIR == "policy"
    assert learner.COLLECT_POLICY_SAVED_MODEL_DIR == "collect_policy"
    assert learner.GREEDY_POLICY_SAVED_MODEL_DIR == "greedy_policy"
    assert learner.REPLAY_BUFFER_CHECKPOINT_DIR == "replay_buffer_checkpoints"


def _optimizer_values(agent: object) -> list[np.ndarray]:
    variables = agent._optimizer.variables  # type: ignore[attr-defined]  # noqa: SLF001
    variables = variables() if callable(variables) else variables
    return [np.array(v.numpy()) for v in variables]


@pytest.mark.parametrize("use_mirrored", [False, True], ids=["default", "mirrored"])
def test_ppo_learner_resumes_with_the_checkpointed_adam_state(
    tmp_path, use_mirrored, mirrored
):
    """Every Adam slot of a restored PPO learner holds the checkpoint's value.

    Under Keras 3 the optimizer creates its slots lazily; a restore that ran
    before they existed would leave them at zero and restart Adam's moments.
    """
    strategy = mirrored if use_mirrored else tf.distribute.get_strategy()
    env = tf_py_environment.TFPyEnvironment(suite_gym.load("CartPole-v0"))

    def build(root: str) -> learner.Learner:
        with strategy.scope():
            train_step = train_utils.create_train_step()
            agent, _, dataset_fn, _ = dist_test_utils.create_ppo_agent_and_dataset_fn(
                env.action_spec(), env.time_step_spec(), train_step, 2
            )
            return learner.Learner(
                root,
                train_step,
                agent,
                experience_dataset_fn=dataset_fn,
                checkpoint_interval=1,
                strategy=strategy,
            )

    root = str(tmp_path / "root")
    trained = build(root)
    trained.run(iterations=2)
    saved = _optimizer_values(trained._agent)  # noqa: SLF001
    assert saved[0] == 2  # the iteration count comes first, as in tf-keras

    restored = build(root)
    values = _optimizer_values(restored._agent)  # noqa: SLF001
    assert len(values) == len(saved) > 1
    for got, want in zip(values, saved):
        np.testing.assert_array_equal(got, want)
    assert any(np.any(v != 0) for v in values[1:])  # slots really were trained
