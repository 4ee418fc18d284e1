"""PostgreSQL as the store's database (asyncpg): a shard file becomes a schema of one database.

The stores speak SQLite's dialect; `pg_sql` and `pg_schema` translate what they use (`?`
placeholders, INSERT OR IGNORE, SQLite's column types, the implicit rowid) once per statement.
The contract is SQLite's: a write returns once committed with synchronous_commit on (the WAL is
flushed on the server), and the writes waiting when a commit starts share its transaction, on
one connection kept for writing. Reads and key look-ups go to a small pool: on SQLite a look-up
is a direct call on the loop's connection, here it is a round trip to the server.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import Any

import asyncpg
from foureyes.errors import StoreUnavailable
from foureyes.store.chain import Chain
from foureyes.store.database import Database, Statement

_TYPES = {"INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "BLOB": "BYTEA"}
_TYPE = re.compile(r"\b(INTEGER|REAL|BLOB)\b")
_TABLE = re.compile(r"(CREATE TABLE IF NOT EXISTS \w+ \()")
_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO", re.IGNORECASE)
# what the connections are asked for whatever the server's defaults: committed means on disk
_SETTINGS = {"synchronous_commit": "on"}


def schema_name(stem: str) -> str:
    """cases-0 -> cases_0: a shard's schema, named after the file it would be in SQLite."""
    return re.sub(r"[^a-z0-9_]", "_", stem.lower())


def pg_schema(schema: str) -> str:
    """SQLite's DDL as PostgreSQL's. Each table gets the `rowid` SQLite gives it implicitly
    (the case journal is read forward by it), filled from a sequence unless given."""
    schema = _TYPE.sub(lambda m: _TYPES[m.group(1)], schema)
    return _TABLE.sub(r"\1\n    rowid BIGSERIAL,", schema)


@lru_cache(maxsize=1024)
def pg_sql(sql: str) -> str:
    """`?` -> `$n`, INSERT OR IGNORE -> ON CONFLICT DO NOTHING (no store puts a `?` in a
    string literal)."""
    n = 0

    def mark(_: re.Match[str]) -> str:
        nonlocal n
        n += 1
        return f"${n}"

    out = re.sub(r"\?", mark, sql)
    if _IGNORE.match(out):
        out = _IGNORE.sub("INSERT INTO", out) + " ON CONFLICT DO NOTHING"
    return out


class PostgresDatabase(Database):
    """Database's group commit and chain, on PostgreSQL."""

    dialect = "postgresql"

    def __init__(self, url: str, path: Path, schema: str, commit_on_loop: bool = False,
                 chain: Chain | None = None) -> None:
        super().__init__(path, schema, commit_on_loop, chain)
        self.url = url
        self.schema_name = schema_name(path.stem)
        self.label = f"schema {self.schema_name}"
        self._writer_conn: asyncpg.Connection | None = None
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        settings = {**_SETTINGS, "search_path": self.schema_name}
        try:
            self._writer_conn = await asyncpg.connect(self.url, server_settings=settings)
            async with self._writer_conn.transaction():
                # several hosts may create the same schemas at once: one at a time
                await self._writer_conn.execute("SELECT pg_advisory_xact_lock(4184)")
                await self._writer_conn.execute(
                    f'CREATE SCHEMA IF NOT EXISTS "{self.schema_name}"')
                await self._writer_conn.execute(pg_schema(self._schema))
            self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=3,
                                                   server_settings=settings)
        except (OSError, asyncpg.PostgresError) as e:
            await self.close()
            raise StoreUnavailable(f"{self.label} at {_safe(self.url)}: {e}") from e
        if self.chain is not None:
            last = await self._writer_conn.fetchrow(
                "SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1")
            if last is not None:
                self.chain.resume(int(last[0]), str(last[1]))

    async def _commit_group(self, flat: list[Statement]) -> None:
        conn = self._writer_conn
        if conn is None:
            raise RuntimeError(f"{self.label} is not open")
        async with conn.transaction():
            for sql, rows in groupby(flat, key=lambda s: s[0]):
                await conn.executemany(pg_sql(sql), [tuple(r) for _, r in rows])

    async def read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self._pool is None:
            raise RuntimeError(f"{self.label} is not open")
        return [tuple(r) for r in await self._pool.fetch(pg_sql(sql), *args)]

    async def look_up(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return await self.read(sql, args)

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
        if self.chain is not None and self._writer_conn is not None and self.chain.seq:
            await self.checkpoint()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._writer_conn is not None:
            await self._writer_conn.close()
            self._writer_conn = None


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)


class PostgresOpener:
    """The stores' opener for one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, path: Path, schema: str, commit_on_loop: bool = False,
                 chain: Chain | None = None) -> PostgresDatabase:
        return PostgresDatabase(self.url, path, schema, commit_on_loop, chain)
