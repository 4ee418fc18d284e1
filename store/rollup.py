"""Hourly and daily roll-ups of the case journals and decision logs, kept in `stats.sqlite`.

Each table is kept twice: by UTC hour, and by UTC day (`_day`, written with the same deltas in
the same transaction), so that a long question reads a row a day, not 24 (store/stats.py).

Built behind the case path, not inside it: every source (each shard's `case_events`, each
gateway's `decisions`) is read forward from a cursor (its SQLite rowid: rows are only ever
appended, one writer at a time, so rowids grow in commit order), and the deltas and the new
cursor are committed together in one transaction of the stats file. A crash before that commit
leaves both as they were; the next refresh reads the same rows again. Two processes refreshing
the same data directory (the service and `foureyes stats --data-dir`) take turns on the stats
file's write lock and each reads the cursor inside its own transaction, so no row counts
twice. The case commit itself pays nothing (measured in benchmarks/stats.py against the
alternative of upserting the roll-ups in the case's own transaction).

Each figure counts in the hour of the event that completes it (a case in the hour it was
created, an approval in the hour it was approved, request → decision in the decision's hour),
by the events' own `at`: a replayed or restarted shard gives the same numbers.

Dimensions: every row is kept once per grouping a manager may ask for — `all`, `channel`,
`outlet` and the units above it (`branch`, `legal_entity`, `head_office`, from the chain the
case recorded when it was created), `scene`, `code` (transaction code) and, for what a seat
did, `seat`.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foureyes.store.histogram import BUCKETS, bucket_of, timing_table

FILE = "stats.sqlite"
CHUNK = 50_000  # journal rows per stats transaction: bounds a reader's hold on the WAL
ORG_LEVELS = ("head_office", "legal_entity", "branch", "outlet")  # as in rules/files.py
DIMENSIONS = ("all", "channel", *ORG_LEVELS[::-1], "scene", "code", "seat")

# Counted figures (columns of `counts`).
COUNTS = (
    "requests",         # decisions the gateways made (fast path too)
    "required",         # of which needed authorization (a case was created)
    "refused",          # of which the rules refused
    "created",          # cases created
    "offered",          # offers made to seats
    "declined",         # offers a seat declined
    "timed_out",        # offers that timed out
    "withdrawn",        # offers taken back otherwise (supervisor, dispatcher restart)
    "reviews",          # reviews started (offers accepted)
    "approved_partly",  # first of two approvals
    "approved",         # cases approved (final)
    "rejected",
    "returned",         # returned to the channel for supplement
    "supplemented",
    "requeued",         # a seat went away or the service restarted mid-review
    "escalated",
    "cancelled",
    "expired",
    "sla_met",          # approved or rejected within the case's SLA from its creation
)
# Durations (rows of `timings`), each with sum, count, max and the histogram.
MEASURES = (
    "request_offer",   # case created → its first offer
    "offer_accept",    # an offer → the review it led to
    "accept_decision",  # review started → the seat's verdict (approve, reject, return)
    "request_decision",  # case created → approved or rejected
)
DAY = 86400
SPANS = ("", "_day")  # each table twice: by hour, and by UTC day (`hour` its first hour)


def _tables(suffix: str) -> tuple[str, str, str, str]:
    """(schema, counts upsert, timings upsert, reasons upsert) of one span's tables."""
    timings = timing_table(f"timings{suffix}", ("hour", "dim", "value", "measure"),
                           ("INTEGER", "TEXT", "TEXT", "TEXT"), ("dim", "hour", "value", "measure"))
    schema = f"""
CREATE TABLE IF NOT EXISTS counts{suffix} (
    hour INTEGER NOT NULL, dim TEXT NOT NULL, value TEXT NOT NULL,
    {", ".join(f"{c} INTEGER NOT NULL DEFAULT 0" for c in COUNTS)},
    PRIMARY KEY (dim, hour, value)) WITHOUT ROWID;
{timings.create}
CREATE TABLE IF NOT EXISTS reasons{suffix} (
    hour INTEGER NOT NULL, dim TEXT NOT NULL, value TEXT NOT NULL, verdict TEXT NOT NULL,
    code TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (dim, hour, value, verdict, code)) WITHOUT ROWID;
"""
    counts = (
        f"INSERT INTO counts{suffix} (hour, dim, value, {', '.join(COUNTS)}) "
        f"VALUES (?, ?, ?, {', '.join('?' * len(COUNTS))}) ON CONFLICT (dim, hour, value) "
        "DO UPDATE SET " + ", ".join(f"{c} = {c} + excluded.{c}" for c in COUNTS))
    reasons = (
        f"INSERT INTO reasons{suffix} (hour, dim, value, verdict, code, n) "
        "VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (dim, hour, value, verdict, code) DO UPDATE SET n = n + excluded.n")
    return schema, counts, timings.upsert, reasons


