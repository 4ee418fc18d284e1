"""The figures managers read, from the hourly roll-ups (store/rollup.py) and the gateways'
API counters (store/api_calls.py): volume, pass and return rates, timeliness, hot and slow
business, per seat, API monitoring — for any whole hours, by hour, day or month (local
time), grouped by one dimension."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from foureyes.errors import InvalidRequest
from foureyes.store import rollup
from foureyes.store.histogram import BUCKETS, SUMS, percentile
from foureyes.store.rollup import COUNTS, DIMENSIONS, MEASURES

BY = ("hour", "day", "month")
_LABEL = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "month": "%Y-%m"}
MAX_HOURS = 24 * 366 * 10


@dataclass(frozen=True)
class Summary:
    """A duration's distribution in seconds: p50 and p90 from the merged buckets (within
    histogram.RESOLUTION), mean and max exact."""

    n: int = 0
    mean: float = 0.0
    p50: float = 0.0
    p90: float = 0.0
    max: float = 0.0


class _Merged:
    def __init__(self) -> None:
        self.n, self.total, self.longest = 0, 0.0, 0.0
        self.buckets = [0] * BUCKETS

    def add(self, n: int, total: float, longest: float, buckets: Sequence[int]) -> None:
        self.n += n
        self.total += total
        self.longest = max(self.longest, longest)
        self.buckets = [a + b for a, b in zip(self.buckets, buckets, strict=True)]

    def summary(self) -> Summary:
        if not self.n:
            return Summary()
        return Summary(self.n, self.total / self.n, percentile(self.buckets, 0.5, self.longest),
                       percentile(self.buckets, 0.9, self.longest), self.longest)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass
class Row:
    """One period and group value; `period` is "total" for the whole selection."""

    period: str
    group: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    timings: dict[str, Summary] = field(default_factory=lambda: dict.fromkeys(MEASURES, Summary()))

    @property
    def verdicts(self) -> int:
        """Seat verdicts that ended a review's question: approved (finally), rejected, returned."""
        c = self.counts
        return c["approved"] + c["rejected"] + c["returned"]

    @property
    def handled(self) -> int:
        """A seat's verdicts: approvals (first of two too), rejections, returns."""
        c = self.counts
        return c["approved"] + c["approved_partly"] + c["rejected"] + c["returned"]

    def figures(self) -> dict[str, float]:
        c = self.counts
        return {
            "authorization_rate": _share(c["required"], c["requests"]),
            "pass_rate": _share(c["approved"], self.verdicts),
            "return_rate": _share(c["returned"], self.verdicts),
            "sla_met_share": _share(c["sla_met"], c["approved"] + c["rejected"]),
        }

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "group": self.group, **self.counts, **self.figures(),
                "handled": self.handled,
                "timings": {m: asdict(s) for m, s in self.timings.items()}}


@dataclass(frozen=True)
class Ranked:
    name: str
    cases: int
    requests: int
    decision: Summary  # request → decision


@dataclass(frozen=True)
class Reason:
    verdict: str  # rejected | returned
    code: str
    count: int


@dataclass
class ApiRow:
    period: str
    calls: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    latency: Summary = Summary()

    @property
    def success_rate(self) -> float:
        return _share(self.by_status.get("OK", 0), self.calls)


@dataclass
class Report:
    since: float
    until: float
    by: str
    group: str
    rows: list[Row]
    totals: list[Row]  # one per group value, over the whole selection
    reasons: list[Reason]
    hot_scenes: list[Ranked]
    hot_codes: list[Ranked]
    slow_scenes: list[Ranked]
    slow_codes: list[Ranked]
    api: list[ApiRow]

    def to_dict(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until, "by": self.by, "group": self.group,
                "rows": [r.to_dict() for r in self.rows],
                "totals": [r.to_dict() for r in self.totals],
                "reasons": [asdict(r) for r in self.reasons],
                **{name: [asdict(r) for r in getattr(self, name)]
                   for name in ("hot_scenes", "hot_codes", "slow_scenes", "slow_codes")},
                "api": [{"period": a.period, "calls": a.calls, "by_status": a.by_status,
                         "success_rate": a.success_rate, "latency": asdict(a.latency)}
                        for a in self.api]}


