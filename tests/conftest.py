"""Fixtures shared by the tests: one real Ray and one real PostgreSQL for the session."""

from __future__ import annotations

import logging
import os
import sys
import threading
import uuid

import pytest
import ray
from foureyes.actors.shards import NAMESPACE


@pytest.fixture(scope="session")
def ray_session():
    ray.init(address="local", namespace=NAMESPACE, num_cpus=2, include_dashboard=False,
             logging_level=logging.WARNING)
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


_outcome: dict[str, int] = {}


def pytest_sessionfinish(session, exitstatus):
    _outcome["status"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """A thread that is not a daemon (an aiosqlite connection never closed, say) would keep
    this process from exiting after its summary: a hang on CI. Name it and exit instead."""
    def lingering() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t is not threading.main_thread()
                and not t.daemon and t.is_alive()
                and not t.name.startswith(("ThreadPoolExecutor", "asyncio_"))]  # end at exit

    for t in lingering():
        t.join(timeout=10)
    if left := lingering():
        sys.stderr.write(f"\nthreads left running by the tests (a resource never closed): "
                         f"{', '.join(t.name for t in left)}\n")
        sys.stderr.flush()
        os._exit(_outcome.get("status") or 3)
