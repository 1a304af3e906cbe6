import numpy as np
import pytest
import tensorflow as tf

from policylib.policies.samplers import qtopt_cem_actions_sampler_continuous as cont
from policylib.specs import tensor_spec

ARM = tensor_spec.BoundedTensorSpec([2], tf.float32, -1.0, 1.0)
GRIP = tensor_spec.BoundedTensorSpec([1], tf.float32, 0.0, 0.5)


def rows(values, batch):
    return tf.broadcast_to(tf.constant(values, tf.float32), [batch, len(values)])


def test_samples_are_batch_by_samples_by_action_and_within_each_leafs_bounds():
    spec = {"arm": ARM, "grip": GRIP}
    sampler = cont.GaussianActionsSampler(spec)
    mean = {"arm": rows([0.9, -0.9], 3), "grip": rows([0.4], 3)}
    var = {"arm": rows([1.0, 1.0], 3), "grip": rows([1.0], 3)}
    actions = sampler.sample_batch_and_clip(200, mean, var)
    assert actions["arm"].shape == (3, 200, 2) and actions["grip"].shape == (3, 200, 1)
    arm, grip = actions["arm"].numpy(), actions["grip"].numpy()
    assert arm.min() == -1.0 and arm.max() == 1.0  # clipped, so the bounds are hit
    assert grip.min() == 0.0 and grip.max() == 0.5


def test_each_row_draws_from_its_own_mean_and_variance():
    spec = tensor_spec.BoundedTensorSpec([2], tf.float32, -100.0, 100.0)
    mean = tf.constant([[1.0, -2.0], [10.0, 0.0]])
    var = tf.constant([[0.25, 4.0], [1.0, 0.01]])
    actions = cont.GaussianActionsSampler(spec).sample_batch_and_clip(4000, mean, var)
    np.testing.assert_allclose(actions.numpy().mean(axis=1), mean.numpy(), atol=0.1)
    np.testing.assert_allclose(actions.numpy().var(axis=1), var.numpy(), rtol=0.1)


def test_clippers_run_in_order_with_the_state_before_the_spec_bounds():
    seen = []

    def scale(actions, state):
        seen.append(state)
        return actions * 0.0 + state[:, None, :]

    def shift(actions, state):
        return actions + 0.25

    sampler = cont.GaussianActionsSampler(ARM, sample_clippers=[scale, shift])
    state = tf.constant([[0.5, -0.5], [2.0, -3.0]])
    actions = sampler.sample_batch_and_clip(
        5, rows([0.0, 0.0], 2), rows([1.0, 1.0], 2), state
    )
    assert seen[0] is state
    expected = np.array([[0.75, -0.25], [1.0, -1.0]])  # shifted, then clipped
    np.testing.assert_allclose(actions.numpy(), np.repeat(expected[:, None], 5, axis=1))


def test_refit_gives_mean_and_population_variance_of_each_rows_elites():
    samples = tf.constant(
        [[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], [[1.0, 1.0], [3.0, 3.0], [9.0, 9.0]]]
    )
    mean, var = cont.GaussianActionsSampler(ARM).refit_distribution_to(
        tf.constant([[0, 2], [1, 1]]), samples
    )
    np.testing.assert_allclose(mean.numpy(), [[2.0, 3.0], [3.0, 3.0]])
    np.testing.assert_allclose(var.numpy(), [[4.0, 4.0], [0.0, 0.0]])


def test_integer_leaves_need_support_integer_and_come_back_truncated():
    steps = tensor_spec.BoundedTensorSpec([3], tf.int32, 0, 9)
    with pytest.raises(ValueError, match=r"Only continuous action.*'steps'.*int32"):
        cont.GaussianActionsSampler({"arm": ARM, "steps": steps})
    sampler = cont.GaussianActionsSampler(steps, support_integer=True)
    actions = sampler.sample_batch_and_clip(
        50, rows([2.9, 20.0, -5.0], 2), rows([0.0] * 3, 2)
    )
    assert actions.dtype == tf.int32
    np.testing.assert_array_equal(actions.numpy()[0, 0], [2, 9, 0])