_SPAN_TABLES = {suffix: _tables(suffix) for suffix in SPANS}
SCHEMA = ("CREATE TABLE IF NOT EXISTS cursors (source TEXT PRIMARY KEY, "
          "position INTEGER NOT NULL);" + "".join(t[0] for t in _SPAN_TABLES.values()))
_COUNT_INDEX = {c: i for i, c in enumerate(COUNTS)}

Key = tuple[str, str]  # (dimension, value)
UnitsOf = Callable[[str], Sequence[str]]  # an outlet → it and the units above it


def hour_of(at: float) -> int:
    return int(at // 3600) * 3600


def org_keys(units: Sequence[str]) -> list[Key]:
    """The outlet and the units above it, most specific first (CaseSpec.units), as keys: the
    organisation has exactly one unit per level (rules/files.py), so the chain's end is the
    head office. An outlet the rules did not know stands alone."""
    if len(units) <= 1:
        return [("outlet", u) for u in units if u]
    return [(ORG_LEVELS[i], u) for i, u in enumerate(reversed(units))]


@dataclass
class Timing:
    n: int = 0
    total: float = 0.0
    longest: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    def add(self, seconds: float) -> None:
        self.n += 1
        self.total += seconds
        self.longest = max(self.longest, seconds)
        self.buckets[bucket_of(seconds)] += 1


class Deltas:
    """What a batch of events adds to the roll-ups, before it is written."""

    def __init__(self) -> None:
        self.counts: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0] * len(COUNTS))
        self.timings: dict[tuple[int, str, str, str], Timing] = defaultdict(Timing)
        self.reasons: dict[tuple[int, str, str, str, str], int] = defaultdict(int)

    def count(self, hour: int, keys: Iterable[Key], figure: str) -> None:
        i = _COUNT_INDEX[figure]
        counts = self.counts
        for dim, value in keys:
            counts[hour, dim, value][i] += 1

    def time(self, hour: int, keys: Iterable[Key], measure: str, seconds: float) -> None:
        # the hot loop of a roll-up (~9 groupings an event): the bucket once, no calls
        seconds = max(seconds, 0.0)
        k = bucket_of(seconds)
        timings = self.timings
        for dim, value in keys:
            t = timings[hour, dim, value, measure]
            t.n += 1
            t.total += seconds
            if seconds > t.longest:
                t.longest = seconds
            t.buckets[k] += 1

    def reason(self, hour: int, keys: Iterable[Key], verdict: str, code: str) -> None:
        for dim, value in keys:
            self.reasons[hour, dim, value, verdict, code] += 1

    def by_day(self) -> Deltas:
        """The same deltas summed by UTC day: long questions read 24 times fewer rows."""
        d = Deltas()
        for (hour, *rest), v in self.counts.items():
            total = d.counts[(hour - hour % DAY, *rest)]  # type: ignore[index]
            for i, n in enumerate(v):
                total[i] += n
        for (hour, *rest), t in self.timings.items():
            m = d.timings[(hour - hour % DAY, *rest)]  # type: ignore[index]
            m.n += t.n
            m.total += t.total
            m.longest = max(m.longest, t.longest)
            m.buckets = [a + b for a, b in zip(m.buckets, t.buckets, strict=True)]
        for (hour, *rest), n in self.reasons.items():
            d.reasons[(hour - hour % DAY, *rest)] += n  # type: ignore[index]
        return d

    def statements(self, suffix: str = "") -> list[tuple[str, list[tuple[Any, ...]]]]:
        _, counts, timings, reasons = _SPAN_TABLES[suffix]
        return [
            (counts, [(*k, *v) for k, v in self.counts.items()]),
            (timings, [(*k, t.n, t.total, t.longest, *t.buckets)
                       for k, t in self.timings.items()]),
            (reasons, [(*k, n) for k, n in self.reasons.items()]),
        ]

    def write(self, conn: sqlite3.Connection) -> None:
        for sql, rows in [*self.statements(), *self.by_day().statements("_day")]:
            if rows:
                conn.executemany(sql, rows)


