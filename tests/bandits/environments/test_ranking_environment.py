"""Ranking environments: observation layout, click models, positional bias."""

import enum
import logging
from typing import Any

import numpy as np
import pytest

from policylib.bandits.environments import ranking_environment as re_env
from policylib.specs import array_spec


def _cycle(rows):
    """A sampling function returning `rows` in turn, forever."""
    rows = [np.asarray(r) for r in rows]
    state = {"i": 0}

    def draw():
        row = rows[state["i"] % len(rows)]
        state["i"] += 1
        return row

    return draw


def _fixed_items_env(items, global_vec, num_slots, **kwargs):
    """A batch-1 environment showing `items` (in order) every step.

    The construction call draws one item and one global vector first, so the
    item sampler starts one item late; the list is rotated to compensate.
    """
    items = [np.asarray(i, np.float32) for i in items]
    rotated = items[-1:] + items[:-1]
    dim = len(global_vec)
    kwargs.setdefault("scores_weight_matrix", np.eye(len(items[0]), dim))
    return re_env.RankingPyEnvironment(
        lambda: np.asarray(global_vec, np.float32),
        _cycle(rotated),
        num_items=len(items),
        num_slots=num_slots,
        **kwargs,
    )


def test_observation_and_action_specs_and_shapes():
    env = re_env.RankingPyEnvironment(
        lambda: np.random.randint(-3, 4, [4]),
        lambda: np.random.uniform(-1, 1, [3]).astype(np.float32),
        num_items=6,
        num_slots=2,
        scores_weight_matrix=np.ones([3, 4]),
        batch_size=5,
    )
    assert env.batched and env.batch_size == 5
    obs_spec = env.observation_spec()
    assert obs_spec[re_env.GLOBAL_KEY] == array_spec.ArraySpec((4,), np.int64)
    assert obs_spec[re_env.PER_ARM_KEY] == array_spec.ArraySpec((6, 3), np.float32)
    action_spec = env.action_spec()
    assert action_spec.shape == (2,) and action_spec.dtype == np.int32
    assert (action_spec.minimum, action_spec.maximum) == (0, 5)
    reward_spec = env.reward_spec()
    assert reward_spec["chosen_index"].maximum == 2
    assert reward_spec["chosen_value"].dtype == np.float32

    time_step = env.reset()
    assert array_spec.check_arrays_nest(
        time_step.observation, array_spec.add_outer_dims_nest(obs_spec, (5,))
    )
    reward = env.step(np.tile(np.array([[1, 4]], np.int32), (5, 1))).reward
    assert reward["chosen_index"].dtype == np.int32
    assert reward["chosen_index"].shape == (5,)
    assert reward["chosen_value"].shape == (5,)


@pytest.mark.parametrize(
    ("real_cascade", "action", "index"),
    [
        (False, [0, 1, 2], 3),  # scores 0, 1, 2: none reaches 2.5, no click.
        (False, [3, 0, 4], 2),  # scores 3, 0, 4: the best slot is clicked.
        (True, [3, 0, 4], 0),  # the first slot reaching 2.5 is clicked.
        (True, [1, 0, 4], 2),
    ],
)
def test_distance_based_clicks(real_cascade, action, index):
    # Item i scores i (item [i, 0] against global [1, 0] with identity weights).
    items = [[i, 0] for i in range(5)]
    for feedback in re_env.FeedbackModel.CASCADING, re_env.FeedbackModel.SCORE_VECTOR:
        env = _fixed_items_env(
            items,
            [1, 0],
            num_slots=3,
            feedback_model=feedback,
            click_model=re_env.ClickModel.DISTANCE_BASED,
            real_cascade=real_cascade,
            distance_threshold=2.5,
        )
        env.reset()
        np.testing.assert_array_equal(
            env.current_time_step().observation["per_arm"][0], items
        )
        reward = env.step(np.array([action], np.int32)).reward
        if feedback == re_env.FeedbackModel.CASCADING:
            assert reward["chosen_index"].tolist() == [index]
            assert reward["chosen_value"].tolist() == [float(index < 3)]
        else:
            expected = np.zeros([1, 3], np.float32)
            if index < 3:
                expected[0, index] = 1.0
            np.testing.assert_array_equal(reward, expected)


def test_weight_matrix_maps_item_dims_onto_global_dims():
    # W = [[0, 2]]: the score is 2 * item[0] * global[1]; global[0] is ignored.
    env = _fixed_items_env(
        [[1.0], [3.0]],
        [100.0, 1.0],
        num_slots=2,
        scores_weight_matrix=[[0.0, 2.0]],
        click_model=re_env.ClickModel.DISTANCE_BASED,
        distance_threshold=5.0,
    )
    env.reset()
    assert env.step(np.array([[0, 1]])).reward["chosen_index"].tolist() == [1]
    env.reset()
    assert env.step(np.array([[0, 0]])).reward["chosen_index"].tolist() == [2]


