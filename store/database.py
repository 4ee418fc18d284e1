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
import contextlib
import os
import sqlite3
from collections.abc import Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

import aiosqlite
from foureyes.errors import StoreUnavailable
from foureyes.store.chain import CHAIN_SCHEMA, INSERT, INSERT_CHECKPOINT, Chain, Cover

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
    dialect = "sqlite"

    def __init__(self, path: Path, schema: str, commit_on_loop: bool = False,
                 chain: Chain | None = None) -> None:
        """`chain`: the audit chain of this file; each write's `covers` become its entries, in
        the same transaction (store/chain.py)."""
        self.path = path
        self.label = path.name  # what messages call this database
        self._schema = schema + (CHAIN_SCHEMA if chain is not None else "")
        self.chain = chain
        self._commit_on_loop = commit_on_loop
        self._conn: aiosqlite.Connection | None = None
        self._loop_conn: sqlite3.Connection | None = None  # commits and key lookups
        self._pending: list[tuple[list[Statement], list[Cover], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.commits = 0
        self._force_checkpoint = False

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = await aiosqlite.connect(self.path, isolation_level=None)
            await self._conn.execute("PRAGMA journal_mode=WAL")
            await self._conn.execute("PRAGMA synchronous=FULL")
            await self._conn.executescript(self._schema)
        except (OSError, sqlite3.Error) as e:
            await self.close()
            raise StoreUnavailable(f"{self.path}: {e}") from e
        # data files readable by the owner only: they hold the journals (personal fields are
        # sealed, but the rest is the bank's too); the WAL and shm files follow the database's
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(f"{self.path}{suffix}", 0o600)
        if self.chain is not None:
            async with self._conn.execute(
                    "SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1") as cur:
                last = await cur.fetchone()
            if last is not None:
                self.chain.resume(int(last[0]), str(last[1]))
        if self._commit_on_loop:
            self._loop_conn = sqlite3.connect(self.path, isolation_level=None)
            self._loop_conn.execute("PRAGMA synchronous=FULL")  # a setting per connection

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError(f"database {self.path} is not open")
        return self._conn

    async def write(self, statements: list[Statement], covers: list[Cover] | None = None) -> None:
        """Return once the statements (and the chain entries covering them) are committed
        and fsynced."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((statements, covers or [], fut))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await fut

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # writes made in this turn of the loop join the first group
        while self._pending:
            batch, self._pending = self._pending, []
            flat = [s for statements, _, _ in batch for s in statements]
            forced, self._force_checkpoint = self._force_checkpoint, False
            head = self._chained(flat, [c for _, covers, _ in batch for c in covers], forced)
            try:
                await self._commit_group(flat)
                self.commits += 1
                if head is not None and self.chain is not None:
                    self.chain.advance(head)
            except Exception as e:  # rolled back; every waiter of this group learns of it
                for _, _, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                continue
            for _, _, fut in batch:
                if not fut.done():
                    fut.set_result(None)

    async def _commit_group(self, flat: list[Statement]) -> None:
        """One transaction for the whole group."""
        if self._loop_conn is not None:
            _commit(self._loop_conn, flat)
        else:
            # One hop to aiosqlite's thread for the whole commit, not one per statement
            # (BEGIN, each executemany, COMMIT): each hop wakes a thread and the event
            # loop. aiosqlite has no public call for this; its version is pinned.
            await self.conn._execute(_commit, self.conn._conn, flat)  # type: ignore[no-untyped-call]

    def _chained(self, flat: list[Statement], covers: list[Cover], forced: bool = False
                 ) -> tuple[int, str] | None:
        """Adds the chain's entries for `covers` (and a checkpoint when one is due) to the
        group; the head they lead to, which becomes the chain's once committed."""
        if self.chain is None:
            return None
        rows, head = self.chain.entries(covers)
        flat.extend((INSERT, r) for r in rows)
        if (forced and head[0]) or self.chain.checkpoint_due(head[0]):
            flat.append((INSERT_CHECKPOINT, self.chain.checkpoint(*head)))
        return head

    async def checkpoint(self) -> None:
        """A signed checkpoint of the chain's head now (on close, and on demand)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(([], [], fut))
        self._force_checkpoint = True
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await fut

    async def compact(self) -> None:
        """Rewrites the file without its free pages and empties the WAL: after values were
        sealed in place, their clear text lingers in both until then. Between writes only
        (VACUUM may renumber the rowids of tables without an INTEGER PRIMARY KEY: never for
        the journals, store/cases.py)."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
        await self.conn.execute("VACUUM")
        await self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.conn.execute(sql, args) as cur:
            return [tuple(row) for row in await cur.fetchall()]

    async def look_up(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read by key, done at once on the loop's own connection (a database that commits
        on the loop): it takes ~0.1 ms, where the hop to aiosqlite's thread and back took ~4 ms
        in a busy host (measured on the case path at 100 cases/s), and a case creation waits
        for one. It sees what is committed. A coroutine for PostgreSQL's sake (store/backend.py);
        here it never suspends."""
        if self._loop_conn is None:
            raise RuntimeError(f"database {self.path} is not open for reads on the loop")
        return self._loop_conn.execute(sql, args).fetchall()

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
        if self.chain is not None and self._conn is not None and self.chain.seq:
            await self.checkpoint()
        if self._loop_conn is not None:
            self._loop_conn.close()
            self._loop_conn = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
