import collections

import numpy as np
import pytest
import tensorflow as tf

from policylib.networks import network
from policylib.policies import fixed_policy, qtopt_cem_policy
from policylib.policies.samplers import (
    qtopt_cem_actions_sampler_continuous,
    qtopt_cem_actions_sampler_continuous_and_one_hot,
    qtopt_cem_actions_sampler_hybrid,
)
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

OBS = tf.TensorSpec([2], tf.float32)
ACT = tensor_spec.BoundedTensorSpec([2], tf.float32, -1.0, 1.0)
TIME_STEP_SPEC = ts.time_step_spec(OBS)
OBSERVATIONS = tf.constant([[1.0, -1.0], [0.4, 0.8], [-1.6, 0.2]])
TOLERANCE = 0.05


class QuadraticQ(network.Network):
    """Q(s, a) = -|a - s / 2|^2: its argmax over actions is s / 2, row by row.

    Given actions with one more outer dim than the observations, as the policy
    sends without `preprocess_state_action`, it scores `[B, N, A]` actions for
    `[B, ...]` observations as `[B, N]` (`[B, T, N, A]` for `[B, T, ...]` as
    `[B, N, T]`). With `counter`, its state counts the calls.
    """

    def __init__(self, counter=False, outputs=()):
        state_spec = tf.TensorSpec([1], tf.float32) if counter else ()
        super().__init__((OBS, ACT), state_spec=state_spec, name="QuadraticQ")
        self._counter, self._outputs = counter, outputs

    def call(self, inputs, step_type=(), network_state=()):
        observation, action = inputs
        unpaired = action.shape.rank > observation.shape.rank
        if unpaired:
            observation = observation[..., None, :]  # one per sample
        q = -tf.reduce_sum(tf.square(action - 0.5 * observation), axis=-1)
        if unpaired and q.shape.rank == 3:  # [B, T, N] -> [B, N, T]
            q = tf.transpose(q, [0, 2, 1])
        if self._outputs:
            q = tf.tile(q[..., None], [1] * q.shape.rank + list(self._outputs))
        return q, (network_state + 1.0 if self._counter else ())


def cem(q_network=None, action_spec=ACT, sampler=None, mean=None, var=None, **kwargs):
    kwargs = {"num_samples": 64, "num_elites": 6, "num_iterations": 6, **kwargs}
    return qtopt_cem_policy.CEMPolicy(
        TIME_STEP_SPEC,
        action_spec,
        q_network=q_network or QuadraticQ(),
        sampler=sampler
        or qtopt_cem_actions_sampler_continuous.GaussianActionsSampler(action_spec),
        init_mean=[0.0, 0.0] if mean is None else mean,
        init_var=[0.5, 0.5] if var is None else var,
        **kwargs,
    )


def test_action_is_the_argmax_of_each_rows_quadratic():
    policy = cem(
        info_spec={
            "target_q": tf.TensorSpec([], tf.float32),
            "other": tf.TensorSpec([2], tf.int32),
        }
    )
    step = policy.action(ts.restart(OBSERVATIONS, batch_size=3))
    np.testing.assert_allclose(
        step.action.numpy(), OBSERVATIONS.numpy() / 2, atol=TOLERANCE
    )
    expected_q = -np.sum((step.action.numpy() - OBSERVATIONS.numpy() / 2) ** 2, axis=-1)
    np.testing.assert_allclose(
        step.info["target_q"].numpy(), expected_q, rtol=1e-5, atol=1e-7
    )
    np.testing.assert_array_equal(step.info["other"].numpy(), np.zeros([3, 2]))


def test_a_traced_action_finds_the_same_optimum():
    policy = cem()
    action = tf.function(policy.action)(ts.restart(OBSERVATIONS, batch_size=3)).action
    assert action.dtype == tf.float32 and action.shape == (3, 2)
    np.testing.assert_allclose(action.numpy(), OBSERVATIONS.numpy() / 2, atol=TOLERANCE)


def test_elites_come_best_first_with_their_q_values():
    policy = cem(num_elites=5)
    elites, scores, state = policy.actor_func(OBSERVATIONS, (), ())
    assert elites.shape == (3, 5, 2) and scores.shape == (3, 5) and state == ()
    scores = scores.numpy()
    assert np.all(np.diff(scores, axis=1) <= 0)
    q = -np.sum((elites.numpy() - OBSERVATIONS.numpy()[:, None] / 2) ** 2, axis=-1)
    np.testing.assert_allclose(scores, q, rtol=1e-5, atol=1e-7)


def test_score_pairs_each_sample_with_its_rows_observation():
    policy = cem(num_samples=4)
    actions = tf.random.uniform([3, 4, 2], -1.0, 1.0)
    scores, _ = policy._score(OBSERVATIONS, actions, step_type=tf.zeros([3], tf.int32))
    expected = [
        [
            QuadraticQ()((OBSERVATIONS[b : b + 1], actions[b, n : n + 1]))[0][0]
            for n in range(4)
        ]
        for b in range(3)
    ]
    np.testing.assert_allclose(scores.numpy(), np.array(expected), rtol=1e-6)


