"""SQLite storage: one database file per shard, WAL, synchronous=FULL, grouped commits.

Writers hand their statements to `Database.write` and wait; every write waiting when a commit
starts joins that commit, so many cases share one fsync (DESIGN.md: ~4.8k single-row commits/s
against 200k+ rows/s batched).

Where the commit runs: an actor host's stores commit on the host's event-loop thread, and only
reads go through aiosqlite's thread. A case creation and a customer observation each wait for a
commit before the channel is answered, and the hop to aiosqlite's thread and back cost a busy
host ~2 ms (the thread waits for the GIL, the loop for the thread's wake-up) around a ~0.25 ms
fsync. Interleaved runs at 100 cases/s, 4 pairs: a case creation inside its host took 1.3-3.2
ms (p50) this way against 3.3-5.2 ms, request→offer p99 21-43 ms against 36-65 ms. The loop is
held while the fsync runs; messages arriving meanwhile wait in the socket and form the next
group. The gateway's decision log, which nobody waits for, keeps aiosqlite's thread: the
gateway's loop serves every channel and seat.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterable, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

import aiosqlite

Statement = tuple[str, Sequence[Any]]


def _commit(conn: sqlite3.Connection, flat: list[Statement]) -> None:
    """One group commit, run whole in aiosqlite's thread."""
    try:
        conn.execute("BEGIN")
        for sql, rows in groupby(flat, key=lambda s: s[0]):
            conn.executemany(sql, [r for _, r in rows])
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class Database:
    def __init__(self, path: Path, schema: str, commit_on_loop: bool = False) -> None:
        self.path = path
        self._schema = schema
        self._commit_on_loop = commit_on_loop
        self._conn: aiosqlite.Connection | None = None
        self._loop_conn: sqlite3.Connection | None = None  # commits and key lookups
        self._pending: list[tuple[list[Statement], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.commits = 0

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        await self._conn.execute("PRAGMA journal_mode=WAL")
        await self._conn.execute("PRAGMA synchronous=FULL")
        await self._conn.executescript(self._schema)
        if self._commit_on_loop:
            self._loop_conn = sqlite3.connect(self.path, isolation_level=None)
            self._loop_conn.execute("PRAGMA synchronous=FULL")  # a setting per connection

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError(f"database {self.path} is not open")
        return self._conn

    async def write(self, statements: list[Statement]) -> None:
        """Return once the statements are committed and fsynced."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((statements, fut))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await fut

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # writes made in this turn of the loop join the first group
        while self._pending:
            batch, self._pending = self._pending, []
            flat = [s for statements, _ in batch for s in statements]
            try:
                if self._loop_conn is not None:
                    _commit(self._loop_conn, flat)
                else:
                    # One hop to aiosqlite's thread for the whole commit, not one per statement
                    # (BEGIN, each executemany, COMMIT): each hop wakes a thread and the event
                    # loop. aiosqlite has no public call for this; its version is pinned.
                    await self.conn._execute(_commit, self.conn._conn, flat)  # type: ignore[no-untyped-call]
                self.commits += 1
            except Exception as e:  # rolled back; every waiter of this group learns of it
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                continue
            for _, fut in batch:
                if not fut.done():
                    fut.set_result(None)

    async def read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.conn.execute(sql, args) as cur:
            return [tuple(row) for row in await cur.fetchall()]

    def look_up(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read by key, done at once on the loop's own connection (a database that commits
        on the loop): it takes ~0.1 ms, where the hop to aiosqlite's thread and back took ~4 ms
        in a busy host (measured on the case path at 100 cases/s), and a case creation waits
        for one. It sees what is committed."""
        if self._loop_conn is None:
            raise RuntimeError(f"database {self.path} is not open for reads on the loop")
        return self._loop_conn.execute(sql, args).fetchall()

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
        if self._loop_conn is not None:
            self._loop_conn.close()
            self._loop_conn = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


CASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    case_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    open INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_open ON cases(open) WHERE open = 1;
CREATE TABLE IF NOT EXISTS case_events (
    case_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (case_id, version)
);
"""


class CaseStore:
    """Cases as an append-only event journal plus a current-state row per case."""

    def __init__(self, path: Path) -> None:
        self.db = Database(path, CASE_SCHEMA, commit_on_loop=True)

    async def open(self) -> None:
        await self.db.open()

    async def save(self, changes: Iterable[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Each change is (current-state row, event); all land in one grouped commit. A row
        (Case.to_row) has case_id, state, version, open and `doc`, the case document as JSON."""
        statements: list[Statement] = []
        for row, event in changes:
            statements.append((
                "INSERT INTO case_events (case_id, version, at, kind, state, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (row["case_id"], event["version"], event["at"], event["kind"], event["state"],
                 json.dumps(event.get("data", {}), ensure_ascii=False)),
            ))
            statements.append((
                "INSERT INTO cases (case_id, state, version, open, updated_at, doc) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(case_id) DO UPDATE SET state=excluded.state, "
                "version=excluded.version, open=excluded.open, updated_at=excluded.updated_at, "
                "doc=excluded.doc",
                (row["case_id"], row["state"], row["version"], int(row["open"]), event["at"],
                 row["doc"]),
            ))
        await self.db.write(statements)

    async def open_cases(self) -> list[dict[str, Any]]:
        rows = await self.db.read("SELECT doc FROM cases WHERE open = 1")
        return [json.loads(r[0]) for r in rows]

    def get(self, case_id: str) -> dict[str, Any] | None:
        rows = self.db.look_up("SELECT doc FROM cases WHERE case_id = ?", (case_id,))
        return json.loads(rows[0][0]) if rows else None

    def get_many(self, case_ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(case_ids), 500):  # SQLite caps bound parameters per statement
            chunk = case_ids[i:i + 500]
            rows = self.db.look_up(
                f"SELECT case_id, doc FROM cases WHERE case_id IN ({','.join('?' * len(chunk))})",
                chunk)
            found.update((cid, json.loads(doc)) for cid, doc in rows)
        return found

    async def events(self, case_id: str) -> list[dict[str, Any]]:
        rows = await self.db.read(
            "SELECT version, at, kind, state, data FROM case_events WHERE case_id = ? ORDER BY version",
            (case_id,))
        return [{"version": v, "at": at, "kind": k, "state": s, "data": json.loads(d)}
                for v, at, k, s, d in rows]

    async def close(self) -> None:
        await self.db.close()


CUSTOMER_SCHEMA = """
CREATE TABLE IF NOT EXISTS customer_tx (
    customer_id TEXT NOT NULL,
    key TEXT NOT NULL,
    at REAL NOT NULL,
    counters TEXT NOT NULL,
    PRIMARY KEY (customer_id, key)
);
CREATE INDEX IF NOT EXISTS customer_tx_at ON customer_tx(customer_id, at);
"""


class CustomerStore:
    """Each customer's recent transactions, as far as the history counters need them."""

    def __init__(self, path: Path) -> None:
        self.db = Database(path, CUSTOMER_SCHEMA, commit_on_loop=True)

    async def open(self) -> None:
        await self.db.open()

    async def record(self, rows: list[tuple[str, str, float, dict[str, float]]]) -> None:
        await self.db.write([(
            "INSERT OR IGNORE INTO customer_tx (customer_id, key, at, counters) VALUES (?, ?, ?, ?)",
            (cid, key, at, json.dumps(counters)),
        ) for cid, key, at, counters in rows])

    async def since(self, customer_ids: list[str], since: float
                    ) -> list[tuple[str, str, float, dict[str, float]]]:
        marks = ",".join("?" * len(customer_ids))
        rows = await self.db.read(
            f"SELECT customer_id, key, at, counters FROM customer_tx "
            f"WHERE customer_id IN ({marks}) AND at >= ? ORDER BY at", (*customer_ids, since))
        return [(c, k, at, json.loads(js)) for c, k, at, js in rows]

    async def close(self) -> None:
        await self.db.close()


DECISION_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    at REAL NOT NULL,
    channel TEXT NOT NULL,
    request_key TEXT NOT NULL,
    outcome TEXT NOT NULL,
    scene TEXT NOT NULL,
    case_id TEXT NOT NULL,
    rules_version TEXT NOT NULL,
    fired TEXT NOT NULL,
    facts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_at ON decisions(at);
"""

FLUSH_SECONDS = 0.1


class DecisionLog:
    """Every decision a gateway made, with the facts the rules saw and the rule-set version,
    for audit and for replaying a candidate rule set against real traffic.

    Written behind the answer, a batch every FLUSH_SECONDS: a decision that needed a case is
    durable in the case store before the channel hears of it; this log is the record of all
    of them, and a crash loses at most its last batch.
    """

    def __init__(self, path: Path) -> None:
        self.db = Database(path, DECISION_SCHEMA)
        self._rows: list[tuple[Any, ...]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await self.db.open()

    def record(self, at: float, channel: str, request_key: str, outcome: str, scene: str,
               case_id: str, rules_version: str, fired: list[str], facts: dict[str, Any]) -> None:
        self._rows.append((at, channel, request_key, outcome, scene, case_id, rules_version,
                           json.dumps(fired), json.dumps(facts, ensure_ascii=False)))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        rows, self._rows = self._rows, []
        if rows:
            await self.db.write([(
                "INSERT INTO decisions (at, channel, request_key, outcome, scene, case_id, "
                "rules_version, fired, facts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
                for row in rows])

    async def since(self, start: float, end: float = float("inf")) -> list[dict[str, Any]]:
        rows = await self.db.read(
            "SELECT at, channel, request_key, outcome, scene, case_id, rules_version, fired, facts "
            "FROM decisions WHERE at >= ? AND at < ? ORDER BY at", (start, end))
        return [{"at": at, "channel": ch, "request_key": key, "outcome": outcome, "scene": scene,
                 "case_id": case_id, "rules_version": version, "fired": json.loads(fired),
                 "facts": json.loads(facts)}
                for at, ch, key, outcome, scene, case_id, version, fired, facts in rows]

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
        await self.flush()
        await self.db.close()
