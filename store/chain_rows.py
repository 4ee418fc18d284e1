"""What the audit-chain verifier (store/chain_verify.py) reads of one chained database: rows by
SQL in SQLite's dialect, and which tables there are. One verifier, two readers: a SQLite file
(here) and a PostgreSQL schema (store/postgres.py, which translates the SQL with `pg_sql`).

Both read one snapshot: a verification of a live database must not see a row committed after
the chain entries it read (it would be named as inserted).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class ChainRows(Protocol):
    label: str  # how findings name the database: its file's stem, or "schema <name>"

    async def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    async def tables(self) -> set[str]: ...


class SqliteRows:
    """A SQLite file's rows, on a plain sqlite3 connection: its calls never suspend."""

    def __init__(self, conn: sqlite3.Connection, label: str) -> None:
        self.conn = conn
        self.label = label

    async def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, args).fetchall()

    async def tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


@contextlib.contextmanager
def sqlite_rows(path: Path) -> Iterator[SqliteRows]:
    """One read transaction over the file (in WAL mode: one snapshot)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        yield SqliteRows(conn, path.stem)
    finally:
        conn.close()


def unsuspended(coro: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never suspends (the verifier over SqliteRows), so that
    synchronous callers and code on a running loop alike can call it without a loop of its
    own."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("a coroutine meant to run without suspending suspended")
