"""The case path on a service whose stores are in PostgreSQL (--database-url)."""

from __future__ import annotations

import asyncpg
import pytest
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg

from tests.integration.conftest import running, seat_of
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
        offer = (await seat.next_of("offer")).offer.case
        assert offer.case_id == decided_one.case_id
        seat.accept(offer.case_id)
        assigned = (await seat.next_of("assigned")).assigned.case
        seat.decide(offer.case_id, assigned.version, pb.APPROVE)
        assert (await seat.next_of("decided")).decided.state == pb.APPROVED
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
