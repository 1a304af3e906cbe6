"""Checks that a directory holds a saved policy before TensorFlow reads it.

TensorFlow's own errors for a wrong path are internal (`NotFoundError:
.../policy_specs.pbtxt; No such file or directory`); these checks name the
path and say what is missing, so a user knows whether they passed the wrong
directory or a SavedModel that is not a policy.
"""

from __future__ import annotations

import os
from typing import Any

import tensorflow as tf
from google.protobuf import text_format

from policylib.base import quiet

# Imported for their side effect: every composite distribution a saved policy
# may return is registered under its TF-Agents name before anything loads
# (TFP's own, e.g. Deterministic, register once TFP is really imported).
from policylib.distributions import gumbel_softmax as _gumbel_softmax  # noqa: F401
from policylib.distributions import masked as _masked  # noqa: F401
from policylib.distributions import shifted_categorical as _shifted  # noqa: F401
from policylib.distributions import utils as _distribution_utils  # noqa: F401
from policylib.errors import NotAPolicyError
from policylib.policies import greedy_policy as _greedy_policy  # noqa: F401

# Checked without TensorFlow there; re-exported where callers look for them.
from policylib.policies.saved_policy_dir import POLICY_SPECS_PBTXT, check_policy_dir
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

__all__ = [
    "POLICY_SPECS_PBTXT",
    "check_policy_dir",
    "load_saved_model",
    "read_specs",
    "specs_from_collect_data_spec",
]


@quiet.saved_model_io
def load_saved_model(path: str) -> Any:
    """`tf.saved_model.load(path)`, with a load failure named as `NotAPolicyError`."""
    try:
        loaded = tf.saved_model.load(path)
    except Exception as e:  # any failure to read the files means "not a usable policy"
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise NotAPolicyError(f"{path}: cannot load the SavedModel: {detail}") from e
    if not hasattr(loaded, "action"):
        raise NotAPolicyError(
            f"{path}: a SavedModel, but not a policy: it has no 'action' function."
        )
    return loaded


def read_specs(path: str) -> dict[str, Any]:
    """The array specs recorded in `path/policy_specs.pbtxt` (see `specs_from_collect_data_spec`).

    Raises:
      NotAPolicyError: the file cannot be parsed or lacks the policy's specs.
    """
    specs_file = os.path.join(path, POLICY_SPECS_PBTXT)
    try:
        return specs_from_collect_data_spec(tensor_spec.from_pbtxt_file(specs_file))
    except (
        tf.errors.OpError,
        text_format.ParseError,
        ValueError,
        KeyError,
        AttributeError,
        TypeError,
    ) as e:
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise NotAPolicyError(
            f"{specs_file}: not readable as a policy's specs: {detail}"
        ) from e


def specs_from_collect_data_spec(loaded_policy_specs: Any) -> dict[str, Any]:
    """Array specs of a saved policy from the nest read out of `policy_specs.pbtxt`.

    Returns:
      A dict with `collect_data_spec`, `time_step_spec` (a `TimeStep`),
      `action_spec`, `policy_state_spec` and `info_spec`, as array specs.
    """
    specs = tensor_spec.to_nest_array_spec(loaded_policy_specs)
    collect = specs["collect_data_spec"]
    return {
        "collect_data_spec": collect,
        "time_step_spec": ts.TimeStep(
            step_type=collect.step_type,
            reward=collect.reward,
            discount=collect.discount,
            observation=collect.observation,
        ),
        "action_spec": collect.action,
        "policy_state_spec": specs["policy_state_spec"],
        "info_spec": collect.policy_info,
    }
