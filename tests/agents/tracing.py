"""Shared check: `common.function(agent.train)` traces once."""

from __future__ import annotations

from typing import Any

from policylib.utils import common


def assert_train_traces_once(agent: Any, experiences: list) -> None:
    """Trains on each experience under `common.function(agent.train)` and
    checks no call after the first retraced `_train`.

    The first call may trace twice: once more after creating the optimizer's
    variables, as every tf.function does.
    """
    traces = []
    original = agent._train

    def counting(*args: Any, **kwargs: Any) -> Any:
        traces.append(1)
        return original(*args, **kwargs)

    agent._train_fn = counting
    train = common.function(agent.train)
    train(experiences[0])
    first = len(traces)
    for experience in experiences[1:]:
        train(experience)
    assert 1 <= first <= 2 and len(traces) == first, (first, len(traces))
