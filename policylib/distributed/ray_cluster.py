"""Connecting to Ray: the one place policylib calls `ray.init` and `ray.shutdown`.

    with ray_cluster.connect("127.0.0.1:6379") as ray:   # a running `ray start --head`
        ...
    with ray_cluster.connect(None) as ray:   # this process's Ray, or a local one for the block

A process already connected (`ray.init` called by the user) is used as is and
left connected. Otherwise `connect` joins the cluster at `address`, or starts
a local Ray for the block when `address` is None, and disconnects (stopping
what it started) when the block ends.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from types import ModuleType

from policylib.utils import extras

__all__ = ["check_cpus", "connect", "require_ray", "where"]


def require_ray(feature: str = "Ray backends") -> ModuleType:
    """`ray`, or `MissingExtraError` naming `pip install 'policylib[ray]'`."""
    return extras.require("ray", extra="ray", feature=feature)


@contextlib.contextmanager
def connect(address: str | None, num_cpus: int | None = None) -> Iterator[ModuleType]:
    """Yields `ray`, connected to `address` (or to a local Ray started here).

    Args:
      address: `"HOST:PORT"` of a running cluster's head (`ray start --head`),
        `"auto"` for the cluster this machine belongs to, or None.
      num_cpus: CPUs of a local Ray started here (None: all of them).

    Raises:
      MissingExtraError: Ray is not installed.
      ConnectionError: nothing answers at `address`.
    """
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    options = {
        "include_dashboard": False,
        "log_to_driver": False,
        "configure_logging": False,
    }
    try:
        if address is None:
            ray.init(num_cpus=num_cpus, **options)
        else:
            ray.init(address=address, **options)
    except ConnectionError as e:
        if _refused_for_token(e):
            raise ConnectionError(
                f"The Ray cluster at {address!r} uses token authentication and "
                "refused this process: set RAY_AUTH_MODE=token here (with the "
                "head's token in ~/.ray/auth_token or RAY_AUTH_TOKEN), or start "
                "the head with RAY_AUTH_MODE=disabled."
            ) from e
        raise ConnectionError(
            f"No Ray cluster answers at {address!r}: start one with "
            f"`ray start --head --port PORT` and pass its HOST:PORT ({e})."
        ) from e
    try:
        yield ray
    finally:
        ray.shutdown()


def _refused_for_token(error: BaseException | None) -> bool:
    """Whether a failed `ray.init` came from a missing or wrong auth token.

    `ray start --head` turns token authentication on by itself when
    ~/.ray/auth_token exists (a local `ray.init()` writes one), while a
    connecting driver does not: the cause is then only in the error chain.
    """
    while error is not None:
        if "AuthenticationError" in str(error) or "InvalidAuthToken" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def where(ray: ModuleType) -> str:
    """This worker's process id and node, for messages: `pid 123 on 10.0.0.2`."""
    return f"pid {os.getpid()} on {ray.util.get_node_ip_address()}"


def check_cpus(
    ray: ModuleType,
    actors: int,
    owner: str,
    per_actor: float = 1.0,
    wait_s: float = 30.0,
) -> None:
    """Raises ValueError when the cluster cannot place `actors` actors.

    Actors that cannot be placed would wait forever for a CPU; this says so
    up front instead. A cluster with enough CPUs that are busy (actors of a
    job that just ended are released asynchronously) gets `wait_s` seconds
    to free them.
    """
    needed = actors * per_actor
    total = float(ray.cluster_resources().get("CPU", 0.0))
    advice = (
        "Ask for fewer workers, add nodes (ray start --address ...), or start the "
        "head with more logical CPUs (ray start --head --num-cpus N)."
    )
    if total + 1e-9 < needed:
        raise ValueError(
            f"{owner}: {actors} Ray actors need {needed:g} free CPUs, but the cluster "
            f"has {total:g}. {advice}"
        )
    deadline = time.monotonic() + wait_s
    while True:
        free = float(ray.available_resources().get("CPU", 0.0))
        if free + 1e-9 >= needed:
            return
        if time.monotonic() >= deadline:
            raise ValueError(
                f"{owner}: {actors} Ray actors need {needed:g} free CPUs, but only "
                f"{free:g} of the cluster's {total:g} were free after {wait_s:g} s "
                f"(other jobs hold the rest). {advice}"
            )
        time.sleep(0.2)
