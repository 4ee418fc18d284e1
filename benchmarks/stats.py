"""Statistics over a long history: the roll-ups against a full scan of the same rows, and
what keeping the roll-ups costs a case commit.

1. Generates `--days` days at `--per-day` cases a day into a case journal and a decision log
   (the real schemas; business-hours arrivals, 50 seats, 20 outlets, 10 scenes), then rolls
   them up (RollUp.refresh, the work the service does behind the case path).
2. Times three questions — a year by month, a day by hour, a month per seat — from the
   roll-ups, and the same questions answered by scanning the journal rows of the period
   (every row of the period read and folded into the same figures) in the same run; also the
   cheapest raw scan there is (SQLite counting events by kind and period, no durations).
3. Commit cost: CaseStore's grouped commit of case events as the case path makes them, next
   to the same commit also upserting their roll-up rows in the same transaction (the
   alternative to rolling up behind), interleaved.

`python -m foureyes.benchmarks.stats [--days 365] [--per-day 5000] [--dir D] [--chart F]`;
also `bash run.sh bench --only stats`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from foureyes.store.cases import CASE_SCHEMA, CaseStore
from foureyes.store.decisions import DECISION_SCHEMA
from foureyes.store.rollup import (
    SCHEMA,
    CaseContext,
    Deltas,
    JournalReader,
    RollUp,
    case_context,
    ingest_event,
)
from foureyes.store.stats import Report, Stats

SEATS = [f"seat-{i:02d}" for i in range(50)]
ORG = [(f"OUT-{b}-{i:02d}", f"BR-{b}", le) for b, le in
       (("SH", "LE-EAST"), ("HZ", "LE-EAST"), ("NJ", "LE-EAST"), ("CD", "LE-WEST"),
        ("CQ", "LE-WEST")) for i in range(4)]
SCENES = [(f"scene-{i}", f"CODE_{i}", c) for i, c in enumerate(
    ("cash", "cash", "transfer", "transfer", "wealth", "wealth", "account", "account", "care",
     "general"))]
HOURS = [1, 1, 1, 1, 1, 2, 4, 10, 30, 60, 70, 65, 40, 50, 65, 70, 60, 40, 20, 10, 6, 4, 2, 1]
REASONS = ["ID_MISMATCH", "OVER_LIMIT", "VOUCHER_MISSING", "SIGNATURE", "OTHER"]


# ---------------------------------------------------------------------- generation

def _doc(case_id: str, channel: str, outlet: tuple[str, str, str], scene: tuple[str, str, str],
         created: float, sla: int, state: str, version: int) -> str:
    units = json.dumps([outlet[0], outlet[1], outlet[2], "HQ"])
    return (f'{{"spec": {{"case_id": "{case_id}", "fingerprint": "{case_id[::-1]}", '
            f'"channel": "{channel}", "initiator": "teller-{case_id[-3:]}", '
            f'"outlet": "{outlet[0]}", "customer_id": "cust-{case_id[-5:]}", '
            f'"transaction_code": "{scene[1]}", "amount": "80000.00", "currency": "CNY", '
            f'"account_masked": "************2222", "mode": "remote", "level": 1, '
            f'"approvers": 1, "priority": 0, "sla_seconds": {sla}, "category": "{scene[2]}", '
            f'"scene": {{"id": "{scene[0]}", "name": "{scene[0]}", "category": "{scene[2]}", '
            f'"business_type": "", "review_points": ["ID document matches the holder"]}}, '
            f'"images": null, "fired": [{{"id": "rule-{scene[0]}", "reason": "amount over '
            f'the limit"}}], "rules_version": "03b0a9ac44f8", "created_at": {created}, '
            f'"units": {units}}}, "state": "{state}", "version": {version}, "seat_id": "", '
            f'"reviewer": "", "approvals": [], "reason_code": "", "reason_text": "", '
            f'"missing": [], "returned_by": "", "supplemented": [], "escalated": false, '
            f'"case_id": "{case_id}", "open": false}}')


def _case(rng: random.Random, n: int, day: float) -> tuple[list[tuple[Any, ...]], tuple[Any, ...],
                                                          list[tuple[Any, ...]]]:
    case_id = f"C{n:010d}"
    hour = rng.choices(range(24), HOURS)[0]
    t = day + hour * 3600 + rng.random() * 3600
    created = t
    channel = rng.choices(("teller", "self_service", "mobile"), (6, 2, 2))[0]
    outlet = rng.choice(ORG)
    scene = SCENES[min(int(rng.expovariate(0.35)), 9)]
    sla = rng.choice((300, 600, 900))
    events: list[tuple[str, str, str]] = [("created", "QUEUED", "{}")]
    at = [t]

    def then(mean: float, kind: str, state: str, data: str = "{}") -> None:
        nonlocal t
        t += rng.expovariate(1 / mean) * (3 if scene[0] == "scene-4" else 1)
        at.append(t)
        events.append((kind, state, data))

    fate = rng.random()
    if fate < 0.02:
        then(900, "cancelled", "CANCELLED", '{"reason": "customer left"}')
    elif fate < 0.04:
        then(3000, "escalated", "QUEUED", '{"why": "sla"}')
        then(9000, "expired", "EXPIRED")
    else:
        if rng.random() < 0.08:
            other = rng.choice(SEATS)
            then(8, "offered", "OFFERED", f'{{"seat_id": "{other}"}}')
            why = rng.choice(("declined", "offer timed out"))
            then(20, "offer-lapsed", "QUEUED", f'{{"seat_id": "{other}", "why": "{why}"}}')
        seat = rng.choice(SEATS)
        then(8, "offered", "OFFERED", f'{{"seat_id": "{seat}"}}')
        then(15, "review-started", "IN_REVIEW", f'{{"seat_id": "{seat}", "operator_id": "op-{seat}"}}')
        verdict = rng.random()
        if verdict < 0.8:
            then(180, "approved", "APPROVED", f'{{"seat_id": "{seat}"}}')
        else:
            kind, state = ("rejected", "REJECTED") if verdict < 0.9 else ("returned", "RETURNED")
            code = REASONS[min(int(rng.expovariate(0.8)), 4)]
            then(240, kind, state, f'{{"seat_id": "{seat}", "reason_code": "{code}", '
                                   f'"reason_text": ""}}')
            if kind == "returned":
                then(1200, "cancelled", "CANCELLED", '{"reason": "not supplied"}')
    rows = [(case_id, v + 1, a, k, s, d) for v, (a, (k, s, d)) in enumerate(zip(at, events, strict=True))]
    final = events[-1][1]
    doc = (case_id, final, len(events), 0, at[-1],
           _doc(case_id, channel, outlet, scene, created, sla, final, len(events)))
    facts = f'{{"channel": "{channel}", "transaction.code": "{scene[1]}", "outlet.id": "{outlet[0]}"}}'
    decisions = [(created, channel, f"k{n}", "remote", scene[0], case_id, "03b0a9ac44f8",
                  f'["rule-{scene[0]}"]', facts)]
    decisions += [(created - 1 - i, channel, f"k{n}-{i}", "none", "", "", "03b0a9ac44f8", "[]",
                   facts) for i in range(2)]
    return rows, doc, decisions


def generate(data: Path, days: int, per_day: int, end: float) -> tuple[int, int]:
    """Days up to `end` (a local midnight); returns (cases, events)."""
    data.mkdir(parents=True, exist_ok=True)
    journal = sqlite3.connect(data / "cases-0.sqlite", isolation_level=None)
    log = sqlite3.connect(data / "decisions-bench.sqlite", isolation_level=None)
    for conn, schema in ((journal, CASE_SCHEMA), (log, DECISION_SCHEMA)):
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")  # generating, not measuring
        conn.executescript(schema)
    rng = random.Random(17)
    n = events = 0
    started = time.perf_counter()
    first = dt.datetime.fromtimestamp(end) - dt.timedelta(days=days)
    for d in range(days):
        day = (first + dt.timedelta(days=d)).timestamp()
        made = [_case(rng, n + i, day) for i in range(per_day)]
        n += per_day
        rows = sorted((r for m in made for r in m[0]), key=lambda r: r[2])  # commit order
        events += len(rows)
        journal.execute("BEGIN")
        journal.executemany("INSERT INTO case_events VALUES (?, ?, ?, ?, ?, ?)", rows)
        journal.executemany("INSERT INTO cases VALUES (?, ?, ?, ?, ?, ?)", [m[1] for m in made])
        journal.execute("COMMIT")
        log.execute("BEGIN")
        log.executemany("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        sorted((x for m in made for x in m[2]), key=lambda r: r[0]))
        log.execute("COMMIT")
        if (d + 1) % 30 == 0 or d + 1 == days:
            print(f"  generated {d + 1}/{days} days, {n:,} cases, {events:,} events "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    journal.close()
    log.close()
    return n, events


# ---------------------------------------------------------------------- the full scan

def scan(data: Path, since: float, until: float, by: str, group: str) -> Report:
    """The same figures from the journal rows of the period: every event with `at` in it
    (a full scan of the table: nothing indexes `at`), folded with its case's context into the
    same deltas, summed the same way. Earlier events of cases that straddle the start are not
    read, so this is a lower bound for a raw answer."""
    journal = sqlite3.connect(f"file:{data / 'cases-0.sqlite'}?mode=ro", uri=True)
    log = sqlite3.connect(f"file:{data / 'decisions-bench.sqlite'}?mode=ro", uri=True)
    reader = JournalReader(journal)
    rows = journal.execute("SELECT rowid, case_id, version, at, kind, data FROM case_events "
                           "WHERE at >= ? AND at < ? ORDER BY rowid", (since, until)).fetchall()
    d = Deltas()
    for i in range(0, len(rows), 50_000):
        chunk = rows[i:i + 50_000]
        missing = list({r[1] for r in chunk if r[1] not in reader.contexts})
        reader._load(dict.fromkeys(missing, 1), 0)  # context from the cases table only
        for _, case_id, _v, at, kind, data_ in chunk:
            ingest_event(d, reader.contexts[case_id], at, kind, json.loads(data_))
    from foureyes.store.rollup import ingest_decision

    for at, channel, outcome, scene, code, outlet in log.execute(
            "SELECT at, channel, outcome, scene, json_extract(facts, '$.\"transaction.code\"'), "
            "json_extract(facts, '$.\"outlet.id\"') FROM decisions WHERE at >= ? AND at < ?",
            (since, until)):
        ingest_decision(d, at, channel, outcome, scene, code, outlet, None)
    mem = sqlite3.connect(":memory:", isolation_level=None)
    mem.executescript(SCHEMA)
    d.write(mem)
    journal.close()
    log.close()
    return Stats(mem).report(since, until, by, group)


def sql_count_scan(data: Path, since: float, until: float, by: str) -> int:
    fmt = {"hour": "%Y-%m-%d %H", "day": "%Y-%m-%d", "month": "%Y-%m"}[by]
    journal = sqlite3.connect(f"file:{data / 'cases-0.sqlite'}?mode=ro", uri=True)
    n = len(journal.execute(
        f"SELECT strftime('{fmt}', at, 'unixepoch', 'localtime') AS p, kind, COUNT(*) "
        "FROM case_events WHERE at >= ? AND at < ? GROUP BY p, kind", (since, until)).fetchall())
    journal.close()
    return n


def best(fn: Any, times: int = 3) -> tuple[float, Any]:
    took, out = [], None
    for _ in range(times):
        t = time.perf_counter()
        out = fn()
        took.append(time.perf_counter() - t)
    return min(took), out


# ---------------------------------------------------------------------- commit cost

async def commit_cost(tmp: Path, commits: int = 600, per_commit: int = 20) -> tuple[float, float]:
    """Seconds per grouped commit of `per_commit` case events, without and with their roll-up
    upserts in the same transaction; interleaved rounds, the median of each."""
    rng = random.Random(5)
    plain, rolled = CaseStore(tmp / "plain.sqlite"), CaseStore(tmp / "rolled.sqlite")
    for store in (plain, rolled):
        await store.open()
    rolled.db._loop_conn.executescript(SCHEMA)  # type: ignore[attr-defined]
    contexts: dict[str, CaseContext] = {}
    a_times: list[float] = []
    b_times: list[float] = []
    n = 0
    day = time.time()
    for i in range(commits):
        changes = []
        for _ in range(per_commit // 5):  # a case's life is ~5 events; commits mix cases
            rows, doc, _ = _case(rng, n, day)
            n += 1
            changes += [({"case_id": doc[0], "state": r[4], "version": r[1], "open": False,
                          "doc": doc[5]}, {"version": r[1], "at": r[2], "kind": r[3],
                                           "state": r[4], "data": json.loads(r[5])})
                        for r in rows]
        for store, out in ((plain, a_times), (rolled, b_times))[:: 1 if i % 2 else -1]:
            t = time.perf_counter()
            statements = CaseStore.statements(changes)
            if store is rolled:  # what the case host would add: the deltas, in its memory
                d = Deltas()
                for row, event in changes:
                    ctx = contexts.get(row["case_id"])
                    if ctx is None:
                        ctx = contexts[row["case_id"]] = case_context(
                            "teller", "OUT-SH-00", ["OUT-SH-00", "BR-SH", "LE-EAST", "HQ"],
                            "scene-1", "CODE_1", 600)
                    ingest_event(d, ctx, event["at"], event["kind"], event["data"])
                statements += [(sql, r) for sql, rs in [*d.statements(),
                                                         *d.by_day().statements("_day")]
                               for r in rs]
            await store.db.write(statements)
            out.append(time.perf_counter() - t)
    for store in (plain, rolled):
        await store.close()
    return statistics.median(a_times), statistics.median(b_times)


# ---------------------------------------------------------------------- the run

def main(days: int = 365, per_day: int = 5000, directory: Path | None = None,
         chart_path: Path | None = None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="foureyes-stats-", dir=directory))
    try:
        _run(tmp, days, per_day, chart_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(tmp: Path, days: int, per_day: int, chart_path: Path | None) -> None:
    data = tmp / "data"
    end = dt.datetime.combine(dt.date.today(), dt.time()).timestamp()
    print(f"(f) statistics: {days} days x {per_day:,} cases/day", flush=True)
    t = time.perf_counter()
    cases, events = generate(data, days, per_day, end)
    size = sum(f.stat().st_size for f in data.iterdir()) / 2**30
    print(f"  generated {cases:,} cases, {events:,} events, {3 * cases:,} decisions in "
          f"{time.perf_counter() - t:.0f} s, {size:.2f} GiB on disk", flush=True)
    roll = RollUp(data)
    t = time.perf_counter()
    read = roll.refresh(lambda src, n: print(f"  rolling up {src}: {n:,} rows", flush=True)
                        if n % 1_000_000 < 50_000 else None)
    took = time.perf_counter() - t
    hours = roll.conn.execute("SELECT COUNT(DISTINCT hour), COUNT(*) FROM counts").fetchone()
    stats_size = (data / "stats.sqlite").stat().st_size / 2**20
    print(f"  roll-up built behind: {read:,} rows in {took:.0f} s ({took / read * 1e6:.1f} µs a "
          f"row); {hours[1]:,} count rows over {hours[0]:,} hours ({hours[1] / hours[0]:.0f} an "
          f"hour), stats.sqlite {stats_size:.0f} MiB", flush=True)
    again = time.perf_counter()
    roll.refresh()
    print(f"  a refresh with nothing new: {(time.perf_counter() - again) * 1000:.1f} ms")
    stats = Stats(roll.conn)
    month_start = (dt.datetime.fromtimestamp(end) - dt.timedelta(days=30)).timestamp()
    questions = [("a year by month", end - days * 86400, end, "month", "all"),
                 ("a day by hour", end - 86400, end, "hour", "all"),
                 ("a month per seat", month_start, end, "day", "seat")]
    print(f"\n  {'question':<18} {'roll-up':>10} {'full scan':>11} {'ratio':>8} "
          f"{'SQL count scan':>15}")
    year: Report | None = None
    for label, since, until, by, group in questions:
        fast, rep = best(lambda s=since, u=until, b=by, g=group: stats.report(s, u, b, g))
        slow, raw = best(lambda s=since, u=until, b=by, g=group: scan(data, s, u, b, g), 1)
        counting, _ = best(lambda s=since, u=until, b=by: sql_count_scan(data, s, u, b), 1)
        same = [r.counts for r in rep.rows if r.period != rep.rows[0].period] == \
               [r.counts for r in raw.rows if r.period != raw.rows[0].period]
        print(f"  {label:<18} {fast * 1000:8.0f} ms {slow:9.1f} s {slow / fast:7.0f}x "
              f"{counting:13.1f} s   (same counts after the first period: {same})", flush=True)
        year = year or rep
    scale = 100_000 / per_day
    print(f"  at 10^5 cases/day the roll-up keeps its size (rows an hour saturate: every seat, "
          f"outlet and scene each hour); the scans grow ~{scale:.0f}x")
    plain, rolled = asyncio.run(commit_cost(tmp))
    print(f"\n  case commit of 20 events (grouped, fsync): {plain * 1e6:.0f} µs; with the roll-up "
          f"upserted in the same transaction {rolled * 1e6:.0f} µs (+{(rolled - plain) * 1e6:.0f} "
          f"µs, +{rolled / plain - 1:.0%}); rolled up behind instead: +0 on the commit, "
          f"{took / read * 1e6:.1f} µs a row later, off the case path")
    if chart_path is not None and year is not None:
        from foureyes.service.stats_cli import chart

        day_rep = stats.report(end - 86400, end, "hour", "all")
        chart(day_rep, chart_path)
        print(f"  chart of the last day: {chart_path}")
    roll.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365, help="days of history (default 365)")
    parser.add_argument("--per-day", type=int, default=5000, help="cases a day (default 5000)")
    parser.add_argument("--dir", type=Path, help="where to generate (default: a temp dir)")
    parser.add_argument("--chart", type=Path, help="write the last day's chart here (PNG)")
    args = parser.parse_args()
    main(args.days, args.per_day, args.dir, args.chart)
