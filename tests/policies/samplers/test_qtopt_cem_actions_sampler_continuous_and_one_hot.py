import numpy as np
import pytest
import tensorflow as tf

from policylib.policies.samplers import (
    qtopt_cem_actions_sampler_continuous_and_one_hot as one_hot,
)
from policylib.specs import tensor_spec


def box(size, low=-1.0, high=1.0):
    return tensor_spec.BoundedTensorSpec([size], tf.float32, low, high)


def choice(size):
    return tensor_spec.BoundedTensorSpec([size], tf.int32, 0, 1)


SPEC = {"c1": box(2), "c2": box(1), "c3": box(2), "pick": choice(4)}
GROUPS = [["c1", "c3"], ["pick"], ["c2"]]


def params(spec, batch, mean=0.0, var=1.0):
    return (
        {k: tf.fill([batch, s.shape[0]], mean) for k, s in spec.items()},
        {k: tf.fill([batch, s.shape[0]], var) for k, s in spec.items()},
    )


def sampler(spec=SPEC, groups=GROUPS, **kwargs):
    kwargs.setdefault("sample_clippers", [[] for _ in groups])
    return one_hot.GaussianActionsSampler(spec, sub_actions_fields=groups, **kwargs)


def test_samples_are_laid_out_group_by_group_with_their_one_hot():
    # S = 4 choices, K = 2 continuous groups: 2 plain choices, 8 samples shared by the groups.
    actions = sampler().sample_batch_and_clip(10, *params(SPEC, 3))
    actions = {k: v.numpy() for k, v in actions.items()}
    assert actions["pick"].dtype == np.int32
    assert {k: v.shape for k, v in actions.items()} == {
        "c1": (3, 10, 2),
        "c2": (3, 10, 1),
        "c3": (3, 10, 2),
        "pick": (3, 10, 4),
    }
    positions = [0] * 4 + [1, 2] + [3] * 4
    np.testing.assert_array_equal(
        actions["pick"], np.broadcast_to(np.eye(4)[positions], (3, 10, 4))
    )
    for key, members in (
        ("c1", range(0, 4)),
        ("c3", range(0, 4)),
        ("c2", range(6, 10)),
    ):
        others = [i for i in range(10) if i not in members]
        assert np.all(actions[key][:, others] == 0.0), key
        drawn = actions[key][:, list(members)]
        assert np.all(np.abs(drawn) <= 1.0) and np.all(drawn != 0.0), key


def test_the_last_continuous_group_takes_the_remainder_even_before_the_one_hot_group():
    spec = {"c1": box(1), "c2": box(1), "pick": choice(3)}
    groups = [["c1"], ["c2"], ["pick"]]
    # 6 samples: 1 plain choice, 5 for two groups: 2 and 3.
    actions = sampler(spec, groups).sample_batch_and_clip(6, *params(spec, 2))
    np.testing.assert_array_equal(np.argmax(actions["pick"][0], -1), [0, 0, 1, 1, 1, 2])
    assert actions["c1"].shape == (2, 6, 1)


def test_clippers_apply_to_their_group_only_and_the_bounds_come_last():
    calls = []

    def push_up(actions, state):
        calls.append(state)
        return {**actions, "c2": actions["c2"] + 5.0}

    actions = sampler(sample_clippers=[[], [], [push_up]]).sample_batch_and_clip(
        10, *params(SPEC, 1), state="obs"
    )
    assert calls == ["obs"]
    np.testing.assert_array_equal(actions["c2"].numpy()[0, 6:], np.ones((4, 1)))
    assert np.all(actions["c2"].numpy()[0, :6] == 0.0)


def test_fields_outside_a_group_are_zero_clipped_to_their_bounds():
    spec = {"c": box(1), "far": box(1, 2.0, 3.0), "pick": choice(3)}
    groups = [["pick"], ["c"], ["far"]]
    actions = sampler(spec, groups).sample_batch_and_clip(7, *params(spec, 1))
    far = actions["far"].numpy()[0, :, 0]
    assert np.all(far[:4] == 2.0)  # not in their group: 0 clipped to 2
    assert np.all((far[4:] >= 2.0) & (far[4:] <= 3.0))


