"""The statistics service: what managers read, converted to and from protobuf."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import grpc
from foureyes.channel_adapters.auth import bearer
from foureyes.gateway.gateway import Gateway
from foureyes.protos import foureyes_pb2 as pb
from foureyes.store.rollup import COUNTS, MEASURES
from foureyes.store.stats import ApiRow, Ranked, Reason, Report, Row, Summary

PERIODS = {pb.STATS_PERIOD_UNSPECIFIED: "day", pb.PERIOD_HOUR: "hour", pb.PERIOD_DAY: "day",
           pb.PERIOD_MONTH: "month"}
PERIOD_OF = {"hour": pb.PERIOD_HOUR, "day": pb.PERIOD_DAY, "month": pb.PERIOD_MONTH}


def _duration(s: Summary) -> pb.DurationSummary:
    return pb.DurationSummary(count=s.n, mean_seconds=s.mean, p50_seconds=s.p50,
                              p90_seconds=s.p90, max_seconds=s.max)


def _row(r: Row) -> pb.StatsRow:
    row = pb.StatsRow(period=r.period, group=r.group)
    for name, n in r.counts.items():
        setattr(row, name, n)
    for name, x in r.figures().items():
        setattr(row, name, x)
    row.handled = r.handled
    for name, s in r.timings.items():
        getattr(row, name).CopyFrom(_duration(s))
    return row


def _business(r: Ranked) -> pb.BusinessRow:
    return pb.BusinessRow(name=r.name, cases=r.cases, requests=r.requests,
                          decision=_duration(r.decision))


def report_to_proto(rep: Report) -> pb.StatsReport:
    return pb.StatsReport(
        since=rep.since, until=rep.until, by=PERIOD_OF[rep.by], group=rep.group,
        rows=[_row(r) for r in rep.rows], totals=[_row(r) for r in rep.totals],
        reasons=[pb.ReasonCount(**asdict(r)) for r in rep.reasons],
        hot_scenes=[_business(r) for r in rep.hot_scenes],
        hot_codes=[_business(r) for r in rep.hot_codes],
        slow_scenes=[_business(r) for r in rep.slow_scenes],
        slow_codes=[_business(r) for r in rep.slow_codes],
        api=[pb.ApiRow(period=a.period, calls=a.calls, by_status=a.by_status,
                       success_rate=a.success_rate, latency=_duration(a.latency))
             for a in rep.api])


def _summary(d: pb.DurationSummary) -> Summary:
    return Summary(d.count, d.mean_seconds, d.p50_seconds, d.p90_seconds, d.max_seconds)


def _row_of(r: pb.StatsRow) -> Row:
    row = Row(r.period, r.group)
    row.counts = {k: getattr(r, k) for k in COUNTS}
    row.timings = {m: _summary(getattr(r, m)) for m in MEASURES}
    return row


def _ranked(rows: Any) -> list[Ranked]:
    return [Ranked(r.name, r.cases, r.requests, _summary(r.decision)) for r in rows]


def report_from_proto(rep: pb.StatsReport) -> Report:
    """What `foureyes stats --target` prints from."""
    return Report(
        since=rep.since, until=rep.until, by=PERIODS[rep.by], group=rep.group,
        rows=[_row_of(r) for r in rep.rows], totals=[_row_of(r) for r in rep.totals],
        reasons=[Reason(r.verdict, r.code, r.count) for r in rep.reasons],
        hot_scenes=_ranked(rep.hot_scenes), hot_codes=_ranked(rep.hot_codes),
        slow_scenes=_ranked(rep.slow_scenes), slow_codes=_ranked(rep.slow_codes),
        api=[ApiRow(a.period, a.calls, dict(a.by_status), _summary(a.latency)) for a in rep.api])



class StatsAdapter:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def GetStats(self, request: pb.StatsRequest,
                       context: grpc.aio.ServicerContext) -> pb.StatsReport:
        self.gateway.guard.operator(bearer(context), "supervisor", "auditor")
        report = await self.gateway.statistics(
            request.since, request.until or time.time(), PERIODS.get(request.by, "?"),
            request.group or "all", request.top or 10)
        return report_to_proto(report)