@dataclass
class CaseContext:
    """What later events of a case need from its earlier ones."""

    keys: list[Key]  # the case's groupings (all, channel, org units, scene, code)
    sla_seconds: float
    created_at: float | None = None
    first_offer_at: float | None = None
    offered_at: float | None = None  # the offer now open, if any
    review_at: float | None = None  # the review now running, if any


def case_context(channel: str, outlet: str, units: Sequence[str], scene: str, code: str,
                 sla_seconds: float) -> CaseContext:
    keys: list[Key] = [("all", ""), ("channel", channel)]
    keys += org_keys(list(units) or ([outlet] if outlet else []))
    if scene:
        keys.append(("scene", scene))
    if code:
        keys.append(("code", code))
    return CaseContext(keys, sla_seconds)


_VERDICT_KINDS = {"approved-partly": "approved_partly", "approved": "approved",
                  "rejected": "rejected", "returned": "returned"}
_PLAIN_KINDS = {"supplemented": "supplemented", "requeued": "requeued",
                "escalated": "escalated", "cancelled": "cancelled", "expired": "expired"}
_LAPSES = {"declined": "declined", "offer timed out": "timed_out"}


def ingest_event(d: Deltas, ctx: CaseContext, at: float, kind: str, data: dict[str, Any]) -> None:
    """One journal event's contribution; `ctx` carries the case's earlier events and is
    advanced past this one."""
    hour = hour_of(at)
    keys = ctx.keys
    seat = data.get("seat_id", "")
    with_seat = [*keys, ("seat", seat)] if seat else keys
    if kind == "created":
        ctx.created_at = at
        d.count(hour, keys, "created")
    elif kind == "offered":
        ctx.offered_at = at
        if ctx.first_offer_at is None:
            ctx.first_offer_at = at
            if ctx.created_at is not None:
                d.time(hour, keys, "request_offer", at - ctx.created_at)
        d.count(hour, with_seat, "offered")
    elif kind == "offer-lapsed":
        ctx.offered_at = None
        d.count(hour, with_seat, _LAPSES.get(data.get("why", ""), "withdrawn"))
    elif kind == "review-started":
        if ctx.offered_at is not None:
            d.time(hour, with_seat, "offer_accept", at - ctx.offered_at)
        ctx.offered_at, ctx.review_at = None, at
        d.count(hour, with_seat, "reviews")
    elif kind in _VERDICT_KINDS:
        if ctx.review_at is not None:
            d.time(hour, with_seat, "accept_decision", at - ctx.review_at)
        ctx.review_at = None
        d.count(hour, with_seat, _VERDICT_KINDS[kind])
        if kind in ("rejected", "returned"):
            d.reason(hour, with_seat, kind, str(data.get("reason_code", "")))
        if kind in ("approved", "rejected") and ctx.created_at is not None:
            # the case's time, not the seat's (its own is accept → decision): per seat it
            # would add a third of the rows a month per seat reads
            took = at - ctx.created_at
            d.time(hour, keys, "request_decision", took)
            if took <= ctx.sla_seconds:
                d.count(hour, keys, "sla_met")
    elif kind in _PLAIN_KINDS:
        if kind == "requeued":
            ctx.offered_at = ctx.review_at = None
        d.count(hour, keys, _PLAIN_KINDS[kind])


