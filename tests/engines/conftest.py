"""One local Ray instance for every test of `--engine ray` here: starting Ray costs ~10 s, so it is started once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def local_ray():
    """A local Ray instance with 2 CPUs, shared by the session's tests and shut down at the end. The stages see it
    running and use it as it is (trendgan.engines.ray_session), as they would a cluster named by RAY_ADDRESS."""
    ray = pytest.importorskip("ray", reason="the [ray] extra is not installed")
    if ray.is_initialized():  # another test started one: use it, leave it
        yield ray
        return
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR", configure_logging=True)
    try:
        yield ray
    finally:
        ray.shutdown()