@pytest.mark.parametrize("preprocess", [True, False])
def test_batch_and_time_observations_get_an_optimum_per_step(preprocess):
    policy = cem(preprocess_state_action=preprocess, num_iterations=10)
    observations = tf.stack([OBSERVATIONS, -OBSERVATIONS], axis=1)  # [B=3, T=2, 2]
    elites, scores, _ = policy.actor_func(observations, (), ())
    assert elites.shape == (3, 2, 6, 2) and scores.shape == (3, 2, 6)
    np.testing.assert_allclose(
        elites.numpy()[:, :, 0], observations.numpy() / 2, atol=TOLERANCE
    )


def test_unpaired_network_scores_samples_of_each_row():
    policy = cem(preprocess_state_action=False)
    action = policy.action(ts.restart(OBSERVATIONS, batch_size=3)).action
    np.testing.assert_allclose(action.numpy(), OBSERVATIONS.numpy() / 2, atol=TOLERANCE)


@pytest.mark.parametrize(
    "proposal, actor_wins", [([0.5, 0.5], True), ([-1.0, -1.0], False)]
)
def test_actor_policys_action_is_taken_where_its_q_value_is_as_high(
    proposal, actor_wins
):
    observations = tf.ones([2, 2])  # optimum [0.5, 0.5]
    actor = fixed_policy.FixedPolicy(
        np.array(proposal, np.float32), TIME_STEP_SPEC, ACT
    )
    policy = cem(
        actor_policy=actor, info_spec={"target_q": tf.TensorSpec([], tf.float32)}
    )
    step = policy.action(ts.restart(observations, batch_size=2))
    if actor_wins:
        np.testing.assert_array_equal(step.action.numpy(), [proposal] * 2)
        np.testing.assert_array_equal(step.info["target_q"].numpy(), [0.0, 0.0])
    else:
        np.testing.assert_allclose(
            step.action.numpy(), np.full([2, 2], 0.5), atol=TOLERANCE
        )
        assert np.all(step.info["target_q"].numpy() > -(TOLERANCE**2) * 2)


def test_network_state_is_tiled_per_sample_and_advanced_once_per_step():
    policy = cem(
        QuadraticQ(counter=True), num_samples=8, num_elites=2, num_iterations=3
    )
    assert policy.policy_state_spec == tf.TensorSpec([1], tf.float32)
    first = policy.action(ts.restart(OBSERVATIONS, batch_size=3))  # state from zeros
    np.testing.assert_array_equal(first.state.numpy(), np.ones([3, 1]))
    step = ts.transition(OBSERVATIONS, tf.zeros([3]), tf.ones([3]))
    second = tf.function(policy.action)(step, first.state + [[0.0], [10.0], [20.0]])
    np.testing.assert_array_equal(second.state.numpy(), [[2.0], [12.0], [22.0]])


def test_one_hot_choice_and_its_continuous_action():
    spec = {
        "pick": tensor_spec.BoundedTensorSpec([3], tf.int32, 0, 1),
        "c": tensor_spec.BoundedTensorSpec([1], tf.float32, -1.0, 1.0),
    }

    class ChoiceQ(network.Network):
        def __init__(self, plain_values):
            super().__init__((OBS, spec), (), name="ChoiceQ")
            self._plain = tf.constant(plain_values + [0.0])

        def call(self, inputs, step_type=(), network_state=()):
            pick = tf.cast(inputs[1]["pick"], tf.float32)
            shaped = 1.0 - tf.square(inputs[1]["c"][:, 0] - 0.3)  # only for choice 2
            return tf.reduce_sum(pick * self._plain, -1) + pick[:, 2] * shaped, ()

    sampler = qtopt_cem_actions_sampler_continuous_and_one_hot.GaussianActionsSampler(
        spec, sample_clippers=[[], []], sub_actions_fields=[["pick"], ["c"]]
    )
    mean = {"pick": [0.0, 0.0, 0.0], "c": [0.0]}
    var = {"pick": [0.0, 0.0, 0.0], "c": [0.5]}
    time_step = ts.restart(OBSERVATIONS, batch_size=3)
    # Choice 2 (with c = 0.3) is worth 1, more than the plain choices.
    policy = cem(ChoiceQ([0.5, 0.2]), spec, sampler, mean, var)
    action = policy.action(time_step).action
    np.testing.assert_array_equal(action["pick"].numpy(), [[0, 0, 1]] * 3)
    np.testing.assert_allclose(
        action["c"].numpy(), np.full([3, 1], 0.3), atol=TOLERANCE
    )
    # Plain choice 1 is worth 2: its sample sets no continuous action.
    policy = cem(ChoiceQ([0.5, 2.0]), spec, sampler, mean, var)
    action = policy.action(time_step).action
    np.testing.assert_array_equal(action["pick"].numpy(), [[0, 1, 0]] * 3)
    np.testing.assert_array_equal(action["c"].numpy(), np.zeros([3, 1]))


