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

from tests.integration.conftest import connect, operator_session, running, seat_of

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

    async def caught_up(self, data_dir: Path, shards: int, timeout: float = 60
                        ) -> list[tuple[int, int, str, int, str, str]]:
        """The journals as they are now, once the subscriber has received all of them (a
        service still running may add events after: timers, a channel's late retry)."""
        expected = journals(data_dir, shards)
        last = {s: max((r[1] for r in expected if r[0] == s), default=0) for s in range(shards)}
        for _ in range(int(timeout * 10)):
            if all(self.cursor.get(s, 0) >= seq for s, seq in last.items()):
                return expected
            await asyncio.sleep(0.1)
        raise AssertionError(f"subscriber at {self.cursor}, journals at {last}")

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def until(done, timeout: float = 120) -> None:
    for _ in range(int(timeout * 20)):
        if done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting")


def unique(rows, through=None):
    """`rows` without repeats; with `through` (a journal snapshot), only the rows it covers."""
    last = {} if through is None else {r[0]: r[1] for r in through}
    seen, out = set(), []
    for r in rows:
        if through is not None and r[1] > last.get(r[0], 0):
            continue
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


class Load:
    """Channels asking and seats deciding as fast as they go, through host restarts: a call
    refused as UNAVAILABLE (a host restarting) is tried again with the same key."""

    def __init__(self, svc, channel, seats) -> None:
        self.teller = pbg.TellerChannelStub(channel)
        self.seats = seats
        self.made = 0
        self.running = True
        self.tasks = [asyncio.create_task(self._ask(i)) for i in range(4)]
        self.tasks += [asyncio.create_task(self._serve(s)) for s in seats]

    async def _ask(self, worker: int) -> None:
        n = 0
        while self.running:
            key = f"load-{worker}-{n}"
            try:
                await self.teller.Authorize(withdrawal(key), timeout=10)
                n += 1
                self.made += 1
            except grpc.aio.AioRpcError as e:
                assert e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED), e
                await asyncio.sleep(0.1)

    async def _serve(self, seat) -> None:
        while self.running:
            try:
                event = await seat.next(timeout=1)
            except TimeoutError:
                continue
            body = event.WhichOneof("body")
            if body == "offer":
                seat.accept(event.offer.case.case_id)
            elif body == "assigned":
                seat.decide(event.assigned.case.case_id, event.assigned.case.version, pb.APPROVE)

    async def stop(self) -> None:
        self.running = False
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def restart(host) -> None:
    old = await host.endpoint.remote()
    ray.kill(host, no_restart=False)
    for _ in range(300):  # until Ray has started it again, at another address
        with contextlib.suppress(ray.exceptions.RayError):
            if await host.endpoint.remote() != old:
                return
        await asyncio.sleep(0.1)
    raise AssertionError("the host did not come back")


async def zmq_feed(endpoint: str):
    import zmq
    import zmq.asyncio

    sub = zmq.asyncio.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 1_000_000)
    sub.connect(endpoint)
    sub.setsockopt(zmq.SUBSCRIBE, b"case.")
    await asyncio.sleep(0.5)  # a SUB socket misses what is sent before it has joined
    return sub


async def drain_zmq(sub) -> list[dict]:
    got = []
    while await sub.poll(500):
        got.append(json.loads((await sub.recv_multipart())[1]))
    sub.close()
    return got


