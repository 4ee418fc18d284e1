"""Stopping and killing the whole service under load, as its own process."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import grpc
import pytest
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.service.client import session, sign_in
from foureyes.service.seat_client import SeatClient

from tests.integration.service_process import ServiceProcess
from tests.integration.test_event_feed import Load, Subscriber, journals, unique, until, withdrawal

pytestmark = pytest.mark.integration


async def seats_of(svc: ServiceProcess, channel) -> list[SeatClient]:
    return [await SeatClient(channel, f"seat-{op}", op, 2, ["cash"], capacity=2,
                             password=svc.passwords[op]).connect() for op in ("auth-1", "auth-2")]


async def test_sigint_under_load_answers_every_decision_sent_before_it(ray_session, tmp_path):
    svc = ServiceProcess(tmp_path / "data", "--stop-grace", "5").start()
    sent: list[tuple[str, int, bool]] = []  # (case id, version, sent before the stop began)
    decided: set[str] = set()
    ends: list[grpc.StatusCode | str] = []  # how each stream ended
    asked: list[grpc.StatusCode] = []
    stopping = False
    async with svc.channel() as channel:
        teller = pbg.TellerChannelStub(channel)
        seats = await seats_of(svc, channel)

        async def serve(seat: SeatClient) -> None:
            while True:
                try:
                    event = await seat.next(timeout=60)
                except EOFError:
                    ends.append("EOF")
                    return
                except grpc.aio.AioRpcError as e:
                    ends.append(e.code())
                    return
                body = event.WhichOneof("body")
                if body == "offer":
                    seat.accept(event.offer.case.case_id)
                elif body == "assigned":
                    case = event.assigned.case
                    sent.append((case.case_id, case.version, not stopping))
                    seat.decide(case.case_id, case.version, pb.APPROVE)
                elif body == "decided":
                    decided.add(event.decided.case_id)

        async def ask(worker: int) -> None:
            n = 0
            while True:
                try:
                    await teller.Authorize(withdrawal(f"s-{worker}-{n}"), timeout=10)
                    n += 1
                except grpc.aio.AioRpcError as e:
                    asked.append(e.code())
                    if e.code() != grpc.StatusCode.UNAVAILABLE or len(asked) > 50:
                        return
                    await asyncio.sleep(0.05)

        tasks = [asyncio.create_task(serve(s)) for s in seats]
        askers = [asyncio.create_task(ask(i)) for i in range(3)]
        await until(lambda: len(decided) >= 20)
        # a feed subscriber and a watcher of a case still open are told too
        auditor = session(await sign_in(channel, "auditor-1", svc.passwords["auditor-1"]))
        feed = pbg.EventFeedStub(channel).Events(pb.EventsRequest(follow=True),
                                                 credentials=auditor)
        unserved = await teller.Authorize(pb.TellerRequest(  # a category no seat here serves
            operator_id="teller-1", outlet_id="0101", terminal_id="T1",
            transaction=pb.Transaction(code="TRANSFER", amount="900000", currency="CNY",
                                       account="6222000011112222", customer_id="cust-2",
                                       idempotency_key="s-open")))
        assert unserved.outcome == pb.REQUIRED
        watch = teller.WatchCase(pb.WatchCaseRequest(case_id=unserved.case_id))
        assert not (await watch.read()).final

        async def ended(call) -> grpc.StatusCode:
            with contextlib.suppress(grpc.aio.AioRpcError):
                while await call.read() is not grpc.aio.EOF:
                    pass
            return await call.code()

        streams = asyncio.gather(ended(feed), ended(watch))
        await asyncio.sleep(0.5)
        stopping = True
        svc.signal(signal.SIGINT)
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        assert await asyncio.wait_for(streams, 30) == [grpc.StatusCode.UNAVAILABLE] * 2
        assert await asyncio.to_thread(svc.wait) == 0, "".join(svc.output)
        for t in askers:
            t.cancel()
        await asyncio.gather(*askers, return_exceptions=True)
    # every stream ended as a client understands it, never INTERNAL
    assert ends == [grpc.StatusCode.UNAVAILABLE] * 2, ends
    assert grpc.StatusCode.INTERNAL not in asked
    committed = {(cid, v - 1) for _, _, cid, v, kind, _ in journals(svc.data_dir, 1)
                 if kind in ("approved", "approved-partly")}
    before = [(cid, v) for cid, v, early in sent if early]
    assert before, "no decision was under way when the stop began"
    for case_id, version in before:  # answered, or never committed
        assert case_id in decided or (case_id, version) not in committed, case_id
    # and nothing was answered that is not in the journal
    assert {cid for cid, _ in committed} >= decided


async def test_a_subscriber_gets_every_journal_event_through_a_kill_of_the_whole_service(
        ray_session, tmp_path):
    """kill -9 of the service process under load, then a start on the same data directory:
    the subscriber, resuming from its cursor, has received exactly what the journals hold."""
    svc = ServiceProcess(tmp_path / "data", "--stop-grace", "1").start()
    auditor: dict[str, grpc.CallCredentials] = {}

    async def creds(channel):
        auditor.setdefault("c", session(await sign_in(channel, "auditor-1",
                                                      svc.passwords["auditor-1"])))
        return auditor["c"]

    feed = Subscriber(svc.channel, creds)
    async with svc.channel() as channel:
        load = Load(None, channel, await seats_of(svc, channel))
        await until(lambda: load.made >= 30)
        svc.signal(signal.SIGKILL)
        await asyncio.to_thread(svc.wait)
        auditor.clear()  # sessions are signed with a key the data directory keeps: new anyway
        svc.start()
        made = load.made
        await until(lambda: load.made >= made + 30)  # the channels' retries reach the new process
        await load.stop()
    expected = await feed.caught_up(svc.data_dir, 1)
    await feed.stop()
    assert any(r[4] == "requeued" for r in expected)  # the restart found cases in flight
    assert unique(feed.received, expected) == expected
    assert grpc.StatusCode.INTERNAL not in feed.errors
    svc.signal(signal.SIGTERM)
    with contextlib.suppress(Exception):
        await asyncio.to_thread(svc.wait)


async def test_a_start_that_fails_midway_exits_with_its_reason(ray_session, tmp_path):
    """A late step of the start fails (the image index opens after the hosts, the decision
    and audit logs): the process says why and exits; nothing it opened keeps it alive."""
    data = tmp_path / "data"
    (data / "images.sqlite").mkdir(parents=True)
    svc = ServiceProcess(data)
    with pytest.raises(RuntimeError, match="did not start"):
        svc.start()
    assert await asyncio.to_thread(svc.wait, 60) == 1
    assert f"refused: {data / 'images.sqlite'}: unable to open database file" in "".join(
        svc.output)
