"""The resumable event feed: Events replays each shard's journal from a cursor and follows
live; what a subscriber receives is compared with the journals themselves."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path

import grpc
import pytest
import ray
from foureyes.actors.shards import actor_name, shard_of
from foureyes.gateway.gateway import case_id_for
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg

from tests.integration.conftest import operator_session, running, seat_of

pytestmark = pytest.mark.integration


def withdrawal(key: str, amount: str = "60000") -> pb.TellerRequest:
    return pb.TellerRequest(operator_id="teller-1", outlet_id="0101", terminal_id="T1",
                            transaction=pb.Transaction(code="CASH_WITHDRAWAL", amount=amount,
                                                       currency="CNY", account="6222000011112222",
                                                       customer_id="cust-1", idempotency_key=key))


def journals(data_dir: Path, shards: int) -> list[tuple[int, int, str, int, str, str]]:
    """(shard, seq, case id, version, kind, state) of every event, as the SQLite files hold them."""
    rows = []
    for shard in range(shards):
        with contextlib.closing(sqlite3.connect(data_dir / f"cases-{shard}.sqlite")) as db:
            rows += [(shard, *r) for r in db.execute(
                "SELECT rowid, case_id, version, kind, state FROM case_events ORDER BY rowid")]
    return rows


def as_row(e: pb.FeedEvent) -> tuple[int, int, str, int, str, str]:
    return (e.shard, e.seq, e.case_id, e.version, e.kind, pb.CaseState.Name(e.state))


class Subscriber:
    """A downstream system: follows Events from its cursor, reconnects from it after any
    error, and keeps everything it received (duplicates too)."""

    def __init__(self, connect, creds) -> None:
        self.connect, self.creds = connect, creds
        self.cursor: dict[int, int] = {}
        self.received: list[tuple[int, int, str, int, str, str]] = []
        self.errors: list[grpc.StatusCode] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                channel = self.connect()
                async with channel:
                    creds = await self.creds(channel)
                    call = pbg.EventFeedStub(channel).Events(
                        pb.EventsRequest(after=self.cursor, follow=True), credentials=creds)
                    async for e in call:
                        self.received.append(as_row(e))
                        assert e.seq > self.cursor.get(e.shard, 0), "went back on a shard"
                        self.cursor[e.shard] = e.seq
            except grpc.aio.AioRpcError as e:
                self.errors.append(e.code())
                await asyncio.sleep(0.2)

    async def caught_up(self, data_dir: Path, shards: int, timeout: float = 60) -> None:
        expected = journals(data_dir, shards)
        last = {s: max((r[1] for r in expected if r[0] == s), default=0) for s in range(shards)}
        for _ in range(int(timeout * 10)):
            if all(self.cursor.get(s, 0) >= seq for s, seq in last.items()):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"subscriber at {self.cursor}, journals at {last}")

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def unique(rows):
    seen, out = set(), []
    for r in rows:
        if r[:2] not in seen:
            seen.add(r[:2])
            out.append(r)
    return out


async def test_events_replay_from_a_cursor_then_follow_live(start_service):
    async with running(start_service) as (svc, channel):
        teller = pbg.TellerChannelStub(channel)
        seat = await seat_of(svc, channel, "seat-e", "auth-e", 2, ["cash"]).connect()
        creds = await operator_session(svc, channel, "audit-e", "auditor")
        feed = pbg.EventFeedStub(channel)
        d = await teller.Authorize(withdrawal("ev-1"))
        seat.accept((await seat.next_of("offer")).offer.case.case_id)
        assigned = (await seat.next_of("assigned")).assigned.case
        seat.decide(d.case_id, assigned.version, pb.APPROVE)
        await seat.next_of("decided")
        replay = [e async for e in feed.Events(pb.EventsRequest(), credentials=creds)]
        assert [as_row(e) for e in replay] == journals(svc.settings.data_dir, 1)
        assert [e.kind for e in replay] == ["created", "offered", "review-started", "approved"]
        assert json.loads(replay[2].data_json)["operator_id"] == "auth-e"
        assert replay[-1].account_masked == "************2222"
        # from a cursor, only what follows; kinds filter but the cursor still moves
        rest = [e async for e in feed.Events(pb.EventsRequest(after={0: 2}), credentials=creds)]
        assert [e.seq for e in rest] == [3, 4]
        only = [e async for e in feed.Events(pb.EventsRequest(kinds=["approved"]),
                                             credentials=creds)]
        assert [e.kind for e in only] == ["approved"]
        # follow: the replay, then a new case's events as they are committed
        live = feed.Events(pb.EventsRequest(after={0: 4}, follow=True), credentials=creds)
        second = await teller.Authorize(withdrawal("ev-2"))
        first = await asyncio.wait_for(live.read(), 10)
        assert (first.case_id, first.kind, first.seq) == (second.case_id, "created", 5)
        live.cancel()
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await anext(aiter(feed.Events(pb.EventsRequest(after={3: 1}), credentials=creds)))
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as refused:  # a seat operator may not read it
            await anext(aiter(feed.Events(pb.EventsRequest(), credentials=await operator_session(
                svc, channel, "auth-x", "authorizer"))))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        await seat.close()