def test_refit_uses_only_the_elites_of_each_keys_group():
    spec = {"c": box(1, -10.0, 10.0), "far": box(1, 2.0, 3.0), "pick": choice(3)}
    groups = [["pick"], ["c"], ["far"]]
    s = sampler(spec, groups)
    s.sample_batch_and_clip(
        7, *params(spec, 2)
    )  # layout: pick [0, 1), c [1, 4), far [4, 7)
    samples = {
        "c": tf.constant([[[0.0], [1.0], [3.0], [5.0], [0.0], [0.0], [0.0]]] * 2),
        "far": tf.constant([[[2.0], [2.0], [2.0], [2.0], [2.5], [3.0], [2.0]]] * 2),
        "pick": tf.zeros([2, 7, 3]),
    }
    elites = tf.constant([[0, 1, 3, 5], [0, 0, 6, 6]])
    mean, var = s.refit_distribution_to(elites, samples)
    np.testing.assert_allclose(mean["c"].numpy(), [[3.0], [0.0]])  # row 1: no c elite
    np.testing.assert_allclose(var["c"].numpy(), [[4.0], [0.0]])
    np.testing.assert_allclose(mean["far"].numpy(), [[3.0], [2.0]])
    np.testing.assert_allclose(var["far"].numpy(), [[0.0], [0.0]])
    np.testing.assert_array_equal(mean["pick"].numpy(), np.zeros([2, 3]))


def test_refit_reads_the_layout_from_the_samples():
    spec = {"c": box(1), "pick": choice(2)}
    s = sampler(spec, [["pick"], ["c"]])
    samples = {
        "c": tf.constant([[[9.0], [1.0], [3.0]]]),
        "pick": tf.zeros([1, 3, 2], tf.int32),
    }
    mean, _ = s.refit_distribution_to(tf.constant([[0, 1, 2]]), samples)
    np.testing.assert_allclose(mean["c"].numpy(), [[2.0]])


def test_rejecters_are_per_group_and_short_rows_get_the_groups_filler():
    def nothing(actions, state):
        return tf.zeros(tf.shape(actions["c1"])[:2], tf.bool)

    actions = sampler(
        sample_rejecters=[None, None, nothing], max_rejection_iterations=2
    )
    out = actions.sample_batch_and_clip(10, *params(SPEC, 2))
    np.testing.assert_array_equal(
        out["pick"].numpy()[:, 6:], np.broadcast_to(np.eye(4)[3], (2, 4, 4))
    )
    assert np.all(out["c2"].numpy()[:, 6:] == 0.0)
    assert np.all(out["c1"].numpy()[:, :4] != 0.0)  # no rejecter on c1's group


def test_too_few_samples_for_the_choices_is_refused():
    with pytest.raises(ValueError, match=r"num_samples=3 is too few.*\(4\)"):
        sampler().sample_batch_and_clip(3, *params(SPEC, 1))


@pytest.mark.parametrize(
    "spec, groups, message",
    [
        ({"c": box(2)}, [["c"]], r"Only continuous action \+ 1 one_hot.*0 integer"),
        (
            {"a": choice(2), "b": choice(2), "c": box(1)},
            [["a"], ["b"], ["c"]],
            r"2 integer leaves",
        ),
        ((box(1), choice(2)), [[0], [1]], "flat dict"),
        (
            {"c": box(1), "pick": choice(2)},
            [["c", "pick"]],
            "must form a sub-action of its own",
        ),
        ({"c": box(1), "pick": choice(2)}, [["pick"], ["c"], ["c"]], "exactly once"),
        ({"c": box(1), "pick": choice(2)}, [["pick"]], "exactly once"),
        ({"c": box(1), "pick": choice(2)}, [["pick"], ["c"], []], "non-empty groups"),
        (
            {"c": box(1), "d": box(1), "e": box(1), "pick": choice(2)},
            [["pick"], ["c"], ["d"], ["e"]],
            "2 choices, fewer than the 3",
        ),
        (
            {"c": box(1), "pick": tensor_spec.BoundedTensorSpec([2], tf.int32, 1, 3)},
            [["pick"], ["c"]],
            r"must allow 0 and 1.*\[1, 3\]",
        ),
        (
            {
                "c": tensor_spec.BoundedTensorSpec([1, 2], tf.float32, 0, 1),
                "pick": choice(2),
            },
            [["pick"], ["c"]],
            "Only 1d action",
        ),
    ],
)
def test_specs_and_groups_it_cannot_sample_are_refused(spec, groups, message):
    with pytest.raises(ValueError, match=message):
        sampler(spec, groups)


def test_clippers_and_rejecters_need_one_entry_per_group():
    with pytest.raises(ValueError, match="needs sample_clippers"):
        one_hot.GaussianActionsSampler(SPEC, sub_actions_fields=GROUPS)
    with pytest.raises(ValueError, match="needs sub_actions_fields"):
        one_hot.GaussianActionsSampler(SPEC, sample_clippers=[[], [], []])
    with pytest.raises(ValueError, match="got 2 lists for 3 groups"):
        sampler(sample_clippers=[[], []])
    with pytest.raises(ValueError, match="got 1 for 3 groups"):
        sampler(sample_rejecters=[None])