@pytest.mark.parametrize("killed", [0, 1])
async def test_a_subscriber_with_a_cursor_gets_every_journal_event_through_a_host_kill(
        start_service, killed):
    """Under load, case host `killed` of two is killed (Ray restarts it). Afterwards the
    subscriber has received exactly what the journals hold, shard by shard, in order; the
    ZeroMQ feed carries every event the restarted host committed: it reached the gateway from
    its first commit (its recovery's `requeued` events), not the next heartbeat."""
    async with running(start_service, case_shards=2, stop_grace=1) as (svc, channel):
        data = svc.settings.data_dir
        auditor = await operator_session(svc, channel, "audit-k", "auditor")

        async def creds(_):
            return auditor

        sub = await zmq_feed(svc.gateway.feed.endpoint)
        feed = Subscriber(lambda: connect(svc), creds)
        # two cases on the shard to be killed stay in review through the kill
        holder = await seat_of(svc, channel, "seat-h", "auth-h", 2, ["cash"], capacity=2).connect()
        keys = [k for k in (f"held-{i}" for i in range(200))
                if shard_of(case_id_for("teller", k), 2) == killed][:2]
        held = {(await pbg.TellerChannelStub(channel).Authorize(withdrawal(k))).case_id for k in keys}
        for _ in held:
            holder.accept((await holder.next_of("offer")).offer.case.case_id)
        assert {(await holder.next_of("assigned")).assigned.case.case_id for _ in held} == held
        seats = [await seat_of(svc, channel, f"seat-l{i}", f"auth-l{i}", 2, ["cash"],
                               capacity=2).connect() for i in range(2)]
        load = Load(svc, channel, seats)
        await until(lambda: load.made >= 30)
        await restart(ray.get_actor(actor_name(svc.settings.instance, "cases", killed)))
        made = load.made
        await until(lambda: load.made >= made + 30)  # serving again, under load
        revoked = set()
        while len(revoked) < 2:  # told, and the cases went to the queue (the others serve them)
            event = await holder.next(timeout=10)
            if event.WhichOneof("body") == "revoked":
                assert event.revoked.reason == "case host restarted"
                revoked.add(event.revoked.case_id)
            elif event.WhichOneof("body") == "offer":
                holder.decline(event.offer.case.case_id)
        assert revoked == held
        await holder.close()
        await load.stop()
        await asyncio.sleep(0.5)
        expected = await feed.caught_up(data, 2)
        await feed.stop()
        assert any(r[4] == "requeued" for r in expected)  # the kill caught cases in flight
        got = unique(feed.received, expected)
        assert sorted(got) == sorted(expected)
        for shard in (0, 1):  # in the journal's order per shard
            assert [r for r in got if r[0] == shard] == [r for r in expected if r[0] == shard]
        # The ZeroMQ feed carries everything the restarted host committed, from its first
        # commit (its recovery's `requeued`); what the killed process committed but had not
        # pushed yet may be missing there (the feed's gap; Events above has it all).
        pushed = {(e["shard"], e["seq"]) for e in await drain_zmq(sub)}
        first_new = min(r[1] for r in expected if r[0] == killed and r[4] == "requeued")
        assert {r[:2] for r in expected if r[0] != killed or r[1] >= first_new} <= pushed
        for s in seats:
            await s.close()


async def test_the_events_command_prints_the_feed_and_resumes_from_its_cursor_file(
        start_service, tmp_path, capsys, monkeypatch):
    from foureyes.service.cli import main

    from tests.integration.conftest import enrol

    async with running(start_service) as (svc, channel):
        teller = pbg.TellerChannelStub(channel)
        for key in ("cli-1", "cli-2"):
            await teller.Authorize(withdrawal(key))
        monkeypatch.setenv("FOUREYES_PASSWORD", enrol(svc, "audit-cli", roles=("auditor",)))
        cursor = tmp_path / "cursor"
        argv = ["events", "--target", svc.grpc_address, "--as", "audit-cli", "--cursor-file",
                str(cursor), "--ca", str(svc.settings.data_dir / "credentials" / "ca.pem")]
        assert await asyncio.to_thread(main, argv) == 0
        lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
        assert [(e["seq"], e["kind"], e["state"]) for e in lines] == [(1, "created", "QUEUED"),
                                                                    (2, "created", "QUEUED")]
        assert cursor.read_text().strip() == "0:2"
        await teller.Authorize(withdrawal("cli-3"))
        assert await asyncio.to_thread(main, argv) == 0  # only what is new since
        assert [json.loads(x)["seq"] for x in capsys.readouterr().out.splitlines()] == [3]
        assert await asyncio.to_thread(main, ["events", "--as", "x", "--since", "zero"]) == 2
        assert "SHARD:SEQ" in capsys.readouterr().err
