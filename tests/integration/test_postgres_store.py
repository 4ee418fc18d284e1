"""The case path on a service whose stores are in PostgreSQL (--database-url)."""

from __future__ import annotations

import asyncpg
import grpc
import pytest
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.integration.conftest import review, running, seat_of
from tests.integration.test_end_to_end import withdrawal

pytestmark = pytest.mark.integration


async def test_cases_are_decided_and_kept_through_a_restart_in_postgresql(
        start_service, tmp_path, postgres_url):
    data = tmp_path / "pg"
    async with running(start_service, data_dir=data, database_url=postgres_url) as (svc,
                                                                                     channel):
        teller = pbg.TellerChannelStub(channel)
        seat = await seat_of(svc, channel, "seat-p", "auth-p", 2, ["cash"]).connect()
        decided_one = await teller.Authorize(withdrawal("pg-1", "80000"))
        assert decided_one.outcome == pb.REQUIRED
        assert (await review(seat, decided_one.case_id)).decided.state == pb.APPROVED
        await seat.close()
        left_open = await teller.Authorize(withdrawal("pg-2", "70000"))
    # nothing of the cases went to SQLite files; they are in the shards' schemas
    assert not list(data.glob("cases-*.sqlite")) and not list(data.glob("customers-*.sqlite"))
    conn = await asyncpg.connect(postgres_url)
    try:
        schemas = {r[0] for r in await conn.fetch("SELECT schema_name FROM "
                                                  "information_schema.schemata")}
        assert {"cases_0", "customers_0"} <= schemas
        assert await conn.fetchval("SELECT count(*) FROM cases_0.cases") == 2
    finally:
        await conn.close()
    async with running(start_service, data_dir=data, database_url=postgres_url) as (svc,
                                                                                     channel):
        teller = pbg.TellerChannelStub(channel)
        done = await teller.WatchCase(pb.WatchCaseRequest(case_id=decided_one.case_id)).read()
        assert done.state == pb.APPROVED and done.final
        still = await teller.WatchCase(pb.WatchCaseRequest(case_id=left_open.case_id)).read()
        assert still.state == pb.QUEUED and not still.final
        seat = await seat_of(svc, channel, "seat-p2", "auth-p2", 2, ["cash"]).connect()
        assert (await seat.next_of("offer")).offer.case.case_id == left_open.case_id
        await seat.close()


async def test_a_shard_whose_postgresql_chain_was_tampered_is_refused_on_start(
        start_service, tmp_path, postgres_url):
    """The start-up check of the chain's tail reads the shard's schema: a journal row of a
    closed case edited in the database (no open case's row is touched, so only that check
    sees it) makes the shard refuse, unless --accept-tampered, which is audited."""
    data = tmp_path / "pg"
    async with running(start_service, data_dir=data, database_url=postgres_url) as (svc,
                                                                                     channel):
        teller = pbg.TellerChannelStub(channel)
        seat = await seat_of(svc, channel, "seat-t", "auth-t", 2, ["cash"]).connect()
        decided = await teller.Authorize(withdrawal("pg-t", "80000"))
        assert (await review(seat, decided.case_id, pb.REJECT, reason_code="NO")
                ).decided.state == pb.REJECTED
        await seat.close()
    conn = await asyncpg.connect(postgres_url)
    try:  # the reviewer's decision rewritten in the journal
        changed = await conn.execute(
            "UPDATE cases_0.case_events SET state = 'APPROVED' WHERE case_id = $1 "
            "AND state = 'REJECTED'", decided.case_id)
        assert changed == "UPDATE 1"
    finally:
        await conn.close()

    async with running(start_service, data_dir=data, database_url=postgres_url) as (svc,
                                                                                     channel):
        health = health_pb2_grpc.HealthStub(channel)
        status = await health.Check(health_pb2.HealthCheckRequest(
            service="foureyes.shard.cases-0"))
        assert status.status == health_pb2.HealthCheckResponse.NOT_SERVING
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await anext(aiter(pbg.TellerChannelStub(channel).WatchCase(
                pb.WatchCaseRequest(case_id=decided.case_id))))
        assert e.value.code() == grpc.StatusCode.DATA_LOSS
        assert "schema cases_0 is not served: its audit chain does not verify" in e.value.details()
        assert f"case {decided.case_id}" in e.value.details()

    async with running(start_service, data_dir=data, database_url=postgres_url,
                       accept_tampered=True) as (svc, channel):
        health = health_pb2_grpc.HealthStub(channel)
        status = await health.Check(health_pb2.HealthCheckRequest(
            service="foureyes.shard.cases-0"))
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        audit = await svc.gateway.audit.since(0)
        assert [a for a in audit if a["event"] == "tampered-served"
                and "schema cases_0" in a["detail"] and decided.case_id in a["detail"]]
