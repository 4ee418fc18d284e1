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
import contextlib
import itertools
import re
from collections.abc import AsyncIterator, Sequence
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import Any

import asyncpg
from foureyes.errors import StoreUnavailable
from foureyes.store.chain import Chain, checkpoint_text
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
                if self.chain is not None:
                    # the chain's name signs its checkpoints; the schema's name may not give
                    # it back (cases-0 and cases_0 are both cases_0), so `audit verify` reads it
                    await self._writer_conn.execute(
                        "CREATE TABLE IF NOT EXISTS chain_name (name TEXT NOT NULL)")
                    await self._writer_conn.execute(
                        "INSERT INTO chain_name SELECT $1::text WHERE NOT EXISTS "
                        "(SELECT 1 FROM chain_name)", self.chain.name)
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


class PostgresRows:
    """A schema's rows for the chain verifier (store/chain_rows.py), the SQL translated as the
    stores' is; made by `schema_rows`, inside one snapshot."""

    def __init__(self, conn: asyncpg.Connection, schema: str) -> None:
        self.conn = conn
        self.schema = schema
        self.label = f"schema {schema}"

    async def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self.conn.fetch(pg_sql(sql), *args)]

    async def tables(self) -> set[str]:
        return {r[0] for r in await self.conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
            self.schema)}

    async def chain_name(self, chain_key: bytes) -> str:
        """The name the chain's checkpoints are signed under: as recorded at open, else (a
        schema made before it was) the file stem, among those the schema's name may stand
        for, under which its first checkpoint verifies."""
        if "chain_name" in await self.tables():
            row = await self.conn.fetchrow("SELECT name FROM chain_name LIMIT 1")
            if row is not None:
                return str(row[0])
        names = stems(self.schema)
        first = await self.conn.fetchrow("SELECT seq, at, head, mac FROM chain_checkpoints "
                                         "ORDER BY seq LIMIT 1")
        if first is not None:
            for name in names:
                if Chain(name, chain_key).mac_ok(
                        checkpoint_text(name, first[0], first[2], first[1]), first[3]):
                    return name
        return names[0]


def stems(schema: str) -> list[str]:
    """The file stems a schema's name may stand for (each "_" was "-" or "_"), the likeliest
    first: cases_0 -> cases-0."""
    parts = schema.split("_")
    if len(parts) > 9:  # never thousands of guesses
        return [schema.replace("_", "-", 1), schema, schema.replace("_", "-")]
    out = ["".join(p + s for p, s in zip(parts, (*seps, ""), strict=True))
           for seps in itertools.product("-_", repeat=len(parts) - 1)]
    return sorted(out, key=lambda n: (n.count("_") != len(parts) - 2, n.count("_")))


@contextlib.asynccontextmanager
async def connected(url: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection, for an auditor's walk or a host's check."""
    try:
        conn = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError) as e:
        raise StoreUnavailable(f"PostgreSQL at {_safe(url)}: {e}") from e
    try:
        yield conn
    finally:
        await conn.close()


async def chained_schemas(conn: asyncpg.Connection) -> list[str]:
    """The schemas that hold an audit chain (cases_0, decisions_<gateway>, ...)."""
    return [r[0] for r in await conn.fetch(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'chain' "
        "AND table_type = 'BASE TABLE' ORDER BY table_schema")]


@contextlib.asynccontextmanager
async def schema_rows(conn: asyncpg.Connection, schema: str) -> AsyncIterator[PostgresRows]:
    """The schema's rows, read in one repeatable-read transaction: one snapshot, as a walk
    of a live database needs (else a row committed after the chain was read looks inserted)."""
    await conn.execute("SELECT set_config('search_path', $1, false)", f'"{schema}"')
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        yield PostgresRows(conn, schema)


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


_JSON_EXTRACT = re.compile(r"json_extract\((\w+), '\$\.([^']*)'\)")


def _json_path(match: re.Match[str]) -> str:
    """SQLite's json_extract(col, '$.a."b.c"') as PostgreSQL's (col::jsonb #>> '{a,b.c}')."""
    column, path = match.group(1), match.group(2)
    keys = re.findall(r'"([^"]*)"|([^.]+)', path)
    return f"({column}::jsonb #>> '{{{','.join(q or p for q, p in keys)}}}')"


class SyncReader:
    """A schema read by synchronous code (the statistics roll-up, store/rollup.py, which runs
    in worker threads): sqlite3's `execute(...).fetchall()` over an asyncpg connection on a
    loop of its own. BEGIN opens one read-only snapshot, as a SQLite read transaction does."""

    def __init__(self, url: str, schema: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.schema = schema
        try:
            self.conn = self.loop.run_until_complete(asyncpg.connect(
                url, server_settings={**_SETTINGS, "search_path": schema}))
        except (OSError, asyncpg.PostgresError) as e:
            self.loop.close()
            raise StoreUnavailable(f"schema {schema} at {_safe(url)}: {e}") from e

    def execute(self, sql: str, args: Sequence[Any] = ()) -> _Rows:
        if sql == "BEGIN":
            sql = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        if sql in ("COMMIT", "ROLLBACK") or sql.startswith("BEGIN"):
            self.loop.run_until_complete(self.conn.execute(sql))
            return _Rows([])
        translated = pg_sql(_JSON_EXTRACT.sub(_json_path, sql))
        return _Rows([tuple(r) for r in self.loop.run_until_complete(
            self.conn.fetch(translated, *args))])

    def close(self) -> None:
        self.loop.run_until_complete(self.conn.close())
        self.loop.close()


class _Rows(list[tuple[Any, ...]]):
    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self)

    def fetchone(self) -> tuple[Any, ...] | None:
        return self[0] if self else None


def journal_schemas(url: str) -> list[str]:
    """The case journals' and decision logs' schemas in the database, as the statistics
    read them (the SQLite files' stems: cases-0 is cases_0)."""
    async def listed() -> list[str]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch(
                "SELECT schema_name FROM information_schema.schemata "
                "WHERE schema_name LIKE 'cases\\_%' OR schema_name LIKE 'decisions\\_%'")
            return sorted(str(r[0]) for r in rows)
        finally:
            await conn.close()

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(listed())
    except (OSError, asyncpg.PostgresError) as e:
        raise StoreUnavailable(f"{_safe(url)}: {e}") from e
    finally:
        loop.close()
