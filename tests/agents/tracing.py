"""Shared check: `common.function(agent.train)` traces once."""

from __future__ import annotations

from typing import Any

from policylib.utils import common


def assert_train_traces_once(agent: Any, experiences: list) -> None:
    """Trains on each experience under `common.function(agent.train)` and
    checks `_train` was traced once: no call after the first retraced it, and
    the first did not trace a second time (a `tf.function` whose first trace
    creates variables, e.g. a Keras 3 optimizer's slots, is traced again).
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
    assert first == 1 and len(traces) == first, (first, len(traces))
