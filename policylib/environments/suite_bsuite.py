"""Load bsuite environments (TF-Agents' `suite_bsuite`).

bsuite (Osband et al., "Behaviour Suite for Reinforcement Learning", 2019)
names each experiment setting by an id like 'deep_sea/7' (the 8th setting
of deep_sea); the setting fixes the environment's size and seed.

    env = suite_bsuite.load("catch/0", record=False)

bsuite environments are dm_env environments, so they are wrapped by the same
`DmEnvWrapper` as the DeepMind Control Suite. TF-Agents went through bsuite's
gym adapter instead; the time steps are the same (bsuite ends episodes by
termination, discount 0), while the specs are bsuite's own: the action is an
int32 scalar in [0, num_actions - 1] where gym made it int64. bsuite is an
optional dependency (`pip install 'policylib[bsuite]'`).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from types import ModuleType

import gin

from policylib.base import extras
from policylib.environments import dm_control_wrapper, py_environment
from policylib.errors import UnknownEnvironmentError
from policylib.typing import types

__all__ = ["is_available", "load"]

_FEATURE = "bsuite environments"


def _bsuite() -> ModuleType:
    """`bsuite.bsuite` (the loaders), or a one-line `MissingExtraError`."""
    return extras.require("bsuite.bsuite", extra="bsuite", feature=_FEATURE)


def is_available() -> bool:
    """Whether bsuite can be imported."""
    try:
        _bsuite()
    except ImportError:
        return False
    return True


def _check_id(bsuite_id: str) -> None:
    """Raises `UnknownEnvironmentError` for an id that bsuite's sweep lacks."""
    sweep = extras.require("bsuite.sweep", extra="bsuite", feature=_FEATURE)
    settings = sweep.SETTINGS
    if bsuite_id in settings:
        return
    experiment = str(bsuite_id).split(sweep.SEPARATOR)[0]
    indices = sorted(
        int(known.split(sweep.SEPARATOR)[1])
        for known in settings
        if known.split(sweep.SEPARATOR)[0] == experiment
    )
    if indices:
        raise UnknownEnvironmentError(
            f"bsuite has no setting {bsuite_id!r}: {experiment!r} has ids "
            f"'{experiment}/{indices[0]}' to '{experiment}/{indices[-1]}'."
        )
    experiments = sorted({known.split(sweep.SEPARATOR)[0] for known in settings})
    matches = difflib.get_close_matches(experiment, experiments, n=3, cutoff=0.6)
    hint = (
        " Did you mean " + " or ".join(repr(m) for m in matches) + "?"
        if matches
        else ""
    )
    raise UnknownEnvironmentError(
        f"bsuite has no experiment {experiment!r} (id {bsuite_id!r}).{hint} "
        f"Ids are '<experiment>/<setting>' with experiment one of: "
        f"{', '.join(experiments)}."
    )


@gin.configurable
def load(
    bsuite_id: str,
    record: bool = True,
    save_path: str | None = None,
    logging_mode: str = "csv",
    overwrite: bool = False,
    env_wrappers: Sequence[types.PyEnvWrapper] = (),
) -> py_environment.PyEnvironment:
    """Makes the bsuite environment of `bsuite_id` as a `PyEnvironment`.

    Args:
      bsuite_id: the experiment setting, e.g. 'deep_sea/7'.
      record: log the results bsuite's analysis reads (episode returns...).
      save_path: the directory of the CSV logs (`logging_mode='csv'`).
      logging_mode: where `record` logs: 'csv' or 'terminal'.
      overwrite: replace CSV logs already in `save_path`.
      env_wrappers: `PyEnvironment` wrappers, applied in order.

    Raises:
      UnknownEnvironmentError: `bsuite_id` is not one of bsuite's settings
        (the message names the close matches).
      ValueError: `record` to CSV without a `save_path`.
      MissingExtraError: bsuite is not installed.
    """
    bsuite = _bsuite()
    _check_id(bsuite_id)
    if record:
        if logging_mode == "csv" and save_path is None:
            raise ValueError(
                "suite_bsuite.load: record=True with logging_mode='csv' writes CSV "
                "files and needs a save_path (or use logging_mode='terminal', "
                "or record=False)."
            )
        raw_env = bsuite.load_and_record(
            bsuite_id=bsuite_id,
            save_path=save_path,
            logging_mode=logging_mode,
            overwrite=overwrite,
        )
    else:
        raw_env = bsuite.load_from_id(bsuite_id=bsuite_id)
    env: py_environment.PyEnvironment = dm_control_wrapper.DmEnvWrapper(raw_env)
    for wrapper in env_wrappers:
        env = wrapper(env)
    return env
