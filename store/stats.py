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
from foureyes.store.histogram import BUCKETS, SUMS, percentiles
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
    def __init__(self, n: int = 0, total: float = 0.0, longest: float = 0.0,
                 buckets: Sequence[int] | None = None) -> None:
        self.n, self.total, self.longest = n, total, longest
        self.buckets = list(buckets) if buckets is not None else [0] * BUCKETS

    def add(self, n: int, total: float, longest: float, buckets: Sequence[int]) -> None:
        self.n += n
        self.total += total
        self.longest = max(self.longest, longest)
        self.buckets = [a + b for a, b in zip(self.buckets, buckets, strict=True)]

    def summary(self) -> Summary:
        if not self.n:
            return Summary()
        p50, p90 = percentiles(self.buckets, (0.5, 0.9), self.longest)
        return Summary(self.n, self.total / self.n, p50, p90, self.longest)


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
        scenes, codes = self._business("scene", top), self._business("code", top)
        return Report(
            since=float(start), until=float(end), by=by, group=group,
            rows=[r for r, _ in ordered],
            totals=sorted((t for t, _ in totals.values()), key=lambda r: r.group),
            reasons=self._reasons(top),
            hot_scenes=scenes[0], hot_codes=codes[0], slow_scenes=scenes[1], slow_codes=codes[1],
            api=self._api(start, end, by))

    def _periods(self, start: int, end: int, by: str) -> None:
        """A temporary table of the periods asked for, each a range of hours with its label,
        and within it the range of whole UTC days (d1 to d2, empty when it holds none): the
        days are read from the daily tables, the hours before and after from the hourly
        ones, and SQLite sums them, whatever the time zone's offset."""
        c = self.conn
        c.execute("CREATE TEMP TABLE IF NOT EXISTS periods (first INTEGER PRIMARY KEY, "
                  "last INTEGER NOT NULL, period TEXT NOT NULL, d1 INTEGER NOT NULL, "
                  "d2 INTEGER NOT NULL)")
        c.execute("DELETE FROM temp.periods")
        rows = []
        for first, last, name in periods(start, end, by):
            d1, d2 = -(-first // rollup.DAY) * rollup.DAY, last // rollup.DAY * rollup.DAY
            rows.append((first, last, name, *((d1, d2) if d1 < d2 else (last, last))))
        c.executemany("INSERT INTO temp.periods VALUES (?, ?, ?, ?, ?)", rows)

    def _spans(self, table: str, where: str, select: str, group_by: str) -> str:
        """Each period's rows of `table`: its leading hours, whole days, trailing hours.
        CROSS JOIN keeps the periods the outer loop, so each span is one range of the
        (dim, hour) key."""
        parts = [f"SELECT p.period AS period, x.* FROM temp.periods p CROSS JOIN {t} x "
                 f"WHERE {where} AND x.hour >= {lo} AND x.hour < {hi}"
                 for t, lo, hi in ((table, "p.first", "p.d1"), (f"{table}_day", "p.d1", "p.d2"),
                                   (table, "p.d2", "p.last"))]
        return f"SELECT {select} FROM ({' UNION ALL '.join(parts)}) GROUP BY {group_by}"

    def _rows(self, group: str) -> dict[tuple[str, str], tuple[Row, dict[str, _Merged]]]:
        out: dict[tuple[str, str], tuple[Row, dict[str, _Merged]]] = {}
        sums = ", ".join(f"SUM({k})" for k in COUNTS)
        for period, value, *counts in self.conn.execute(self._spans(
                "counts", "x.dim = :dim", f"period, value, {sums}", "period, value"),
                {"dim": group}):
            row = Row(period, value)
            row.counts = dict(zip(COUNTS, counts, strict=True))
            out[period, value] = (row, {})
        for period, value, measure, n, total, longest, *buckets in self.conn.execute(
                self._spans("timings", "x.dim = :dim", f"period, value, measure, {SUMS}",
                            "period, value, measure"), {"dim": group}):
            row, merged = out.setdefault((period, value), (Row(period, value), {}))
            mg = merged[measure] = _Merged(n, total, longest, buckets)
            row.timings[measure] = mg.summary()
        return out

    def _reasons(self, top: int) -> list[Reason]:
        """Reject and return reasons, each verdict's `top` most frequent first."""
        found = [Reason(v, c, n) for v, c, n in self.conn.execute(
            self._spans("reasons", "x.dim = 'all'", "verdict, code, SUM(n) AS total",
                        "verdict, code") + " ORDER BY verdict, total DESC, code")]
        return [r for verdict in ("rejected", "returned")
                for r in [x for x in found if x.verdict == verdict][:top]]

    def _business(self, dim: str, top: int) -> tuple[list[Ranked], list[Ranked]]:
        """(hot, slow): by cases, most first; by mean request → decision, slowest first."""
        volume = {value: (created, requests) for value, created, requests in self.conn.execute(
            self._spans("counts", "x.dim = :dim", "value, SUM(created), SUM(requests)", "value"),
            {"dim": dim})}
        times: dict[str, Summary] = {}
        for value, n, total, longest, *buckets in self.conn.execute(
                self._spans("timings", "x.dim = :dim AND x.measure = 'request_decision'",
                            f"value, {SUMS}", "value"), {"dim": dim}):
            times[value] = _Merged(n, total, longest, buckets).summary()
        ranked = [Ranked(v, created, requests, times.get(v, Summary()))
                  for v, (created, requests) in volume.items()]
        hot = sorted(ranked, key=lambda r: (-r.cases, -r.requests, r.name))
        slow = sorted((r for r in ranked if r.decision.n), key=lambda r: (-r.decision.mean, r.name))
        return hot[:top], slow[:top]

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
