"""`VectorEnvWrapper`: a vectorised environment that resets itself, as a batched `PyEnvironment`.

EnvPool and Gymnasium's vector environments (`SyncVectorEnv`, `AsyncVectorEnv`)
step N environments in one call and reset each one by themselves. In
Gymnasium's next-step auto-reset mode (its default, and EnvPool's) the call
after an environment's last step resets that environment, ignores its action
and returns its first observation with reward 0: TF-Agents' convention for the
step after a LAST one. This adaptor maps that call to FIRST and an episode's
end to LAST (terminated: discount 0; truncated, a time limit: the discount
kept), so drivers, metrics, `evaluate` and `TFPyEnvironment` see ordinary
batched time steps, each environment going FIRST, MID..., LAST, FIRST again.

    env = vector_env_wrapper.load("CartPole-v1", num_envs=8, seed=0)  # SyncVectorEnv
    env = VectorEnvWrapper(gymnasium.make_vec("CartPole-v1", 8, "async"))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from policylib.base import nest_utils
from policylib.base.lazy_tf import nest
from policylib.environments import py_environment
from policylib.environments.gym_wrapper import gymnasium, spec_from_gym_space
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["Remake", "VectorEnvWrapper", "load", "per_env_seeds"]

# Makes the vectorised environment anew with one seed per environment: for
# environments whose seeds are fixed when made (EnvPool's).
Remake = Callable[[list[int]], Any]

_MAX_SEED = 2**31  # EnvPool's seeds are int32; Gymnasium's are any non-negative int


_NEXT_STEP = "NextStep"  # Gymnasium's `AutoresetMode.NEXT_STEP.value`


def _autoreset_mode(vector_env: Any) -> str:
    """The vector environment's auto-reset mode, as Gymnasium's enum value.

    Gymnasium 1.0 has no `AutoresetMode`: its vector environments reset at
    the next step only.
    """
    modes = getattr(gymnasium.vector, "AutoresetMode", None)
    metadata = getattr(vector_env, "metadata", None) or {}
    mode = metadata.get("autoreset_mode")
    if modes is None or mode is None:
        return _NEXT_STEP
    return str(modes(mode).value)


def _space_specs(
    vector_env: Any,
    dtype_map: dict[type, npt.DTypeLike] | None,
    simplify_box_bounds: bool,
) -> tuple[types.NestedArraySpec, types.NestedArraySpec]:
    """(observation spec, action spec) of one environment of the batch."""
    observation_space = vector_env.single_observation_space
    action_space = vector_env.single_action_space
    return (
        spec_from_gym_space(
            observation_space, dtype_map, simplify_box_bounds, "observation"
        ),
        spec_from_gym_space(action_space, dtype_map, simplify_box_bounds, "action"),
    )


def per_env_seeds(
    seed: types.Seed | Sequence[types.Seed | None], num_envs: int
) -> list:
    """One seed (or None) per environment: `seed + i` for an int, else the list.

    Raises:
      ValueError: not one seed per environment, or a seed outside [0, 2**31).
    """
    if isinstance(seed, (int, np.integer)):
        seeds: list = [int(seed) + i for i in range(num_envs)]
    else:
        seeds = [None if s is None else int(s) for s in seed]  # type: ignore[union-attr, arg-type]
        if len(seeds) != num_envs:
            raise ValueError(
                f"Expected one seed per environment ({num_envs}); got {len(seeds)}."
            )
    for s in seeds:
        if s is not None and not 0 <= s < _MAX_SEED:
            raise ValueError(
                f"Seeds must be in [0, 2**31) (EnvPool's are int32); got {s} "
                f"among {seeds}."
            )
    return seeds


class VectorEnvWrapper(py_environment.PyEnvironment):
    """Runs a vectorised environment with next-step auto-reset as a batched `PyEnvironment`.

    Each environment's time steps go FIRST, MID..., LAST, then FIRST again on
    the next `step` (reward 0, discount 1, its action ignored: the vector
    environment resets it). `reset` resets them all.

    Seeds take effect at the next `reset()` of the whole batch; the
    auto-resets after it continue each environment's random stream (neither
    EnvPool nor Gymnasium takes a seed at an auto-reset). `seeds_each_episode`
    says so, and `metric_utils.compute` then seeds each environment's first
    episode only.

    Args:
      vector_env: a Gymnasium `VectorEnv` (`SyncVectorEnv`, `AsyncVectorEnv`)
        or an EnvPool made with `envpool.make_gymnasium`; anything with
        `num_envs`, `single_observation_space`, `single_action_space`,
        Gymnasium's vector `reset` and `step`, and next-step auto-reset.
      discount: the discount of non-terminal steps (and of truncated LAST steps).
      spec_dtype_map: space class -> spec dtype (see `spec_from_gym_space`).
      simplify_box_bounds: see `spec_from_gym_space`.
      remake: for environments whose seeds are fixed when made (EnvPool):
        makes the vector environment anew with one seed per environment;
        `reset()` after `seed()` calls it. None: seeds go to `reset(seed=...)`.
      seeds: the seeds `vector_env` was made with (with `remake`), so that
        seeding it with the same ones before its first reset makes nothing anew.
      name: what error messages call it (default: the vector env's class).

    Raises:
      ValueError: the vector environment resets in the same step, or not at
        all (Gymnasium's `autoreset_mode` other than next-step), or a space has
        no spec equivalent.
    """

    def __init__(
        self,
        vector_env: Any,
        discount: types.Float = 1.0,
        spec_dtype_map: dict[type, npt.DTypeLike] | None = None,
        simplify_box_bounds: bool = True,
        remake: Remake | None = None,
        seeds: Sequence[int] | None = None,
        name: str | None = None,
    ):
        super().__init__(handle_auto_reset=False)  # the vector env resets itself
        self._name = name or type(vector_env).__name__
        mode = _autoreset_mode(vector_env)
        if mode != _NEXT_STEP:
            raise ValueError(
                f"{self._name} resets in {mode!r} auto-reset mode; VectorEnvWrapper "
                "needs 'NextStep' (Gymnasium's default: make the vector environment "
                "with vector_kwargs={'autoreset_mode': AutoresetMode.NEXT_STEP}), "
                "where the step after an episode's last one resets that environment."
            )
        self._vector_env = vector_env
        self._num_envs = int(vector_env.num_envs)
        self._observation_spec, self._action_spec = _space_specs(
            vector_env, spec_dtype_map, simplify_box_bounds
        )
        self._observation_leaves = nest.flatten(self._observation_spec)
        self._action_shapes = [tuple(s.shape) for s in nest.flatten(self._action_spec)]
        self._discount = np.float32(discount)
        self._remake = remake
        self._made_seeds = list(seeds) if seeds is not None else None
        self._pending_seeds: list[int | None] | None = None
        self._used = False  # reset or stepped since made
        self._ended = np.zeros(self._num_envs, dtype=bool)  # last step was LAST
        # Copied each step (cheaper than building them).
        self._mid = np.full(self._num_envs, ts.StepType.MID, dtype=np.int32)
        self._discounts = np.full(self._num_envs, self._discount, dtype=np.float32)
        self._info: Any = None

    @property
    def vector_env(self) -> Any:
        """The wrapped vector environment (anew after a seeded `reset` with `remake`)."""
        return self._vector_env

    @property
    def batched(self) -> bool:
        return True

    @property
    def seeds_each_episode(self) -> bool:
        return False  # seeds reach the vector environment at a full reset only

    @property
    def batch_size(self) -> int:
        return self._num_envs

    def observation_spec(self) -> types.NestedArraySpec:
        return self._observation_spec

    def action_spec(self) -> types.NestedArraySpec:
        return self._action_spec

    def get_info(self) -> Any:
        """The info dict of the last `reset` or `step` (batched entries)."""
        return self._info

    def seed(  # an int, or one seed per environment, as batches take
        self, seed: types.Seed | Sequence[types.Seed | None]
    ) -> list[int | None]:
        """Seeds the next `reset()`: environment i with `seed + i`, or `seed[i]`.

        A None entry leaves that environment's seed as it is (with `remake`,
        the one it was made with). Auto-resets continue each environment's
        random stream.

        Raises:
          ValueError: not one seed per environment, or one outside [0, 2**31).
        """
        self._pending_seeds = per_env_seeds(seed, self._num_envs)
        return list(self._pending_seeds)

    def _reset(self) -> ts.TimeStep:
        seeds, self._pending_seeds = self._pending_seeds, None
        if seeds is not None and self._remake is not None:
            self._remake_with(seeds)
            seeds = None
        observation, self._info = self._vector_env.reset(seed=seeds)
        self._used = True
        self._ended[:] = False
        n = self._num_envs
        return ts.TimeStep(
            np.full(n, ts.StepType.FIRST, dtype=np.int32),
            np.zeros(n, dtype=np.float32),
            np.ones(n, dtype=np.float32),
            self._observation(observation),
        )

    def _remake_with(self, seeds: list[int | None]) -> None:
        """Makes the vector environment anew with `seeds` (None: the made one)."""
        assert self._remake is not None
        made = self._made_seeds
        if any(s is None for s in seeds) and made is None:
            raise ValueError(
                f"{self._name}: seed every environment (no seeds were given when "
                f"it was made); got {seeds}."
            )
        merged = [
            int(s) if s is not None else int(made[i])  # type: ignore[index]
            for i, s in enumerate(seeds)
        ]
        if merged == made and not self._used:
            return  # just made with these seeds
        fresh = self._remake(merged)
        self._vector_env.close()
        self._vector_env, self._made_seeds, self._used = fresh, merged, False

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        action = self._batched_action(action)
        observation, reward, terminated, truncated, self._info = self._vector_env.step(
            action
        )
        n = self._num_envs
        terminated = np.asarray(terminated, dtype=bool).reshape(n)
        last = terminated | np.asarray(truncated, dtype=bool).reshape(n)
        step_type = self._mid.copy()
        discount = self._discounts.copy()
        reward = np.array(reward, dtype=np.float32).reshape(n)
        if last.any():
            step_type[last] = ts.StepType.LAST
            discount[terminated] = 0.0
        first = self._ended
        if first.any():  # the vector env reset these: reward 0, discount 1
            step_type[first] = ts.StepType.FIRST
            discount[first] = 1.0
            reward[first] = 0.0
            last &= ~first
        self._ended = last
        return ts.TimeStep(step_type, reward, discount, self._observation(observation))

    def _observation(self, observation: Any) -> types.NestedArray:
        """`observation` cast to the observation spec's dtypes (no copy when equal)."""
        if isinstance(self._observation_spec, array_spec.ArraySpec):
            return np.asarray(observation, dtype=self._observation_spec.dtype)
        values = nest_utils.flatten_up_to(self._observation_spec, observation)
        return nest.pack_sequence_as(
            self._observation_spec,
            [
                np.asarray(v, dtype=s.dtype)
                for v, s in zip(values, self._observation_leaves)
            ],
        )

    def _batched_action(self, action: types.NestedArray) -> types.NestedArray:
        """`action` checked for one entry per environment.

        A batch of one also takes an action without the batch dim, as
        `BatchedPyEnvironment` does.

        Raises:
          ValueError: a leaf whose leading dim is not the batch size.
        """
        single = len(self._action_shapes) == 1  # a list there is one value
        leaves = [action] if single else nest.flatten(action)
        if len(leaves) != len(self._action_shapes):
            raise ValueError(
                f"{self._name}.step: the action has {len(leaves)} leaves; the "
                f"action spec has {len(self._action_shapes)}: {self._action_spec}."
            )
        fixed = []
        for leaf, shape in zip(leaves, self._action_shapes):
            leaf = np.asarray(leaf)
            if self._num_envs == 1 and leaf.ndim == len(shape):
                leaf = leaf[np.newaxis]
            if leaf.shape[:1] != (self._num_envs,) or leaf.ndim != len(shape) + 1:
                raise ValueError(
                    f"{self._name}.step: expected actions of shape "
                    f"[batch_size={self._num_envs}] + {list(shape)}; got an action "
                    f"of shape {list(leaf.shape)}."
                )
            fixed.append(leaf)
        if single:
            return fixed[0]
        return nest.pack_sequence_as(action, fixed)

    def close(self) -> None:
        self._vector_env.close()


def load(
    env_id: str,
    num_envs: int,
    seed: int | None = None,
    vectorization_mode: str = "sync",
    discount: types.Float = 1.0,
    spec_dtype_map: dict[type, npt.DTypeLike] | None = None,
    **make_kwargs: Any,
) -> VectorEnvWrapper:
    """Gymnasium's vector environment of `env_id` as a batched `PyEnvironment`.

    Args:
      env_id: a registered Gymnasium id, e.g. 'CartPole-v1'.
      num_envs: environments in the batch.
      seed: seeds the first reset (environment i with `seed + i`).
      vectorization_mode: 'sync' (`SyncVectorEnv`, in this process) or 'async'
        (`AsyncVectorEnv`, one process each).
      discount: the discount of non-terminal steps.
      spec_dtype_map: space class -> spec dtype.
      **make_kwargs: passed to `gymnasium.make_vec` (e.g. `wrappers`,
        `vector_kwargs`) and on to `gymnasium.make`.
    """
    vector_env = gymnasium.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode=vectorization_mode,
        **make_kwargs,
    )
    env = VectorEnvWrapper(
        vector_env, discount=discount, spec_dtype_map=spec_dtype_map, name=env_id
    )
    if seed is not None:
        env.seed(seed)
    return env
