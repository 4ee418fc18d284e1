"""Integration tests share one real Ray; each test starts a real service on 127.0.0.1:0."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import grpc
import pytest
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.security.directory import Operator
from foureyes.service.app import Service
from foureyes.service.client import channel_tokens, secure_channel, session, sign_in
from foureyes.service.seat_client import SeatClient
from foureyes.service.settings import Settings

ALL_SKILLS = ["cash", "transfer", "wealth", "account", "care", "general"]


def _tokens_file(svc: Service) -> Path:
    # the channel systems' tokens are shown once, at a data directory's first start: the tests
    # keep them beside it for restarts (in a file: this module is imported twice, as pytest's
    # conftest and as tests.integration.conftest)
    return svc.settings.data_dir / "test-tokens.json"


@pytest.fixture
def start_service(ray_session, tmp_path):
    started: list[Service] = []

    async def start(data_dir: Path | None = None, **overrides) -> Service:
        settings = Settings(grpc_port=0, metrics_port=0, feed_port=0, console_port=0,
                            data_dir=data_dir or tmp_path / "data",
                            offer_timeout=overrides.pop("offer_timeout", 30.0),
                            stop_grace=overrides.pop("stop_grace", 2.0),
                            # most tests are not about evidence: their cases are queued at once
                            evidence_gate=overrides.pop("evidence_gate", False), **overrides)
        service = Service(settings)
        await service.start()
        if service.credentials.new_tokens:
            _tokens_file(service).write_text(json.dumps(service.credentials.new_tokens))
        started.append(service)
        return service

    yield start
    # stopped in the test's own loop by the async finalizer below


@pytest.fixture
async def service(start_service):
    svc = await start_service()
    yield svc
    await svc.stop()


def connect(svc: Service, tokens: dict[str, str] | None = None) -> grpc.aio.Channel:
    """A channel as the channel systems use it: TLS, each channel service with its system's
    token (the development tokens made at the service's first start, unless given)."""
    c = svc.credentials
    return secure_channel(svc.grpc_address, c.tls.ca_bytes(),
                          channel_tokens(_made_tokens(svc) if tokens is None else tokens))


def _made_tokens(svc: Service) -> dict[str, str]:
    path = _tokens_file(svc)
    return json.loads(path.read_text()) if path.exists() else {}  # the bank's own systems


@pytest.fixture
async def channel(service):
    async with connect(service) as ch:
        yield ch


@contextlib.asynccontextmanager
async def running(start_service, **kw):
    svc = await start_service(**kw)
    try:
        async with connect(svc) as ch:
            yield svc, ch
    finally:
        await svc.stop()


def enrol(svc: Service, operator_id: str, level: int = 0, skills=(), roles=("authorizer",),
          scope=(), outlet: str = "") -> str:
    """Put an operator in the service's directory (as the bank would); returns the password."""
    password = f"pw-{operator_id}"
    directory = svc.credentials.directory
    wanted = Operator(operator_id, level=level, skills=tuple(skills), scope=tuple(scope),
                      outlet=outlet, roles=frozenset(roles))
    if operator_id in {o.operator_id for o in directory.all()}:  # e.g. a demo operator
        directory.update(operator_id, level=level, skills=wanted.skills, scope=wanted.scope,
                         outlet=outlet, roles=wanted.roles, password=password)
    else:
        directory.add(wanted, password)
    return password


def seat_of(svc: Service, channel: grpc.aio.Channel, seat_id: str, operator_id: str, level: int,
            skills, capacity: int = 1, outlet_id: str = "", scope=(), supervisor: bool = False,
            heartbeats: bool = True) -> SeatClient:
    """A seat whose operator the directory knows with exactly what the seat logs in with."""
    roles = ("authorizer", "supervisor") if supervisor else ("authorizer",)
    password = enrol(svc, operator_id, level, skills, roles, scope, outlet_id)
    return SeatClient(channel, seat_id, operator_id, level, skills, capacity=capacity,
                      outlet_id=outlet_id, scope=scope, supervisor=supervisor,
                      heartbeats=heartbeats, password=password)


async def review(seat: SeatClient, case_id: str, verdict: pb.Verdict = pb.APPROVE,
                 **reason: str) -> pb.SeatEvent:
    """The seat is offered `case_id`, accepts it and gives `verdict`: its `decided` event."""
    assert (await seat.next_of("offer")).offer.case.case_id == case_id
    seat.accept(case_id)
    assigned = (await seat.next_of("assigned")).assigned.case
    seat.decide(case_id, assigned.version, verdict, **reason)
    return await seat.next_of("decided")


async def operator_session(svc: Service, channel: grpc.aio.Channel, operator_id: str,
                           *roles: str) -> grpc.CallCredentials:
    return session(await sign_in(channel, operator_id, enrol(svc, operator_id, roles=roles)))


async def publish_approved(svc: Service, channel: grpc.aio.Channel, files, comment: str = ""
                           ) -> pb.RuleSetVersion:
    """Propose as a rule author, approve as a rule approver: the four-eyes path."""
    admin = pbg.AdminServiceStub(channel)
    proposed = await admin.PublishRules(
        pb.PublishRulesRequest(files=files, comment=comment),
        credentials=await operator_session(svc, channel, "author-t", "rule_author"))
    return await admin.ApproveRules(
        pb.ApproveRulesRequest(version=proposed.version),
        credentials=await operator_session(svc, channel, "approver-t", "rule_approver"))