def ingest_decision(d: Deltas, at: float, channel: str, outcome: str, scene: str, code: str,
                    outlet: str, units_of: UnitsOf | None) -> None:
    """One decision-log row: a request, and whether it needed authorization."""
    keys: list[Key] = [("all", ""), ("channel", channel)]
    if outlet:
        keys += org_keys((units_of(outlet) if units_of else None) or [outlet])
    if scene:
        keys.append(("scene", scene))
    if code:
        keys.append(("code", code))
    hour = hour_of(at)
    d.count(hour, keys, "requests")
    if outcome in ("remote", "onsite"):
        d.count(hour, keys, "required")
    elif outcome == "reject":
        d.count(hour, keys, "refused")


# ---------------------------------------------------------------------- reading the sources

def read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                           check_same_thread=False)  # the gateway refreshes in worker threads


_CONTEXT_SQL = (
    "SELECT case_id, json_extract(doc, '$.spec.channel'), json_extract(doc, '$.spec.outlet'), "
    "json_extract(doc, '$.spec.units'), json_extract(doc, '$.spec.scene.id'), "
    "json_extract(doc, '$.spec.transaction_code'), json_extract(doc, '$.spec.sla_seconds') "
    "FROM cases WHERE case_id IN ({})")


class JournalReader:
    """Turns one shard's journal rows into deltas, remembering the open cases' context between
    refreshes of this process. The memory is only a short cut: it is dropped whenever another
    process moved the cursor, and rebuilt from the journal itself."""

    def __init__(self, journal: Any) -> None:  # sqlite3.Connection or postgres.SyncReader
        self.journal = journal
        self.contexts: dict[str, CaseContext] = {}
        self.position = -1  # the cursor the memory is complete up to

    def ingest(self, rows: list[tuple[Any, ...]], cursor: int, d: Deltas) -> None:
        if cursor != self.position:
            self.contexts.clear()
        first: dict[str, int] = {}
        for r in rows:
            if r[1] not in self.contexts:
                first.setdefault(r[1], r[2])
        self._load(first, cursor)
        for _, case_id, _version, at, kind, data in rows:
            ctx = self.contexts[case_id]
            ingest_event(d, ctx, at, kind, json.loads(data) if data != "{}" else {})
            if kind in ("approved", "rejected", "cancelled", "expired"):
                self.contexts.pop(case_id, None)  # final: no later event needs it
        self.position = rows[-1][0] if rows else cursor

    def _load(self, first: dict[str, int], cursor: int) -> None:
        """Context for cases first seen here, `first` their first version in the chunk."""
        case_ids = list(first)
        for i in range(0, len(case_ids), 500):  # SQLite caps bound parameters per statement
            chunk = case_ids[i:i + 500]
            for cid, channel, outlet, units, scene, code, sla in self.journal.execute(
                    _CONTEXT_SQL.format(",".join("?" * len(chunk))), chunk):
                self.contexts[cid] = case_context(channel or "", outlet or "",
                                                  json.loads(units or "[]"), scene or "",
                                                  code or "", float(sla or 0))
        # cases whose earlier events are behind the cursor: replay those into the context
        for cid, version in first.items():
            ctx = self.contexts.setdefault(cid, case_context("", "", [], "", "", 0.0))
            if version == 1:
                continue
            earlier = self.journal.execute(
                "SELECT at, kind, data FROM case_events WHERE case_id = ? AND rowid <= ? "
                "ORDER BY version", (cid, cursor)).fetchall()
            scratch = Deltas()
            for at, kind, data in earlier:
                ingest_event(scratch, ctx, at, kind, json.loads(data))


