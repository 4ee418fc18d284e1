"""Grouped commits, on the event loop's thread (actor hosts) and on aiosqlite's (the gateway)."""

import asyncio
import sqlite3

import pytest
from foureyes.store.database import Database

SCHEMA = "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
INSERT = "INSERT INTO t (k, v) VALUES (?, ?)"


def on_disk(path):
    with sqlite3.connect(path) as other:  # another connection sees only what is committed
        return dict(other.execute("SELECT k, v FROM t").fetchall())


@pytest.mark.parametrize("on_loop", [True, False])
async def test_writes_made_together_share_one_commit_and_are_on_disk_when_answered(
        tmp_path, on_loop):
    db = Database(tmp_path / "t.sqlite", SCHEMA, commit_on_loop=on_loop)
    await db.open()
    await asyncio.gather(*(db.write([(INSERT, (f"k{i}", i))]) for i in range(50)))
    assert db.commits == 1
    assert on_disk(db.path) == {f"k{i}": i for i in range(50)}
    await db.close()


@pytest.mark.parametrize("on_loop", [True, False])
async def test_a_failed_group_fails_all_its_writers_and_leaves_nothing_behind(tmp_path, on_loop):
    db = Database(tmp_path / "t.sqlite", SCHEMA, commit_on_loop=on_loop)
    await db.open()
    await db.write([(INSERT, ("taken", 1))])
    group = await asyncio.gather(db.write([(INSERT, ("fresh", 2))]),
                                 db.write([(INSERT, ("taken", 3))]), return_exceptions=True)
    assert all(isinstance(r, sqlite3.IntegrityError) for r in group)
    await db.write([(INSERT, ("later", 4))])
    assert on_disk(db.path) == {"taken": 1, "later": 4}
    await db.close()


async def test_a_key_lookup_on_the_loop_sees_what_is_committed(tmp_path):
    db = Database(tmp_path / "t.sqlite", SCHEMA, commit_on_loop=True)
    await db.open()
    assert db.look_up("SELECT v FROM t WHERE k = ?", ("a",)) == []
    await db.write([(INSERT, ("a", 1))])
    assert db.look_up("SELECT v FROM t WHERE k = ?", ("a",)) == [(1,)]
    await db.close()