def test_ghost_actions_follow_scores():
    np.random.seed(1)
    # Global [-50, -50]: ghosts (unit vectors) score -50; item [-1, -1] scores
    # 100 and item [1, 1] scores -100, far below the ghosts.
    good, bad = [-1.0, -1.0], [1.0, 1.0]
    env = _fixed_items_env(
        [bad, good, bad, bad],
        [-50.0, -50.0],
        num_slots=3,
        batch_size=1,
        click_model=re_env.ClickModel.GHOST_ACTIONS,
    )
    for _ in range(30):
        env.reset()
        assert env.step(np.array([[0, 1, 2]])).reward["chosen_index"].tolist() == [1]
        env.reset()
        reward = env.step(np.array([[0, 2, 3]])).reward
        assert reward["chosen_index"].tolist() == [3]
        assert reward["chosen_value"].tolist() == [0.0]


def test_ghost_actions_no_click_rate_with_neutral_scores():
    np.random.seed(2)
    # All scores are 0: the 2 slots and 2 ghosts are equally likely by symmetry.
    batch = 4000
    env = re_env.RankingPyEnvironment(
        lambda: np.zeros([3], np.float32),
        lambda: np.ones([2], np.float32),
        num_items=3,
        num_slots=2,
        scores_weight_matrix=np.ones([2, 3]),
        feedback_model=re_env.FeedbackModel.SCORE_VECTOR,
        batch_size=batch,
    )
    env.reset()
    reward = env.step(np.tile([[0, 2]], (batch, 1)).astype(np.int32)).reward
    assert reward.shape == (batch, 2)
    assert set(np.unique(reward.sum(axis=1))) <= {0.0, 1.0}
    np.testing.assert_allclose(reward.mean(axis=0), [0.25, 0.25], atol=0.03)


def test_cascading_to_scorevector():
    env = re_env.RankingPyEnvironment(
        lambda: np.zeros([2]),
        lambda: np.zeros([2]),
        num_items=4,
        num_slots=3,
        scores_weight_matrix=np.eye(2),
        feedback_model=re_env.FeedbackModel.SCORE_VECTOR,
        batch_size=3,
    )
    scores = env._cascading_to_scorevector(
        np.array([2, 3, 0]), np.array([5.0, 7.0, 1.0])
    )
    np.testing.assert_array_equal(scores, [[0, 0, 5], [0, 0, 0], [1, 0, 0]])


def test_models_accept_ints_and_foreign_enums():
    class AgentFeedback(enum.Enum):
        CASCADING = 1
        SCORE_VECTOR = 2

    env = re_env.RankingPyEnvironment(
        lambda: np.zeros([2]),
        lambda: np.zeros([2]),
        num_items=2,
        num_slots=2,
        scores_weight_matrix=np.eye(2),
        feedback_model=AgentFeedback.SCORE_VECTOR,
        click_model=2,
        distance_threshold=0.0,
    )
    assert env.feedback_model is re_env.FeedbackModel.SCORE_VECTOR
    assert env.click_model is re_env.ClickModel.DISTANCE_BASED
    assert env.reward_spec().shape == (2,)


def test_explicit_positional_bias_clicks():
    np.random.seed(3)
    batch = 3000
    env = re_env.ExplicitPositionalBiasRankingEnvironment(
        lambda: np.zeros([2], np.float32),
        lambda: np.random.uniform(size=[3]).astype(np.float32),
        relevance_fn=lambda g, item: 1.0,
        num_items=5,
        observation_probs=[1.0, 0.5, 0.0],
        batch_size=batch,
    )
    assert env.action_spec().shape == (3,)
    assert env.reward_spec() == array_spec.ArraySpec((3,), np.float32, "score_vector")
    time_step = env.reset()
    assert time_step.observation["per_arm"].shape == (batch, 5, 3)
    reward = env.step(np.tile([[4, 0, 2]], (batch, 1))).reward
    assert reward.dtype == np.float32 and reward.shape == (batch, 3)
    assert np.all(reward[:, 0] == 1.0)  # always examined and relevant
    assert np.all(reward[:, 2] == 0.0)  # never examined
    assert abs(reward[:, 1].mean() - 0.5) < 0.04


def test_explicit_bias_relevance_uses_the_slotted_item():
    # Relevance 1 for item feature 1, else 0; every slot is examined.
    items = [np.array([0.0]), np.array([1.0]), np.array([0.0])]
    env = re_env.ExplicitPositionalBiasRankingEnvironment(
        lambda: np.zeros([1]),
        _cycle(items[-1:] + items[:-1]),
        relevance_fn=lambda g, item: float(item[0]),
        num_items=3,
        observation_probs=[1.0, 1.0],
    )
    env.reset()
    np.testing.assert_array_equal(env.step(np.array([[1, 2]])).reward, [[1.0, 0.0]])
    env.reset()
    np.testing.assert_array_equal(env.step(np.array([[0, 1]])).reward, [[0.0, 1.0]])


