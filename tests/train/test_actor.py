"""Actor: steps and episodes per run, observers, metrics and their summaries."""

from __future__ import annotations

import os

import pytest
import tensorflow as tf

from policylib.agents.dqn import dqn_agent
from policylib.environments import suite_gym, tf_py_environment
from policylib.metrics import py_metrics
from policylib.networks import q_network
from policylib.policies import py_tf_eager_policy, random_py_policy
from policylib.train import actor
from policylib.train.utils import spec_utils, train_utils


def _random_actor(**kwargs):
    env = suite_gym.load("CartPole-v0")
    env.seed(0)
    policy = random_py_policy.RandomPyPolicy(
        env.time_step_spec(), env.action_spec(), seed=1
    )
    train_step = train_utils.create_train_step()
    return actor.Actor(env, policy, train_step, **kwargs), train_step


def test_steps_per_run_feeds_observers_and_metrics():
    seen: list = []
    metrics = actor.collect_metrics(buffer_size=5)
    test_actor, _ = _random_actor(
        steps_per_run=3, observers=[seen.append], metrics=metrics
    )
    for _ in range(4):
        test_actor.run()
    # Observers also see the boundary step after an episode ends, which is
    # not counted as an env step (as in TF-Agents' drivers).
    boundaries = sum(bool(t.is_boundary()) for t in seen)
    assert len(seen) == 12 + boundaries
    steps = next(
        m for m in test_actor.metrics if isinstance(m, py_metrics.EnvironmentSteps)
    )
    assert int(steps.result()) == 12


def test_episodes_per_run_and_eval_metrics():
    test_actor, _ = _random_actor(
        episodes_per_run=2, metrics=actor.eval_metrics(buffer_size=2)
    )
    test_actor.run()
    average_return, average_length = test_actor.metrics
    assert average_return.result() > 0
    # CartPole pays 1 per step: the average return is the average length.
    assert average_return.result() == pytest.approx(average_length.result())


def test_transition_and_info_observers():
    transitions: list = []
    infos: list = []
    test_actor, _ = _random_actor(
        steps_per_run=5,
        transition_observers=[transitions.append],
        info_observers=[infos.append],
        end_episode_on_boundary=False,
    )
    test_actor.run()
    assert len(transitions) == 5 and len(infos) == 5
    time_step, policy_step, next_time_step = transitions[0]
    assert next_time_step.observation.shape == time_step.observation.shape == (4,)
    assert policy_step.action.shape == ()


def test_metrics_are_observers_once_and_reference_metrics_are_not():
    metrics = actor.collect_metrics(buffer_size=1)
    reference = py_metrics.EnvironmentSteps()
    test_actor, _ = _random_actor(
        steps_per_run=1,
        observers=[metrics[0]],
        metrics=metrics,
        reference_metrics=[reference],
    )
    observers = test_actor._observers  # noqa: SLF001
    assert reference not in observers
    assert sum(o is metrics[0] for o in observers) == 1


def test_summaries_follow_summary_interval(tmp_path):
    summary_dir = str(tmp_path / "eval")
    reference = py_metrics.EnvironmentSteps()
    test_actor, train_step = _random_actor(
        steps_per_run=2,
        metrics=[*actor.eval_metrics(1), reference],
        reference_metrics=[reference],
        summary_dir=summary_dir,
        summary_interval=10,
        name="eval",
    )
    test_actor.run()  # train step 0: written (the first run always is)
    assert test_actor._last_summary == 0  # noqa: SLF001
    train_step.assign(5)
    test_actor.run()  # 5 < 10 steps later: skipped
    assert test_actor._last_summary == 0  # noqa: SLF001
    train_step.assign(10)
    test_actor.run()
    assert test_actor._last_summary == 10  # noqa: SLF001
    test_actor.summary_writer.flush()
    tags: set[str] = set()
    for path in tf.io.gfile.glob(os.path.join(summary_dir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
    assert "Metrics/eval/AverageReturn" in tags
    assert "eval/Metrics/AverageReturn/EnvironmentSteps" in tags


def test_no_summary_dir_writes_nothing(tmp_path):
    test_actor, _ = _random_actor(steps_per_run=1, metrics=actor.eval_metrics(1))
    test_actor.run()
    test_actor.write_metric_summaries()  # a no-op writer
    test_actor.log_metrics()
    assert os.listdir(tmp_path) == []


def test_reset_starts_a_new_episode():
    seen: list = []
    test_actor, _ = _random_actor(steps_per_run=3, observers=[seen.append])
    test_actor.run()
    test_actor.reset()
    test_actor.run()
    assert seen[3].is_first()


def test_tf_policy_via_py_tf_eager_policy():
    env = suite_gym.load("CartPole-v0")
    _, action_spec, time_step_spec = spec_utils.get_tensor_specs(env)
    train_step = train_utils.create_train_step()
    agent = dqn_agent.DqnAgent(
        time_step_spec,
        action_spec,
        q_network=q_network.QNetwork(
            time_step_spec.observation, action_spec, fc_layer_params=(4,)
        ),
        optimizer=tf.keras.optimizers.Adam(1e-3),
        train_step_counter=train_step,
    )
    seen: list = []
    policy = py_tf_eager_policy.PyTFEagerPolicy(
        agent.collect_policy, use_tf_function=True
    )
    test_actor = actor.Actor(
        env, policy, train_step, steps_per_run=4, observers=[seen.append]
    )
    test_actor.run()
    assert len(seen) == 4
    assert test_actor.policy is policy and test_actor.train_step is train_step


def test_tf_environment_is_refused():
    py_env = suite_gym.load("CartPole-v0")
    tf_env = tf_py_environment.TFPyEnvironment(py_env)
    policy = random_py_policy.RandomPyPolicy(
        py_env.time_step_spec(), py_env.action_spec()
    )
    with pytest.raises(ValueError, match="TFEnvironment"):
        actor.Actor(
            tf_env,  # type: ignore[arg-type]
            policy,
            train_utils.create_train_step(),
            steps_per_run=1,
        )
