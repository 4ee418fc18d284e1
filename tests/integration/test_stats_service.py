"""StatsService for real: a generated history in the service's data directory, live requests
and a seat through gRPC, a restart in the middle, and `foureyes stats --target`."""

from __future__ import annotations

import asyncio
import json
import time

import grpc
import pytest
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.service import cli
from foureyes.store.rollup import MEASURES
from foureyes.tests import stats_history as h

from tests.integration.conftest import (
    ALL_SKILLS,
    enrol,
    operator_session,
    review,
    running,
    seat_of,
)

pytestmark = pytest.mark.integration
END = h.START + h.DAYS * 86400


async def ask(svc, channel, since=h.START, until=END, by=pb.PERIOD_DAY, group=""):
    """As a supervisor: statistics are for supervisors and auditors."""
    return await pbg.StatsServiceStub(channel).GetStats(
        pb.StatsRequest(since=since, until=until, by=by, group=group),
        credentials=await operator_session(svc, channel, "manager-1", "supervisor"))


def assert_duration(d, durations):
    assert d.count == len(durations)
    if not durations:  # e.g. request → offer belongs to no seat
        return
    assert d.max_seconds == pytest.approx(max(durations))
    assert d.mean_seconds == pytest.approx(sum(durations) / len(durations))


def assert_matches_plan(report, cases, group="", value=""):
    exp, req = h.expected(cases), h.expected_requests(cases)
    (total,) = [t for t in report.totals if t.group == value]
    dim = group or "all"
    for figure in ("created", "approved", "rejected", "returned", "cancelled", "expired",
                   "escalated", "offered", "declined", "timed_out", "sla_met"):
        assert getattr(total, figure) == exp.count(dim, value, figure, h.START, END), figure
    assert total.requests == req.count(dim, value, "requests", h.START, END)
    for m in MEASURES:
        assert_duration(getattr(total, m), exp.times(dim, value, m, h.START, END))


async def test_stats_service_over_a_history_with_a_restart_in_the_middle(start_service, tmp_path):
    """The service rolls up the first half, stops; the second half lands in its journal
    while it is down (another shard's history, as a restarted host would have); started
    again, it catches up from its cursor: every figure as planned, none counted twice."""
    cases = h.plan(400, seed=11)
    data = tmp_path / "data"
    data.mkdir()
    (data / "layout.json").write_text(json.dumps({"case_shards": 1, "customer_shards": 1}))
    # every case is final, so the service's own recovery adds no events; half of them first
    await h.write(data, cases[:200])
    async with running(start_service, data_dir=data) as (svc, channel):
        first = await ask(svc, channel)
        assert_matches_plan(first, cases[:200])
    await h.write(data, cases[200:])  # while the service is down
    async with running(start_service, data_dir=data) as (svc, channel):
        report = await ask(svc, channel)
        assert_matches_plan(report, cases)
        by_branch = await ask(svc, channel, group="branch")
        assert_matches_plan(by_branch, cases, "branch", "BR-SH")
        by_seat = await ask(svc, channel, group="seat")
        assert_matches_plan(by_seat, cases, "seat", "seat-3")
        assert [r.code for r in report.reasons if r.verdict == "rejected"]
        assert report.hot_scenes and report.slow_codes
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await ask(svc, channel, since=END, until=h.START)
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await ask(svc, channel, group="teller")
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def withdrawal(key: str, amount: str):
    return pb.TellerRequest(operator_id="teller-1", outlet_id="OUT-SH-001", terminal_id="T1",
                            transaction=pb.Transaction(code="CASH_WITHDRAWAL", amount=amount,
                                                       currency="CNY", customer_id="cust-1",
                                                       idempotency_key=key))


