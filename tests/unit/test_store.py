"""Grouped commits on each backend: SQLite on the event loop's thread (actor hosts) and on
aiosqlite's (the gateway), and PostgreSQL (store/postgres.py)."""

import asyncio
import sqlite3

import asyncpg
import pytest
from foureyes.store import backend
from foureyes.store.chain import Chain, Cover
from foureyes.store.postgres import pg_schema, pg_sql, schema_name

SCHEMA = "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
INSERT = "INSERT INTO t (k, v) VALUES (?, ?)"
KINDS = ["sqlite-loop", "sqlite-thread", "postgres"]


@pytest.fixture(params=KINDS)
def kind(request):
    return request.param


@pytest.fixture
def make(request, kind, tmp_path):
    """An opener for the backend under test, and how another connection reads table t."""
    if kind == "postgres":
        url = request.getfixturevalue("postgres_url")
        opener = backend.opener(url)

        async def on_disk(db):
            conn = await asyncpg.connect(url, server_settings={
                "search_path": schema_name(db.path.stem)})
            try:
                return {k: v for k, v in await conn.fetch("SELECT k, v FROM t")}
            finally:
                await conn.close()
    else:
        opener = backend.sqlite

        async def on_disk(db):
            with sqlite3.connect(db.path) as other:  # another connection: only what is committed
                return dict(other.execute("SELECT k, v FROM t").fetchall())

    def open_db(name="t-0", schema=SCHEMA, chain=None):
        return opener(tmp_path / f"{name}.sqlite", schema, kind != "sqlite-thread", chain)

    return open_db, on_disk


async def test_writes_made_together_share_one_commit_and_are_on_disk_when_answered(make):
    open_db, on_disk = make
    db = open_db()
    await db.open()
    await asyncio.gather(*(db.write([(INSERT, (f"k{i}", i))]) for i in range(50)))
    assert db.commits == 1
    assert await on_disk(db) == {f"k{i}": i for i in range(50)}
    await db.close()


async def test_a_failed_group_fails_all_its_writers_and_leaves_nothing_behind(make):
    open_db, on_disk = make
    db = open_db()
    await db.open()
    await db.write([(INSERT, ("taken", 1))])
    group = await asyncio.gather(db.write([(INSERT, ("fresh", 2))]),
                                 db.write([(INSERT, ("taken", 3))]), return_exceptions=True)
    assert all(isinstance(r, (sqlite3.IntegrityError, asyncpg.UniqueViolationError))
               for r in group)
    await db.write([(INSERT, ("later", 4))])
    assert await on_disk(db) == {"taken": 1, "later": 4}
    await db.close()


async def test_a_key_lookup_sees_what_is_committed(make, kind):
    if kind == "sqlite-thread":
        pytest.skip("look-ups are made on the loop's connection")
    open_db, _ = make
    db = open_db()
    await db.open()
    assert await db.look_up("SELECT v FROM t WHERE k = ?", ("a",)) == []
    await db.write([(INSERT, ("a", 1))])
    assert await db.look_up("SELECT v FROM t WHERE k = ?", ("a",)) == [(1,)]
    assert await db.read("SELECT COALESCE(MAX(rowid), 0) FROM t") == [(1,)]
    await db.close()


async def test_shards_are_apart_and_a_chain_resumes_where_it_was(make, tmp_path):
    open_db, on_disk = make
    a, b = open_db("cases-0", chain=Chain("cases-0", b"k" * 32)), open_db("cases-1")
    for db in (a, b):
        await db.open()
    await a.write([(INSERT, ("a", 1))], [Cover("case", ("d1",), "C1", 1)])
    await b.write([(INSERT, ("b", 2))])
    assert await on_disk(a) == {"a": 1} and await on_disk(b) == {"b": 2}
    head = a.chain.seq, a.chain.head
    for db in (a, b):
        await db.close()
    again = open_db("cases-0", chain=Chain("cases-0", b"k" * 32))
    await again.open()
    assert (again.chain.seq, again.chain.head) == head
    assert [r[0] for r in await again.read("SELECT subject FROM chain ORDER BY seq")] == ["C1"]
    await again.close()


def test_sqlite_statements_are_translated_once_for_postgresql():
    assert pg_sql("SELECT a FROM t WHERE b = ? AND c IN (?, ?)") == (
        "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)")
    assert pg_sql("INSERT OR IGNORE INTO t (a) VALUES (?)") == (
        "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING")
    ddl = pg_schema("CREATE TABLE IF NOT EXISTS t (a INTEGER, b REAL, c BLOB);")
    assert "rowid BIGSERIAL" in ddl and "a BIGINT, b DOUBLE PRECISION, c BYTEA" in ddl
    assert schema_name("decisions-gw-1") == "decisions_gw_1"
