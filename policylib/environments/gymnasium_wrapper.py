"""TF-Agents' newer `gymnasium_wrapper` module names, over policylib's `GymWrapper`.

policylib's `gym_wrapper.GymWrapper` already runs Gymnasium environments.
TF-Agents' main branch (after 0.19) added this module with `GymnasiumWrapper`
(which also reports whether the last step was `terminated` or `truncated`)
and `spec_from_gym_space(space, simplify_box_bounds, name)`; code written
against it runs here unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy.typing as npt

from policylib.environments import gym_wrapper
from policylib.typing import types

if TYPE_CHECKING:
    import gymnasium
else:
    from policylib.environments.gym_wrapper import gymnasium

__all__ = ["GymnasiumWrapper", "spec_from_gym_space"]


def spec_from_gym_space(
    space: gymnasium.Space,
    simplify_box_bounds: bool = True,
    name: str | None = None,
) -> types.NestedArraySpec:
    """The (nest of) array specs of `space`, in the main branch's argument order.

    Same specs as `gym_wrapper.spec_from_gym_space` with no dtype map (whose
    second positional argument is the dtype map).
    """
    return gym_wrapper.spec_from_gym_space(space, None, simplify_box_bounds, name)


class _EndFlags(gymnasium.Wrapper):
    """Passes everything through and keeps the last step's `terminated`/`truncated`."""

    def __init__(self, env: gymnasium.Env):
        super().__init__(env)
        self.terminated = False
        self.truncated = False

    def __getattr__(self, name: str) -> Any:
        # Gymnasium 1.x wrappers no longer forward unknown attributes.
        if name.startswith("_") or name == "env":
            raise AttributeError(name)
        return getattr(self.env, name)

    def reset(self, **kwargs: Any) -> Any:
        self.terminated = self.truncated = False
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> Any:
        result = self.env.step(action)
        if isinstance(result, tuple) and len(result) == 5:
            self.terminated, self.truncated = bool(result[2]), bool(result[3])
        return result


class GymnasiumWrapper(gym_wrapper.GymWrapper):
    """`GymWrapper` with the main branch's signature and end-of-episode flags.

    Args:
      gym_env: the Gymnasium environment.
      discount: the discount of non-terminal (and truncated) steps.
      auto_reset: `step` after a LAST step resets.
      simplify_box_bounds: see `spec_from_gym_space`.
      spec_dtype_map, match_obs_space_dtype, render_kwargs, check_values: see
        `GymWrapper`.
    """

    def __init__(
        self,
        gym_env: gymnasium.Env,
        discount: types.Float = 1.0,
        auto_reset: bool = True,
        simplify_box_bounds: bool = True,
        spec_dtype_map: dict[type, npt.DTypeLike] | None = None,
        match_obs_space_dtype: bool = True,
        render_kwargs: dict[str, Any] | None = None,
        check_values: bool = True,
    ):
        self._flags = _EndFlags(gym_env)
        super().__init__(
            self._flags,
            discount=discount,
            spec_dtype_map=spec_dtype_map,
            match_obs_space_dtype=match_obs_space_dtype,
            auto_reset=auto_reset,
            simplify_box_bounds=simplify_box_bounds,
            render_kwargs=render_kwargs,
            check_values=check_values,
        )

    @property
    def gym(self) -> gymnasium.Env:
        """The wrapped Gymnasium environment (as passed in)."""
        return self._flags.env

    @property
    def terminated(self) -> bool:
        """Whether the last step ended the episode in a terminal state."""
        return self._flags.terminated

    @property
    def truncated(self) -> bool:
        """Whether the last step ended the episode early (e.g. a time limit)."""
        return self._flags.truncated