async def test_live_requests_cases_seats_and_api_calls_are_counted(service, channel, capsys,
                                                                  monkeypatch):
    teller = pbg.TellerChannelStub(channel)
    seat = await seat_of(service, channel, "seat-1", "auth-1", 2, ALL_SKILLS).connect()
    await teller.Authorize(withdrawal("k-small", "3000"))
    d = await teller.Authorize(withdrawal("k-big", "80000"))
    with pytest.raises(grpc.aio.AioRpcError):
        await teller.Authorize(withdrawal("", "10"))  # no idempotency key
    await seat.next_of("offer")
    seat.accept(d.case_id)
    assigned = (await seat.next_of("assigned")).assigned.case
    seat.decide(d.case_id, assigned.version, pb.APPROVE)
    await seat.next_of("decided")

    now = time.time()
    report = await ask(service, channel, now - 3600, now + 3600, pb.PERIOD_HOUR)
    (total,) = report.totals
    assert (total.requests, total.required, total.created, total.approved) == (2, 1, 1, 1)
    assert total.authorization_rate == pytest.approx(0.5)
    assert total.pass_rate == 1.0 and total.request_decision.count == 1
    authorize = "/foureyes.v1.TellerChannel/Authorize"
    calls = {}
    for row in report.api:
        for code, n in row.by_status.items():
            calls[code] = calls.get(code, 0) + n
    assert calls["OK"] >= 2 and calls["INVALID_ARGUMENT"] == 1, authorize
    (by_seat,) = (await ask(service, channel, now - 3600, now + 3600, group="seat")).totals
    assert (by_seat.group, by_seat.handled, by_seat.offered, by_seat.reviews) == ("seat-1", 1, 1, 1)

    monkeypatch.setenv("FOUREYES_PASSWORD", enrol(service, "manager-1", roles=("supervisor",)))
    code = await asyncio.to_thread(cli.main, [
        "stats", "--target", service.grpc_address, "--as", "manager-1",
        "--ca", str(service.credentials.tls.ca), "--since",
        time.strftime("%Y-%m-%d %H:00", time.localtime(now - 3600)), "--by", "hour",
        "--format", "json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["totals"][0]["approved"] == 1 and printed["totals"][0]["requests"] == 2


async def test_with_postgresql_the_figures_come_from_the_journals_there(start_service,
                                                                       postgres_url, capsys):
    """The journals and decision logs are schemas of the database, not files: the roll-up
    reads them there (store/postgres.py SyncReader), SQLite's JSON paths translated."""
    async with running(start_service, database_url=postgres_url) as (svc, channel):
        teller = pbg.TellerChannelStub(channel)
        seat = await seat_of(svc, channel, "seat-pg", "auth-pg", 2, ALL_SKILLS).connect()
        await teller.Authorize(withdrawal("pg-small", "3000"))
        d = await teller.Authorize(withdrawal("pg-big", "80000"))
        await review(seat, d.case_id)
        assert not list(svc.settings.data_dir.glob("cases-*.sqlite"))  # nothing on files
        now = time.time()
        (total,) = (await ask(svc, channel, now - 3600, now + 3600, pb.PERIOD_HOUR)).totals
        assert (total.requests, total.required, total.created, total.approved) == (2, 1, 1, 1)
        (by_seat,) = (await ask(svc, channel, now - 3600, now + 3600, group="seat")).totals
        assert (by_seat.group, by_seat.handled) == ("seat-pg", 1)
        (cash,) = [t for t in (await ask(svc, channel, now - 3600, now + 3600,
                                         group="code")).totals if t.group == "CASH_WITHDRAWAL"]
        assert cash.requests == 2  # the decision log's facts, through the translated JSON path
    for suffix in ("", "-wal", "-shm"):  # the figures' cache gone: rebuilt from the database
        (svc.settings.data_dir / f"stats.sqlite{suffix}").unlink(missing_ok=True)
    code = await asyncio.to_thread(cli.main, [  # by `foureyes stats` on the stopped service's
        "stats", "--data-dir", str(svc.settings.data_dir), "--database-url", postgres_url,
        "--since", time.strftime("%Y-%m-%d %H:00", time.localtime(now - 3600)), "--by", "hour",
        "--format", "json"])
    assert code == 0
    (printed,) = json.loads(capsys.readouterr().out)["totals"]
    assert (printed["requests"], printed["approved"]) == (2, 1)
