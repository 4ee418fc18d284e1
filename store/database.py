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
import sqlite3
from collections.abc import Sequence
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
