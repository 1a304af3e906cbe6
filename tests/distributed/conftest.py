"""A real Ray head for the tests, on 127.0.0.1 only (`ray_cluster.local_head`).

The head is stopped by the process ids it started (its `ray start` session),
not with `ray stop`, which would stop every Ray process on the machine.
"""

from __future__ import annotations

import pytest

# Token authentication off for this process's drivers as for the head:
# `ray start` turns it on by itself when ~/.ray/auth_token exists (a local
# `ray.init()` writes one) while drivers do not, so the tests would depend on
# that file. The head serves this machine only.
AUTH = {"RAY_AUTH_MODE": "disabled"}


@pytest.fixture(scope="session")
def local_ray_head():
    """A `LocalHead` with 2 CPUs on 127.0.0.1, started for the session."""
    pytest.importorskip("ray", reason="the Ray tests need policylib[ray]")
    from policylib.distributed import ray_cluster

    with pytest.MonkeyPatch.context() as patch:
        for name, value in AUTH.items():
            patch.setenv(name, value)
        with ray_cluster.local_head(num_cpus=2) as head:
            yield head


@pytest.fixture(scope="session")
def ray_head(local_ray_head):
    """`127.0.0.1:PORT` of the session's Ray head."""
    return local_ray_head.address