def test_hybrid_actions_find_integer_and_continuous_optimum():
    spec = (ACT, tensor_spec.BoundedTensorSpec([2], tf.int32, 0, 4))

    class HybridQ(network.Network):
        def __init__(self):
            super().__init__((OBS, spec), (), name="HybridQ")

        def call(self, inputs, step_type=(), network_state=()):
            c, n = inputs[1]
            gap = tf.cast(n, tf.float32) - [3.0, 1.0]
            return -tf.reduce_sum(tf.square(c - 0.5), -1) - tf.reduce_sum(
                tf.square(gap), -1
            ), ()

    sampler = qtopt_cem_actions_sampler_hybrid.GaussianActionsSampler(spec)
    mean, var = ([0.0, 0.0], [2.0, 2.0]), ([0.5, 0.5], [2.0, 2.0])
    policy = cem(
        HybridQ(), spec, sampler, mean, var, num_samples=128, num_iterations=10
    )
    continuous, integer = policy.action(ts.restart(OBSERVATIONS, batch_size=3)).action
    assert integer.dtype == tf.int32
    np.testing.assert_array_equal(integer.numpy(), [[3, 1]] * 3)
    # The integer term dominates the first rounds, so the continuous part gets fewer.
    np.testing.assert_allclose(continuous.numpy(), np.full([3, 2], 0.5), atol=0.1)


def test_log_probability_of_the_deterministic_action_is_zero():
    step = cem(emit_log_probability=True).action(ts.restart(OBSERVATIONS, batch_size=3))
    # Per action dimension, as TF-Agents' `Deterministic` gives it.
    np.testing.assert_array_equal(step.info.log_probability.numpy(), np.zeros([3, 2]))


def test_initial_params_broadcast_the_initial_mean_and_variance():
    policy = cem(mean=np.array([0.25, -0.5]), var=[0.1, 0.2])
    mean, var = policy._initial_params(3)
    np.testing.assert_array_equal(mean.numpy(), [[0.25, -0.5]] * 3)
    np.testing.assert_allclose(var.numpy(), [[0.1, 0.2]] * 3)


def test_convert_nest_lists_to_np_array_keeps_the_nest_and_makes_float32():
    Pair = collections.namedtuple("Pair", ["a", "b"])
    nested = collections.defaultdict(list, x=Pair([1, 2], np.arange(3)), y=([0.5],))
    converted = qtopt_cem_policy.convert_nest_lists_to_np_array(nested)
    assert (
        isinstance(converted, collections.defaultdict)
        and converted.default_factory is list
    )
    assert isinstance(converted["x"], Pair) and type(converted["y"]) is tuple
    assert converted["x"].b.dtype == np.float32 and converted["x"].a.tolist() == [
        1.0,
        2.0,
    ]
    with pytest.raises(ValueError, match="not supported.*float: 0.5"):
        qtopt_cem_policy.convert_nest_lists_to_np_array({"a": 0.5})


class WithActionSpec(QuadraticQ):
    action_spec = tensor_spec.BoundedTensorSpec([3], tf.float32, -1.0, 1.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"q_network": WithActionSpec()}, "compatible with q_network.action_spec"),
        ({"q_network": QuadraticQ(outputs=(2,))}, r"inner dims \(\)"),
        ({"mean": [0.0, 0.0, 0.0]}, r"init_mean leaf .* shape \(3,\).*action size 2"),
        ({"var": {"a": [1.0, 1.0]}}, "init_var must have the structure of action_spec"),
        ({"mean": 0.0}, "nested type is not supported"),
        ({"num_samples": 0}, "num_samples must be an integer >= 1"),
        ({"num_iterations": -1}, "num_iterations must be an integer >= 0"),
        ({"minimal_var": -1.0}, "minimal_var must be >= 0"),
        (
            {"action_spec": tensor_spec.BoundedTensorSpec([], tf.float32, 0, 1)},
            "1-d action leaves",
        ),
    ],
)
def test_bad_arguments_are_refused_with_what_was_wrong(kwargs, message):
    if "action_spec" in kwargs:
        kwargs["sampler"] = object.__new__(
            qtopt_cem_actions_sampler_continuous.GaussianActionsSampler
        )
    with pytest.raises(ValueError, match=message):
        cem(**kwargs)


def test_searches_that_cannot_run_fail_when_acting():
    time_step = ts.restart(OBSERVATIONS, batch_size=3)
    with pytest.raises(
        ValueError, match=r"num_elites \(8\) must not exceed num_samples \(4\)"
    ):
        cem(num_samples=4, num_elites=8).action(time_step)
    policy = qtopt_cem_policy.CEMPolicy(
        TIME_STEP_SPEC, ACT, QuadraticQ(), None, None, None
    )
    with pytest.raises(ValueError, match="sampler=None"):
        policy.action(time_step)
    with pytest.raises(TypeError, match="sampler must be an ActionsSampler"):
        cem(sampler="continuous")
