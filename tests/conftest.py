"""Fixtures shared by the tests: one real Ray and one real PostgreSQL for the session."""

from __future__ import annotations

import logging
import os
import uuid

import pytest
import ray


@pytest.fixture(scope="session")
def ray_session():
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server for the session; skipped where there is none, but on CI (CI=true)
    a missing PostgreSQL fails."""
    from foureyes.service import local_postgres as pg

    if pg.bin_dir() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not installed (.ci/run installs Debian's postgresql)")
        pytest.skip("PostgreSQL is not installed")
    with pg.running() as url:
        yield url


@pytest.fixture
async def postgres_url(postgres_server):
    """A fresh database on the session's server, for one test."""
    import asyncpg

    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(postgres_server)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return postgres_server.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgres"])
def store_opener(request):
    """Each store backend in turn (store/backend.py)."""
    from foureyes.store import backend

    if request.param == "sqlite":
        return backend.sqlite
    return backend.opener(request.getfixturevalue("postgres_url"))


def pytest_ignore_collect(collection_path, config):
    """tests/cluster makes its own multi-node Ray, which cannot share this session's: it runs
    only when named (run.sh test runs it after the suite)."""
    if collection_path.name == "cluster" and collection_path.parent.name == "tests":
        return not any("cluster" in str(arg) for arg in config.args) or None
    return None
