"""`policy_payload`: one tagged payload type per way a policy travels (no Ray needed)."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from policylib import data
from policylib.distributed import policy_payload
from policylib.environments import suite_gym
from policylib.export.policy_source import PolicySource
from tests.environments.cartpole import PoleAnglePolicy


def _pole_policy():
    env = suite_gym.load("CartPole-v1")
    policy = PoleAnglePolicy(env.time_step_spec(), env.action_spec())
    env.close()
    return policy


def test_a_py_policy_travels_pickled(tmp_path):
    payload = policy_payload.pack(
        _pole_policy(), portable=True, staging_dir=str(tmp_path)
    )
    assert type(payload) is policy_payload.PicklePayload
    assert isinstance(payload.load(), PoleAnglePolicy)
    with pytest.raises(dataclasses.FrozenInstanceError):
        payload.data = b""  # type: ignore[misc]


def test_a_saved_policy_travels_as_its_path_or_its_bytes(tmp_path):
    path = data.cartpole_dqn_path()
    source = PolicySource.of(path)
    local = policy_payload.pack_source(
        source, portable=False, staging_dir=str(tmp_path)
    )
    assert local == policy_payload.PathPayload(path, variables=None)
    remote = policy_payload.pack_source(
        source, portable=True, staging_dir=str(tmp_path)
    )
    assert type(remote) is policy_payload.ArchivePayload
    remote = pickle.loads(pickle.dumps(remote))  # as Ray sends it
    step = suite_gym.load("CartPole-v1").reset()
    assert remote.load().action(step).action == local.load().action(step).action
