"""The authorization center for real: races, dropped seats, heartbeats, SLA escalation and what
supervisors may do, through the seat stream of a running service."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import grpc
import pytest
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.rules.book import DEFAULT_RULES
from foureyes.service.seat_client import SeatClient

from tests.integration.conftest import running, seat_of

pytestmark = pytest.mark.integration


def withdrawal(key: str, amount: str = "60000") -> pb.TellerRequest:
    return pb.TellerRequest(operator_id="teller-1", outlet_id="0101", terminal_id="T1",
                            transaction=pb.Transaction(code="CASH_WITHDRAWAL", amount=amount,
                                                       customer_id=f"cust-{key}",
                                                       idempotency_key=key))


def seat(svc, channel: grpc.aio.Channel, name: str, **kw) -> SeatClient:
    return seat_of(svc, channel, f"seat-{name}", f"auth-{name}", 2, ["cash"], **kw)


async def in_review(svc, channel: grpc.aio.Channel, name: str, key: str
                    ) -> tuple[SeatClient, str]:
    """A seat that has accepted a fresh case and is reviewing it."""
    reviewer = await seat(svc, channel, name).connect()
    d = await pbg.TellerChannelStub(channel).Authorize(withdrawal(key))
    assert (await reviewer.next_of("offer")).offer.case.case_id == d.case_id
    reviewer.accept(d.case_id)
    await reviewer.next_of("assigned")
    return reviewer, d.case_id


async def states(channel: grpc.aio.Channel, case_id: str) -> list[int]:
    teller = pbg.TellerChannelStub(channel)
    return [u.state async for u in teller.WatchCase(pb.WatchCaseRequest(case_id=case_id))]


async def test_two_seats_racing_to_accept_one_case_only_one_gets_it(start_service):
    async with running(start_service, offer_timeout=1.0) as (svc, channel):
        a = await seat(svc, channel, "race-a").connect()
        d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("race-1"))
        assert (await a.next_of("offer")).offer.case.case_id == d.case_id
        b = await seat(svc, channel, "race-b").connect()
        await a.next_of("revoked", timeout=5)  # a let it time out; now b holds the offer
        assert (await b.next_of("offer", timeout=5)).offer.case.case_id == d.case_id
        a.accept(d.case_id)  # late, and at the same moment as b
        b.accept(d.case_id)
        lost = (await a.next_of("error")).error
        won = (await b.next_of("assigned")).assigned.case
        assert lost.case_id == d.case_id and lost.code == "FAILED_PRECONDITION"
        assert won.case_id == d.case_id
        await a.close()
        await b.close()


async def test_a_seat_dropping_mid_review_gets_its_case_back_within_the_grace_time(start_service):
    async with running(start_service, review_grace=30.0) as (svc, channel):
        a, case_id = await in_review(svc, channel, "drop-a", "drop-1")
        await a.close()  # the network goes; the seat comes back in time
        again = await seat(svc, channel, "drop-a").connect()
        case = (await again.next_of("assigned")).assigned.case
        assert case.case_id == case_id
        again.decide(case.case_id, case.version, pb.APPROVE)
        assert (await again.next_of("decided")).decided.state == pb.APPROVED
        assert pb.QUEUED not in (await states(channel, case_id))[1:]
        await again.close()


async def test_a_seat_that_does_not_come_back_loses_the_case_after_the_grace_time(start_service):
    async with running(start_service, review_grace=1.0) as (svc, channel):
        a, case_id = await in_review(svc, channel, "gone-a", "gone-1")
        b = await seat(svc, channel, "gone-b").connect()
        dropped = time.monotonic()
        await a.close()
        offer = (await b.next_of("offer", timeout=10)).offer.case
        waited = time.monotonic() - dropped
        assert offer.case_id == case_id
        assert waited >= 0.9  # held for the grace time, then queued again at once
        await b.close()


async def test_a_silent_seat_is_logged_out_at_its_heartbeat_timeout(start_service):
    async with running(start_service, seat_heartbeat_timeout=1.0) as (svc, channel):
        silent = await seat(svc, channel, "quiet", heartbeats=False).connect()
        beating = await seat(svc, channel, "beating").connect()
        await asyncio.sleep(1.5)  # past the timeout: only the silent seat is logged out
        error = (await silent.next_of("error", timeout=5)).error
        assert error.code == "DEADLINE_EXCEEDED" and "heartbeat" in error.message
        with pytest.raises(EOFError):
            await silent.next()
        d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("beat-1"))
        assert (await beating.next_of("offer")).offer.case.case_id == d.case_id
        await silent.close()
        await beating.close()


def quick_sla_rules(tmp_path: Path) -> Path:
    target = tmp_path / "quick-sla"
    shutil.copytree(DEFAULT_RULES, target)
    triggers = target / "triggers.yaml"
    triggers.write_text(triggers.read_text().replace(  # the cash table's rows
        "    defaults: {sla_seconds: 300}\n", "    defaults: {sla_seconds: 1}\n"))
    (target / "triggers_test.yaml").unlink()  # they pin the bundled SLA
    return target


async def test_a_case_waiting_past_its_sla_is_escalated_to_supervisors(start_service, tmp_path):
    async with running(start_service, rules=quick_sla_rules(tmp_path)) as (svc, channel):
        boss = await seat_of(svc, channel, "sup", "sup-1", 3, [], supervisor=True).connect()
        teller = pbg.TellerChannelStub(channel)
        d = await teller.Authorize(withdrawal("sla-1"))
        assert d.sla_seconds == 1
        notice = (await boss.next_of("escalation", timeout=5)).escalation
        assert notice.case_id == d.case_id and "SLA" in notice.reason
        assert notice.case.scene.id == "cash-withdrawal"
        newer = await teller.Authorize(withdrawal("sla-2", "60001"))
        a = await seat(svc, channel, "sla-a").connect()  # escalated first, though the other is newer
        assert (await a.next_of("offer")).offer.case.case_id == d.case_id
        assert newer.case_id
        await boss.close()
        await a.close()


async def test_a_supervisor_reassigns_takes_back_and_sees_the_board(start_service):
    async with running(start_service) as (svc, channel):
        boss = await seat_of(svc, channel, "sup", "sup-1", 3, [], supervisor=True).connect()
        a, case_id = await in_review(svc, channel, "sv-a", "sv-1")
        b = await seat(svc, channel, "sv-b").connect()

        boss.view_board()
        board = (await boss.next_of("board")).board
        rows = {s.seat_id: s for s in board.seats}
        assert [(t.case_id, t.state) for t in rows["seat-sv-a"].tasks] == [(case_id, pb.IN_REVIEW)]
        assert rows["seat-sv-a"].presence == pb.BUSY and rows["seat-sv-b"].presence == pb.AVAILABLE
        assert rows["sup"].supervisor

        boss.reassign(case_id, "seat-sv-b")
        moved = (await boss.next_of("moved")).moved
        assert (moved.from_seat, moved.to_seat) == ("seat-sv-a", "seat-sv-b")
        revoked = (await a.next_of("revoked")).revoked
        assert revoked.case_id == case_id and "reassigned" in revoked.reason
        assert (await b.next_of("offer")).offer.case.case_id == case_id

        boss.take_back(case_id)
        assert (await boss.next_of("moved")).moved.from_seat == "seat-sv-b"
        assert "taken back" in (await b.next_of("revoked")).revoked.reason
        # other seats come first: a gets it again, not b
        assert (await a.next_of("offer")).offer.case.case_id == case_id

        a.view_board()  # an ordinary seat may not
        assert (await a.next_of("error")).error.code == "PERMISSION_DENIED"
        boss.reassign(case_id, "seat-nobody")
        assert (await boss.next_of("error")).error.code == "NOT_FOUND"
        for s in (boss, a, b):
            await s.close()
