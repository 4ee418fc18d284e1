"""Fixtures shared by the integration and the browser tests: one real Ray for the session."""

from __future__ import annotations

import logging

import pytest
import ray


@pytest.fixture(scope="session")
def ray_session():
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()
