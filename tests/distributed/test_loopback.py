"""Ray on this machine stays on 127.0.0.1 and is stopped by the process ids it started.

The session's head (conftest), a head started and stopped here, and the
local Ray `evaluate(backend="ray")` starts without an address: each reports
its node as 127.0.0.1, and every socket of their processes (and of the
driver) is bound and connected on loopback.
"""

from __future__ import annotations

import os

import pytest

from policylib.distributed import ray_cluster
from policylib.environments import suite_gym
from policylib.eval import evaluate
from tests.environments.cartpole import PoleAnglePolicy

pytest.importorskip("ray", reason="the Ray tests need policylib[ray]")
psutil = pytest.importorskip("psutil")  # Ray depends on it
from tests.distributed import loopback  # noqa: E402 - imports psutil


def _pole_policy():
    env = suite_gym.load("CartPole-v1")
    policy = PoleAnglePolicy(env.time_step_spec(), env.action_spec())
    env.close()
    return policy


def _listeners(sockets, name):
    return [s for s in sockets if s["name"] == name and s["status"] == "LISTEN"]


def test_the_head_its_actors_and_this_driver_use_loopback_only(local_ray_head):
    class Where:
        def where(self):
            import ray

            return ray_cluster.where(ray)

    with ray_cluster.connect(local_ray_head.address) as ray:
        nodes = ray.nodes()
        actor_class = ray.remote(num_cpus=1)(Where)
        actors = [actor_class.remote() for _ in range(2)]
        places = ray.get([a.where.remote() for a in actors])
        pids = [*local_ray_head.pids(), os.getpid()]
        sockets = loopback.inet_sockets(pids)
        for actor in actors:
            ray.kill(actor)
    assert [(n["NodeManagerAddress"], n["Alive"]) for n in nodes] == [
        ("127.0.0.1", True)
    ]
    assert all(p.endswith(" on 127.0.0.1") for p in places), places
    port = int(local_ray_head.address.rsplit(":", 1)[1])
    gcs = _listeners(sockets, "gcs_server")
    assert [s["port"] for s in gcs] == [port] and _listeners(sockets, "raylet")
    assert len({s["pid"] for s in sockets}) >= 4  # GCS, raylet, actors, driver...
    assert loopback.off_loopback(sockets) == []


def _name(pid: int) -> str | None:
    """The process's name; None if it ended since it was listed (short-lived
    Ray workers do)."""
    try:
        return psutil.Process(pid).name()
    except psutil.NoSuchProcess:
        return None


def test_a_head_is_stopped_by_its_own_process_ids_and_no_others(local_ray_head):
    def core(head):
        return {p for p in head.pids() if _name(p) in ("gcs_server", "raylet")}

    session_core = core(local_ray_head)
    with ray_cluster.local_head(num_cpus=1) as head:
        assert head.address.startswith("127.0.0.1:") and head.session != (
            local_ray_head.session
        )
        pids = set(head.pids())
        assert len(core(head)) == 2 and not pids & set(local_ray_head.pids())
        with ray_cluster.connect(head.address) as ray:
            assert [n["NodeManagerAddress"] for n in ray.nodes()] == ["127.0.0.1"]
            sockets = loopback.inet_sockets([*head.pids(), os.getpid()])
        assert loopback.off_loopback(sockets) == [] and _listeners(sockets, "raylet")
    assert head.pids() == [] and loopback.alive(pids) == set()
    assert not os.path.exists(head.temp_dir)
    assert core(local_ray_head) == session_core  # the session's head runs on


def test_evaluate_without_an_address_starts_a_loopback_ray_and_stops_it(tmp_path):
    driver = os.getpid()
    before = set(loopback.family(driver))
    serial = evaluate(_pole_policy(), "CartPole-v1", 6, seed=3, progress=False)
    result = evaluate(
        _pole_policy(),
        loopback.recording_env(tmp_path, driver),
        6,
        seed=3,
        num_workers=2,
        backend="ray",
        progress=False,
    )
    assert result.returns == serial.returns
    records = loopback.records(tmp_path)
    assert len(records) == 2  # one per actor
    started = set()
    for record in records:
        assert record["nodes"] == ["127.0.0.1"] and record["node_ip"] == "127.0.0.1"
        sockets = record["sockets"]
        assert _listeners(sockets, "gcs_server") and _listeners(sockets, "raylet")
        assert loopback.off_loopback(sockets) == []
        started |= set(record["family"]) - before - {driver}
    assert {record["pid"] for record in records} <= started
    # The local Ray ends with the call: its actors and idle workers, children of
    # the raylet, may take a moment to see it go on a busy machine.
    assert loopback.wait_gone(started, timeout=60) == set()


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:6379", True),
        ("localhost:6379", True),
        ("[::1]:6379", True),
        ("127.0.0.2:1", True),
        ("10.0.0.2:6379", False),
        ("head-node:6379", False),
        ("auto", False),
    ],
)
def test_loopback_addresses_are_recognised(address, expected):
    assert ray_cluster._is_loopback(address) is expected


def test_a_local_head_refuses_bad_sizes_before_starting_anything():
    with pytest.raises(ValueError, match=r"local_head: num_cpus must be positive"):
        with ray_cluster.local_head(num_cpus=0):
            pass
    with pytest.raises(TypeError, match=r"local_head: port must be an int, got '1'"):
        with ray_cluster.local_head(num_cpus=1, port="1"):
            pass
