"""Fixtures shared by the integration and the browser tests: one real Ray for the session."""

from __future__ import annotations

import logging

import pytest
import ray


@pytest.fixture(scope="session")
def ray_session():
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


def pytest_ignore_collect(collection_path, config):
    """tests/cluster makes its own multi-node Ray, which cannot share this session's: it runs
    only when named (run.sh test runs it after the suite)."""
    if collection_path.name == "cluster" and collection_path.parent.name == "tests":
        return not any("cluster" in str(arg) for arg in config.args) or None
    return None