def check(since: float, until: float, by: str, group: str) -> tuple[int, int]:
    """The whole hours the question covers: since rounded down, until rounded up."""
    if by not in BY:
        raise InvalidRequest(f"by must be one of {', '.join(BY)}, not {by!r}")
    if group not in DIMENSIONS:
        raise InvalidRequest(f"group must be one of {', '.join(DIMENSIONS)}, not {group!r}")
    if not (math.isfinite(since) and math.isfinite(until)):
        raise InvalidRequest("since and until must be times")
    if since >= until:
        raise InvalidRequest("since must be before until")
    start, end = rollup.hour_of(since), math.ceil(until / 3600) * 3600
    if (end - start) // 3600 > MAX_HOURS:
        raise InvalidRequest("at most ten years at a time")
    return start, end


def label(hour: int, by: str) -> str:
    return dt.datetime.fromtimestamp(hour).strftime(_LABEL[by])


def periods(start: int, end: int, by: str) -> list[tuple[int, int, str]]:
    """(first hour, last hour + 3600, label) of each period from start to end."""
    out: list[tuple[int, int, str]] = []
    hour = start
    while hour < end:
        name = label(hour, by)
        step = {"hour": 3600, "day": 20 * 3600, "month": 27 * 86400}[by]  # surely inside
        nxt = min(hour + step, end)
        while label(nxt - 3600, by) != name:  # overshot a period that began part-way
            nxt -= 3600
        while nxt < end and label(nxt, by) == name:  # walk to the period's end
            nxt += 3600
        out.append((hour, nxt, name))
        hour = nxt
    return out


