"""`BatchedPyPolicy`: several Python policies acting as one batched policy.

Entry `i` of the batched time step (and state) goes to policy `i`; the results
are stacked back into a batch. With `multithreading=True` the policies run in
a thread pool, which pays off when they release the GIL (e.g. TF or NumPy work).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent import futures
from typing import Any

import gin
import tensorflow as tf

from policylib.base import nest_utils
from policylib.policies import policy_specs, py_policy
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = ["BatchedPyPolicy"]


@gin.configurable
class BatchedPyPolicy(py_policy.PyPolicy):
    """Batches identical-spec Python policies.

    Args:
      policies: the policies; all must share time step, action, state and info
        specs. Batch entry `i` is handled by `policies[i]`.
      multithreading: run the policies concurrently in a thread pool.

    Call `close()` (or use it as a context manager) to stop the threads early;
    they are also stopped when the policy is garbage collected.
    """

    def __init__(
        self, policies: Sequence[py_policy.PyPolicy], multithreading: bool = True
    ):
        policies = list(policies)
        if not policies:
            raise ValueError("BatchedPyPolicy needs at least one policy.")
        for i, policy in enumerate(policies):
            if not isinstance(policy, py_policy.PyPolicy):
                raise TypeError(
                    f"BatchedPyPolicy batches PyPolicies; policies[{i}] is "
                    f"{type(policy).__name__}: {policy!r:.100}."
                )
        first = policies[0]
        for i, other in enumerate(policies[1:], start=1):
            for attr in (
                "time_step_spec",
                "action_spec",
                "policy_state_spec",
                "info_spec",
            ):
                if getattr(other, attr) != getattr(first, attr):
                    raise ValueError(
                        f"All policies must have the same {attr}: policies[0] has "
                        f"{getattr(first, attr)!r} but policies[{i}] has {getattr(other, attr)!r}."
                    )
        self._policies = policies
        self._num_policies = len(policies)
        self._pool = (
            futures.ThreadPoolExecutor(max_workers=self._num_policies)
            if multithreading and self._num_policies > 1
            else None
        )
        super().__init__(**policy_specs.wrapped_specs(first))

    @property
    def batch_size(self) -> int:
        return self._num_policies

    @property
    def batched(self) -> bool:
        return True

    def close(self) -> None:
        """Stops the worker threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> BatchedPyPolicy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)

    def _map(self, fn: Any, *args: Sequence[Any]) -> list:
        if self._pool is None:
            return [fn(*a) for a in zip(*args)]
        return list(self._pool.map(fn, *args))

    def _get_initial_state(self, batch_size: int | None) -> types.NestedArray:
        if batch_size is not None and batch_size != self._num_policies:
            raise ValueError(
                f"batch_size {batch_size} differs from the number of policies {self._num_policies}."
            )
        states = [p.get_initial_state() for p in self._policies]
        return nest_utils.stack_nested_arrays(states)

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedArray = (),
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        del seed  # Each wrapped policy uses its own randomness.
        if self._num_policies == 1:
            step = nest_utils.unbatch_nested_array(time_step)
            state = (
                nest_utils.unbatch_nested_array(policy_state)
                if common.safe_has_state(policy_state)
                else policy_state
            )
            result = self._policies[0].action(step, state)
            return nest_utils.batch_nested_array(result)

        steps = nest_utils.unstack_nested_arrays(time_step)
        if len(steps) != self._num_policies:
            raise ValueError(
                f"The time step has a batch of {len(steps)} entries, but there are "
                f"{self._num_policies} policies."
            )
        if common.safe_has_state(policy_state) and tf.nest.flatten(policy_state):
            states = nest_utils.unstack_nested_arrays(policy_state)
        else:
            states = [policy_state] * self._num_policies
        results = self._map(
            lambda p, s, st: p.action(s, st), self._policies, steps, states
        )
        return nest_utils.stack_nested_arrays(results)