@pytest.mark.parametrize(
    "spec, message",
    [
        (
            tensor_spec.BoundedTensorSpec([2, 2], tf.float32, 0, 1),
            r"Only 1d action.*\(2, 2\)",
        ),
        (tensor_spec.BoundedTensorSpec([], tf.float32, 0, 1), r"Only 1d action.*\(\)"),
        ({"free": tf.TensorSpec([2], tf.float32)}, r"'free'.*not a BoundedTensorSpec"),
    ],
)
def test_specs_it_cannot_sample_are_refused_by_name(spec, message):
    with pytest.raises(ValueError, match=message):
        cont.GaussianActionsSampler(spec)


def test_mean_that_does_not_match_the_spec_is_refused():
    sampler = cont.GaussianActionsSampler({"arm": ARM, "grip": GRIP})
    with pytest.raises(ValueError, match="mean must match the action_spec"):
        sampler.sample_batch_and_clip(3, rows([0.0, 0.0], 1), rows([1.0, 1.0], 1))


def test_rejection_keeps_only_accepted_samples():
    def positive_first_dim(actions, state):
        return actions[..., 0] > 0.0

    sampler = cont.GaussianActionsSampler(ARM, sample_rejecters=positive_first_dim)
    actions = sampler.sample_batch_and_clip(
        20, rows([0.0, 0.0], 4), rows([1.0, 1.0], 4)
    )
    assert actions.shape == (4, 20, 2)
    assert np.all(actions.numpy()[..., 0] > 0.0)


def test_rejection_keeps_the_first_accepted_in_draw_order_and_fills_the_rest():
    rounds = []

    def stamp_round(actions, state):  # every draw of round r becomes [r, r]
        rounds.append(len(rounds))
        return tf.zeros_like(actions) + 0.1 * rounds[-1]

    def first_of_round_in_row_0(actions, state):  # one accepted sample per round
        accept = np.zeros(actions.shape[:2], bool)
        accept[0, 0] = True
        return tf.constant(accept)

    spec = tensor_spec.BoundedTensorSpec(
        [2], tf.float32, 0.05, 1.0
    )  # 0 is out of bounds
    sampler = cont.GaussianActionsSampler(
        spec,
        sample_clippers=[stamp_round],
        sample_rejecters=first_of_round_in_row_0,
        max_rejection_iterations=3,
    )
    actions = sampler.sample_batch_and_clip(4, rows([0.5, 0.5], 2), rows([1.0, 1.0], 2))
    assert len(rounds) == 3
    # Row 0: rounds 0, 1, 2 (round 0's 0.0 clipped to 0.05), then the filler (zero
    # clipped to the spec); row 1 accepted nothing: filler only.
    np.testing.assert_allclose(actions.numpy()[0, :, 0], [0.05, 0.1, 0.2, 0.05])
    np.testing.assert_allclose(actions.numpy()[1], np.full((4, 2), 0.05))


def test_rejecter_must_be_one_callable_with_at_least_one_round():
    with pytest.raises(TypeError, match="one callable"):
        cont.GaussianActionsSampler(ARM, sample_rejecters=[lambda a, s: a])
    with pytest.raises(ValueError, match="max_rejection_iterations .* >= 1, got 0"):
        cont.GaussianActionsSampler(ARM, max_rejection_iterations=0)


def test_rejection_stops_drawing_once_every_row_is_full():
    calls = []

    def accept_all(actions, state):
        calls.append(1)
        return tf.ones(tf.shape(actions)[:2], tf.bool)

    sampler = cont.GaussianActionsSampler(
        ARM, sample_rejecters=accept_all, max_rejection_iterations=10
    )
    actions = sampler.sample_batch_and_clip(5, rows([0.0, 0.0], 3), rows([1.0, 1.0], 3))
    assert actions.shape == (3, 5, 2)
    assert len(calls) == 1  # one round: nothing rejected, no second draw