def test_explicit_bias_clips_relevance_and_warns(caplog):
    env = re_env.ExplicitPositionalBiasRankingEnvironment(
        lambda: np.zeros([1]),
        lambda: np.zeros([1]),
        relevance_fn=lambda g, item: 3.0,
        num_items=2,
        observation_probs=[1.0],
        batch_size=2,
    )
    env.reset()
    with caplog.at_level(logging.WARNING):
        reward = env.step(np.array([[0], [1]])).reward
    np.testing.assert_array_equal(reward, [[1.0], [1.0]])
    assert "outside [0, 1]" in caplog.text


def test_runs_in_a_tf_py_environment():
    from policylib.environments import tf_py_environment

    env = tf_py_environment.TFPyEnvironment(
        re_env.RankingPyEnvironment(
            lambda: np.random.uniform(size=[3]).astype(np.float32),
            lambda: np.random.uniform(size=[2]).astype(np.float32),
            num_items=4,
            num_slots=2,
            scores_weight_matrix=np.ones([2, 3]),
            batch_size=2,
        )
    )
    assert env.batch_size == 2
    env.reset()
    reward = env.step(np.array([[0, 1], [3, 2]], np.int32)).reward
    assert reward["chosen_index"].shape == (2,)
    assert reward["chosen_value"].shape == (2,)


def _env(**kwargs):
    args: dict[str, Any] = dict(
        global_sampling_fn=lambda: np.zeros([3]),
        item_sampling_fn=lambda: np.zeros([2]),
        num_items=4,
        num_slots=2,
        scores_weight_matrix=np.ones([2, 3]),
        batch_size=2,
    )
    args.update(kwargs)
    return re_env.RankingPyEnvironment(**args)


@pytest.mark.parametrize(
    ("action", "match"),
    [
        (
            np.zeros([2, 3], np.int32),
            r"expected an action of shape \(2, 2\).*got \(2, 3\)",
        ),
        (
            np.zeros([1, 2], np.int32),
            r"expected an action of shape \(2, 2\).*got \(1, 2\)",
        ),
        (np.zeros([2], np.int32), r"got \(2,\)"),
        (np.array([[0, 4], [1, 2]], np.int32), r"ints in \[0, 3\]"),
        (np.array([[0, -1], [1, 2]], np.int32), r"ints in \[0, 3\]"),
        (np.zeros([2, 2], np.float32), r"ints in \[0, 3\]"),
    ],
)
def test_bad_actions(action, match):
    env = _env()
    env.reset()
    with pytest.raises(ValueError, match=match):
        env.step(action)


def test_sampling_fn_that_changes_shape():
    widths = iter([2, 2, 3] + [2] * 20)
    env = _env(item_sampling_fn=lambda: np.zeros([next(widths)]))
    with pytest.raises(
        ValueError, match=r"item_sampling_fn.*expected \(2,\), got \(3,\)"
    ):
        env.reset()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            dict(scores_weight_matrix=np.ones([3, 2])),
            ValueError,
            r"\[item_dim, global_dim\]: expected shape \(2, 3\), got \(3, 2\)",
        ),
        (
            dict(click_model=re_env.ClickModel.DISTANCE_BASED),
            ValueError,
            "distance_threshold",
        ),
        (dict(click_model=7), ValueError, r"click_model must be one of ClickModel"),
        (dict(feedback_model="cascade"), ValueError, r"feedback_model must be one of"),
        (
            dict(click_model=re_env.ClickModel.UNKNOWN),
            NotImplementedError,
            "click_model",
        ),
        (dict(num_slots=5), ValueError, r"num_slots must be <= num_items"),
        (dict(num_items=0), ValueError, r"num_items must be >= 1; got 0"),
        (dict(batch_size=0), ValueError, r"batch_size must be >= 1"),
        (
            dict(item_sampling_fn=lambda: np.zeros([2, 2])),
            ValueError,
            r"expected 1-D samples, got shapes \(3,\) and \(2, 2\)",
        ),
    ],
)
def test_bad_construction(kwargs, error, match):
    with pytest.raises(error, match=match):
        _env(**kwargs)


@pytest.mark.parametrize(
    ("probs", "match"),
    [
        ([0.5, 1.5], r"need to be in \[0, 1\]"),
        ([-0.1], r"need to be in \[0, 1\]"),
        ([], "non-empty"),
        ([0.5] * 5, r"num_slots must be <= num_items"),
    ],
)
def test_explicit_bias_bad_observation_probs(probs, match):
    with pytest.raises(ValueError, match=match):
        re_env.ExplicitPositionalBiasRankingEnvironment(
            lambda: np.zeros([1]),
            lambda: np.zeros([1]),
            relevance_fn=lambda g, item: 1.0,
            num_items=4,
            observation_probs=probs,
        )