class Stats:
    """Queries over a roll-up database (an open connection to `stats.sqlite`) and the API
    counter files beside it."""

    def __init__(self, conn: sqlite3.Connection, api_files: Iterable[Path] = ()) -> None:
        self.conn = conn
        self.api_files = list(api_files)

    def report(self, since: float, until: float, by: str = "day", group: str = "all",
               top: int = 10) -> Report:
        start, end = check(since, until, by, group)
        self._periods(start, end, by)
        rows = self._rows(group)
        totals: dict[str, tuple[Row, dict[str, _Merged]]] = {}
        for row, merged in rows.values():
            total, tm = totals.setdefault(row.group, (Row("total", row.group), {}))
            for k, n in row.counts.items():
                total.counts[k] += n
            for m, mg in merged.items():
                tm.setdefault(m, _Merged()).add(mg.n, mg.total, mg.longest, mg.buckets)
        for total, tm in totals.values():
            total.timings.update({m: mg.summary() for m, mg in tm.items()})
        ordered = sorted(rows.values(), key=lambda rm: (rm[0].period, rm[0].group))
        return Report(
            since=float(start), until=float(end), by=by, group=group,
            rows=[r for r, _ in ordered],
            totals=sorted((t for t, _ in totals.values()), key=lambda r: r.group),
            reasons=self._reasons(top),
            hot_scenes=self._business("scene", top, slow=False),
            hot_codes=self._business("code", top, slow=False),
            slow_scenes=self._business("scene", top, slow=True),
            slow_codes=self._business("code", top, slow=True),
            api=self._api(start, end, by))

    def _periods(self, start: int, end: int, by: str) -> None:
        """A temporary table of the periods asked for, each a range of hours with its label:
        the roll-ups are joined with it and summed by SQLite, whatever the time zone's offset
        (local midnights and month starts found by walking the hours once per period)."""
        c = self.conn
        c.execute("CREATE TEMP TABLE IF NOT EXISTS periods (first INTEGER PRIMARY KEY, "
                  "last INTEGER NOT NULL, period TEXT NOT NULL)")
        c.execute("DELETE FROM temp.periods")
        c.executemany("INSERT INTO temp.periods VALUES (?, ?, ?)", periods(start, end, by))

    def _rows(self, group: str) -> dict[tuple[str, str], tuple[Row, dict[str, _Merged]]]:
        out: dict[tuple[str, str], tuple[Row, dict[str, _Merged]]] = {}
        sums = ", ".join(f"SUM(c.{k})" for k in COUNTS)
        for period, value, *counts in self.conn.execute(
                f"SELECT p.period, c.value, {sums} FROM temp.periods p JOIN counts c "
                "ON c.dim = ? AND c.hour >= p.first AND c.hour < p.last GROUP BY p.period, c.value",
                (group,)):
            row = Row(period, value)
            row.counts = dict(zip(COUNTS, counts, strict=True))
            out[period, value] = (row, {})
        for period, value, measure, n, total, longest, *buckets in self.conn.execute(
                f"SELECT p.period, t.value, t.measure, {SUMS} FROM temp.periods p JOIN timings t "
                "ON t.dim = ? AND t.hour >= p.first AND t.hour < p.last "
                "GROUP BY p.period, t.value, t.measure", (group,)):
            row, merged = out.setdefault((period, value), (Row(period, value), {}))
            mg = merged[measure] = _Merged()
            mg.add(n, total, longest, buckets)
            row.timings[measure] = mg.summary()
        return out

    def _reasons(self, top: int) -> list[Reason]:
        """Reject and return reasons, each verdict's `top` most frequent first."""
        found = [Reason(v, c, n) for v, c, n in self.conn.execute(
            "SELECT r.verdict, r.code, SUM(r.n) AS total FROM temp.periods p JOIN reasons r "
            "ON r.dim = 'all' AND r.hour >= p.first AND r.hour < p.last "
            "GROUP BY r.verdict, r.code "
            "ORDER BY r.verdict, total DESC, r.code")]
        return [r for verdict in ("rejected", "returned")
                for r in [x for x in found if x.verdict == verdict][:top]]

    def _business(self, dim: str, top: int, slow: bool) -> list[Ranked]:
        volume = {value: (created, requests) for value, created, requests in self.conn.execute(
            "SELECT c.value, SUM(c.created), SUM(c.requests) FROM temp.periods p JOIN counts c "
            "ON c.dim = ? AND c.hour >= p.first AND c.hour < p.last GROUP BY c.value",
            (dim,))}
        times: dict[str, Summary] = {}
        for value, n, total, longest, *buckets in self.conn.execute(
                f"SELECT t.value, {SUMS} FROM temp.periods p JOIN timings t ON t.dim = ? "
                "AND t.hour >= p.first AND t.hour < p.last AND t.measure = 'request_decision' "
                "GROUP BY t.value", (dim,)):
            mg = _Merged()
            mg.add(n, total, longest, buckets)
            times[value] = mg.summary()
        ranked = [Ranked(v, created, requests, times.get(v, Summary()))
                  for v, (created, requests) in volume.items()]
        if slow:
            ranked = [r for r in ranked if r.decision.n]
            ranked.sort(key=lambda r: (-r.decision.mean, r.name))
        else:
            ranked.sort(key=lambda r: (-r.cases, -r.requests, r.name))
        return ranked[:top]

    def _api(self, start: int, end: int, by: str) -> list[ApiRow]:
        rows: dict[str, ApiRow] = {}
        merged: dict[str, _Merged] = {}
        for path in self.api_files:
            conn = rollup.read_only(path)
            try:
                found = conn.execute(
                    f"SELECT hour, code, {SUMS} FROM api_calls WHERE hour >= ? AND hour < ? "
                    "GROUP BY hour, code", (start, end)).fetchall()
            finally:
                conn.close()
            for hour, code, n, total, longest, *buckets in found:
                period = label(hour, by)
                row = rows.setdefault(period, ApiRow(period))
                row.calls += n
                row.by_status[code] = row.by_status.get(code, 0) + n
                merged.setdefault(period, _Merged()).add(n, total, longest, buckets)
        for period, row in rows.items():
            row.latency = merged[period].summary()
        return [rows[p] for p in sorted(rows)]
