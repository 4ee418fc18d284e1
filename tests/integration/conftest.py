"""Integration tests share one real Ray; each test starts a real service on 127.0.0.1:0."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import grpc
import pytest
import ray
from foureyes.service.app import Service
from foureyes.service.settings import Settings

ALL_SKILLS = ["cash", "transfer", "wealth", "account", "care", "general"]


@pytest.fixture(scope="session")
def ray_session():
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


@pytest.fixture
def start_service(ray_session, tmp_path):
    started: list[Service] = []

    async def start(data_dir: Path | None = None, **overrides) -> Service:
        settings = Settings(grpc_port=0, metrics_port=0, feed_port=0, data_dir=data_dir or tmp_path / "data",
                            offer_timeout=overrides.pop("offer_timeout", 30.0), **overrides)
        service = Service(settings)
        await service.start()
        started.append(service)
        return service

    yield start
    # stopped in the test's own loop by the async finalizer below


@pytest.fixture
async def service(start_service):
    svc = await start_service()
    yield svc
    await svc.stop()


@pytest.fixture
async def channel(service):
    async with grpc.aio.insecure_channel(service.grpc_address) as ch:
        yield ch


@contextlib.asynccontextmanager
async def running(start_service, **kw):
    svc = await start_service(**kw)
    try:
        async with grpc.aio.insecure_channel(svc.grpc_address) as ch:
            yield svc, ch
    finally:
        await svc.stop()