class RollUp:
    """Keeps `stats.sqlite` in a data directory up to date with every shard's journal and
    every gateway's decision log: the files found there, or with `database_url` the schemas
    of that PostgreSQL database (the figures stay a file: a cache each machine can rebuild)."""

    def __init__(self, data_dir: Path, units_of: UnitsOf | None = None,
                 database_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.units_of = units_of
        self.database_url = database_url
        self.path = data_dir / FILE
        self._conn: sqlite3.Connection | None = None
        self._readers: dict[str, tuple[Any, JournalReader | None]] = {}
        self._schemas: list[str] = []
        self._listed_at = -math.inf

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")  # another process refreshing: wait
            conn.executescript(SCHEMA)
            self._conn = conn
        return self._conn

    def sources(self) -> list[str]:
        """The journals and decision logs by name: file names, or PostgreSQL schemas."""
        if self.database_url:
            from foureyes.store.postgres import journal_schemas  # asyncpg only when asked for

            # listed again once a minute, not on every refresh: a new one comes with a new
            # gateway's decision log
            if time.monotonic() - self._listed_at > 60:
                self._schemas, self._listed_at = journal_schemas(self.database_url), time.monotonic()
            return self._schemas
        return sorted([p.name for p in (*self.data_dir.glob("cases-*.sqlite"),
                                        *self.data_dir.glob("decisions-*.sqlite"))])

    def refresh(self, progress: Callable[[str, int], None] | None = None) -> int:
        """Catch up with every source; returns how many journal rows were read."""
        read = 0
        for name in self.sources():
            while True:
                n = self._refresh_chunk(name)
                read += n
                if progress and n:
                    progress(name, read)
                if n < CHUNK:
                    break
        return read

    def _reader(self, name: str) -> tuple[Any, JournalReader | None]:
        """A source's connection (sqlite3's, or store/postgres.py's SyncReader, which answers
        the same calls) and, for a journal, what remembers its open cases."""
        if name not in self._readers:
            if self.database_url:
                from foureyes.store.postgres import SyncReader

                conn: Any = SyncReader(self.database_url, name)
            else:
                conn = read_only(self.data_dir / name)
            journal = JournalReader(conn) if name.startswith("cases") else None
            self._readers[name] = (conn, journal)
        return self._readers[name]

    def _refresh_chunk(self, name: str) -> int:
        source_conn, journal = self._reader(name)
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT position FROM cursors WHERE source = ?",
                               (name,)).fetchone()
            cursor = row[0] if row else 0
            d = Deltas()
            source_conn.execute("BEGIN")  # one snapshot for the rows and their context
            try:
                if journal is not None:
                    rows = source_conn.execute(
                        "SELECT rowid, case_id, version, at, kind, data FROM case_events "
                        "WHERE rowid > ? ORDER BY rowid LIMIT ?", (cursor, CHUNK)).fetchall()
                    journal.ingest(rows, cursor, d)
                else:
                    rows = source_conn.execute(
                        "SELECT rowid, at, channel, outcome, scene, "
                        "json_extract(facts, '$.\"transaction.code\"'), "
                        "json_extract(facts, '$.\"outlet.id\"') FROM decisions "
                        "WHERE rowid > ? ORDER BY rowid LIMIT ?", (cursor, CHUNK)).fetchall()
                    for _, at, channel, outcome, scene, code, outlet in rows:
                        ingest_decision(d, at, channel, outcome, scene, code or "", outlet or "",
                                        self.units_of)
            finally:
                source_conn.execute("COMMIT")
            if rows:
                d.write(conn)
                conn.execute("INSERT INTO cursors (source, position) VALUES (?, ?) ON CONFLICT "
                             "(source) DO UPDATE SET position = excluded.position",
                             (name, rows[-1][0]))
            conn.execute("COMMIT")
            return len(rows)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if journal is not None:
                journal.position = -1  # what it remembers may include the rolled-back rows
            raise

    def close(self) -> None:
        for conn, _ in self._readers.values():
            conn.close()
        self._readers.clear()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
