"""What a store needs of its database, and which database it gets.

Every store (cases, customers, images, decisions, audit, api calls) keeps one database per
shard file name: a SQLite file in the data directory (store/database.py, the embedded default),
or, given a database URL, a schema of one shared PostgreSQL database named after the file's
stem (store/postgres.py), so many shards and service instances share one server. Both commit
before a write returns and commit the writes waiting at once in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from foureyes.store.chain import Chain, Cover
from foureyes.store.database import Database, Statement


class Backend(Protocol):
    label: str  # how messages name it: the file name, or the PostgreSQL schema
    dialect: str  # "sqlite" (a file in the data directory) or "postgresql"
    chain: Chain | None
    commits: int

    async def open(self) -> None: ...

    async def write(self, statements: list[Statement], covers: list[Cover] | None = None
                    ) -> None: ...

    async def read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    async def look_up(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    async def checkpoint(self) -> None: ...

    async def close(self) -> None: ...


# (path, schema, commit_on_loop, chain): a store's database, not yet opened
Opener = Callable[[Path, str, bool, Chain | None], Backend]


def sqlite(path: Path, schema: str, commit_on_loop: bool = False,
           chain: Chain | None = None) -> Backend:
    return Database(path, schema, commit_on_loop, chain)


def opener(database_url: str | None) -> Opener:
    """None: SQLite files; else a PostgreSQL URL (postgresql://user@host:port/db)."""
    if database_url is None:
        return sqlite
    from foureyes.store.postgres import PostgresOpener  # asyncpg only when asked for
    return PostgresOpener(database_url)
