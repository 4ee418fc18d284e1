"""The audit chain: every tampering of a stopped data directory is named by `audit verify`,
and a forged current-state row is refused, never served. Real SQLite files, real keys."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import stat

import asyncpg
import pytest
from foureyes.actors.case import Case, Verdict
from foureyes.errors import Tampered
from foureyes.security import keys
from foureyes.service.cli import main
from foureyes.store import backend
from foureyes.store.audit_log import AuditLog
from foureyes.store.cases import CaseStore
from foureyes.store.decisions import DecisionLog
from foureyes.store.sealing import AtRest

from tests.unit.specs import spec


@pytest.fixture
def dirs(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    return data, keys.default_keys_dir(data)


async def fill(data, keys_dir, cases=3, first=0, opener=backend.sqlite):
    """Cases created, offered, reviewed and rejected; a decision and an audit record each."""
    at_rest = AtRest.load(keys_dir)
    store = CaseStore(data / "cases-0.sqlite", at_rest, opener)
    decisions = DecisionLog(data / "decisions-g.sqlite", at_rest, opener)
    audit = AuditLog(data / "audit-g.sqlite", at_rest, opener)
    for s in (store, decisions, audit):
        await s.open()
    for i in range(first, first + cases):
        case = Case(spec(f"C{i}"))
        for step in (case.create, lambda c=case: c.offer("s1"),
                     lambda c=case: c.begin_review("s1", "auth-1"),
                     lambda c=case: c.decide("s1", c.version, Verdict.REJECT, "R1", "no")):
            event = step()
            await store.save([(case.to_row(), event)])
        decisions.record(1.0 + i, "teller", f"k{i}", "remote", "cash", f"C{i}", "v1", ["r"],
                         {"customer.id": "cust", "transaction.code": "CASH"})
        audit.record("seat-login", "auth-1", "ok", f"seat-{i}")
    for s in (store, decisions, audit):
        await s.close()


def verify(capsys, data, *extra):
    code = main(["audit", "verify", "--data-dir", str(data), *extra])
    return code, capsys.readouterr().out


def edit(path, *sql, wal=False):
    """With `wal`, the change stays in the -wal file (the editing connection is left open, as
    a crash or a copy of a live directory leaves it); the connection is returned."""
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA wal_autocheckpoint=0")
    for s in sql:
        conn.execute(s)
    conn.commit()
    if not wal:
        conn.close()
    return conn


async def test_an_untouched_directory_verifies_and_files_are_private(dirs, capsys):
    data, keys_dir = dirs
    await fill(data, keys_dir)
    code, out = verify(capsys, data)
    assert code == 0, out
    assert "cases-0: ok, 12 entries" in out and "decisions-g: ok, 3 entries" in out
    for p in [*data.iterdir(), *keys_dir.iterdir()]:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert not keys_dir.is_relative_to(data)


# each tampering of the case journal, in SQL both SQLite and PostgreSQL take (column lists:
# PostgreSQL's tables have their `rowid` as a column), and what `audit verify` names
TAMPERINGS = [
    # a journal row changed (a reviewer's operator id rewritten)
    (["UPDATE case_events SET data = replace(data, 'auth-1', 'auth-9') WHERE kind = 'review-started' "
      "AND case_id = 'C1'"], "case_events row (case C1, version 3), entry 7, changed"),
    # a journal row deleted
    (["DELETE FROM case_events WHERE case_id = 'C2' AND version = 2"],
     "case_events row (case C2, version 2), entry 10, deleted"),
    # a journal row inserted
    (["INSERT INTO case_events (case_id, version, at, kind, state, data) "
      "VALUES ('C0', 5, 9.0, 'approved', 'APPROVED', '{}')"],
     "case_events row (case C0, version 5) has no chain entry (inserted)"),
    # a chain entry changed, then one deleted, one appended, two swapped
    (["UPDATE chain SET body = replace(body, '\"v\":2', '\"v\":3') WHERE seq = 6"], "entry 6 changed"),
    (["DELETE FROM chain WHERE seq = 5"], "entry 5 deleted"),
    (["INSERT INTO chain (seq, subject, version, body, prev, hash, mac) "
      "SELECT 13, subject, 5, body, hash, hash, mac FROM chain WHERE seq = 12"],
     "entry 13 changed"),
    (["UPDATE chain SET seq = -1 WHERE seq = 3", "UPDATE chain SET seq = 3 WHERE seq = 4",
      "UPDATE chain SET seq = 4 WHERE seq = -1"], "entry 3 does not follow entry 2"),
    # the tail cut off: the checkpoint written on close signs an entry that is gone
    (["DELETE FROM chain WHERE seq > 10", "DELETE FROM case_events WHERE case_id = 'C2' AND version > 2"],
     "entries 11 to 12 deleted"),
    # a current-state row edited: a rejected case made approved
    (["UPDATE cases SET state = 'APPROVED', doc = replace(doc, '\"REJECTED\"', '\"APPROVED\"') "
      "WHERE case_id = 'C1'"], "cases row of case C1 changed"),
]


@pytest.mark.parametrize("sql, named", TAMPERINGS)
@pytest.mark.parametrize("wal", [False, True])
async def test_each_tampering_of_the_case_journal_is_named(dirs, capsys, sql, named, wal):
    data, keys_dir = dirs
    await fill(data, keys_dir)
    conn = edit(data / "cases-0.sqlite", *sql, wal=wal)
    if wal:
        assert (data / "cases-0.sqlite-wal").stat().st_size > 0
    code, out = verify(capsys, data)
    conn.close()
    assert code == 1
    assert f"cases-0: TAMPERED: {named}" in out, out
    assert "decisions-g: ok" in out


async def test_decision_and_audit_logs_are_chained_too(dirs, capsys):
    data, keys_dir = dirs
    await fill(data, keys_dir)
    edit(data / "decisions-g.sqlite", "UPDATE decisions SET outcome = 'none' WHERE rowid = 2")
    edit(data / "audit-g.sqlite", "DELETE FROM audit WHERE rowid = 1")
    code, out = verify(capsys, data)
    assert code == 1
    assert "decisions-g: TAMPERED: decisions row 2 (entry 2) changed" in out
    assert "audit-g: TAMPERED: audit row 2 (entry 1) changed, deleted or inserted before it" in out


async def test_a_chain_recomputed_without_the_key_is_refused(dirs, capsys):
    """Whoever can write the files can rehash a changed entry, but not sign it."""
    from foureyes.store.chain import link

    data, keys_dir = dirs
    await fill(data, keys_dir, cases=1)
    path = data / "cases-0.sqlite"
    conn = sqlite3.connect(path)
    prev, body = conn.execute("SELECT prev, body FROM chain WHERE seq = 4").fetchone()
    forged = body.replace('"v":4', '"v":4 ')
    conn.execute("UPDATE chain SET body = ?, hash = ? WHERE seq = 4", (forged, link(prev, forged)))
    conn.commit()
    conn.close()
    code, out = verify(capsys, data)
    assert code == 1 and "entry 4 not signed by the chain key" in out


async def test_a_forged_current_state_is_never_served(dirs):
    data, keys_dir = dirs
    await fill(data, keys_dir)
    edit(data / "cases-0.sqlite",
         "UPDATE cases SET state = 'APPROVED', doc = replace(doc, '\"REJECTED\"', '\"APPROVED\"') "
         "WHERE case_id = 'C1'",
         # a finished case reopened: only the columns edited
         "UPDATE cases SET open = 1, state = 'QUEUED' WHERE case_id = 'C2'",
         "INSERT INTO cases SELECT 'C3', state, version, open, updated_at, doc FROM cases "
         "WHERE case_id = 'C0'")
    store = CaseStore(data / "cases-0.sqlite", AtRest.load(keys_dir))
    await store.open()
    assert (await store.get("C0"))["state"] == "REJECTED"
    assert await store.get("C9") is None  # never existed
    with pytest.raises(Tampered, match="case C3"):  # a row copied in
        await store.get("C3")
    with pytest.raises(Tampered, match="case C1"):
        await store.get("C1")
    assert await store.open_cases() == []
    assert "case C2" in store.tampered[0]
    await store.close()
    edit(data / "cases-0.sqlite", "DELETE FROM cases WHERE case_id = 'C0'")
    store = CaseStore(data / "cases-0.sqlite", AtRest.load(keys_dir))
    await store.open()
    with pytest.raises(Tampered, match="case C0: its current-state row was deleted"):
        await store.get("C0")
    await store.close()


async def test_an_exported_checkpoint_catches_a_rollback_of_the_whole_file(dirs, capsys, tmp_path):
    data, keys_dir = dirs
    await fill(data, keys_dir, cases=1)
    backup = (data / "cases-0.sqlite").read_bytes()
    await fill(data, keys_dir, cases=2, first=1)
    out_file = tmp_path / "cp.json"
    assert main(["audit", "checkpoint", "--data-dir", str(data), "--out", str(out_file)]) == 0
    cp = json.loads(out_file.read_text())
    assert cp["chains"]["cases-0"]["seq"] > 4 and cp["mac"]
    capsys.readouterr()
    (data / "cases-0.sqlite").write_bytes(backup)  # the file as it was, internally consistent
    for suffix in ("-wal", "-shm"):
        (data / f"cases-0.sqlite{suffix}").unlink(missing_ok=True)
    code, out = verify(capsys, data)
    assert code == 0  # alone, an older file is a valid chain ...
    code, out = verify(capsys, data, "--checkpoint", str(out_file))
    assert code == 1 and "cases-0: TAMPERED: entries 5 to" in out  # ... but not the exported one


async def test_a_forged_current_state_in_postgresql_is_never_served(dirs, postgres_url):
    data, keys_dir = dirs
    opener = backend.opener(postgres_url)
    await fill(data, keys_dir, opener=opener)
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute(
            "UPDATE cases_0.cases SET state = 'APPROVED', "
            "doc = replace(doc, '\"REJECTED\"', '\"APPROVED\"') WHERE case_id = 'C1'")
        await conn.execute("UPDATE cases_0.cases SET open = 1, state = 'QUEUED' "
                           "WHERE case_id = 'C2'")
        await conn.execute("DELETE FROM cases_0.cases WHERE case_id = 'C0'")
    finally:
        await conn.close()
    store = CaseStore(data / "cases-0.sqlite", AtRest.load(keys_dir), opener)
    await store.open()
    with pytest.raises(Tampered, match="case C1"):
        await store.get("C1")
    with pytest.raises(Tampered, match="case C0: its current-state row was deleted"):
        await store.get("C0")
    assert await store.open_cases() == []
    assert "case C2" in store.tampered[0] and "schema cases_0" in store.tampered[0]
    await store.close()


async def test_a_row_read_while_it_is_written_is_never_taken_for_tampered(dirs, store_opener):
    """The row and the chain entry that vouches for it are read together: read apart (on
    PostgreSQL two round trips on the read pool), a commit between them made a genuine row
    look changed outside foureyes."""
    data, keys_dir = dirs
    store = CaseStore(data / "cases-0.sqlite", AtRest.load(keys_dir), store_opener)
    await store.open()
    case = Case(spec("R1"))
    event = case.create()
    await store.save([(case.to_row(), event)])
    writing = True

    async def write():
        nonlocal writing
        for _ in range(150):  # offered and lapsed: a new version per commit
            for step in (lambda: case.offer("s1"), lambda: case.offer_lapsed("s1", "timeout")):
                event = step()
                await store.save([(case.to_row(), event)])
        writing = False

    async def read():
        seen = set()
        while writing:
            seen.add((await store.get("R1"))["version"])
            seen.update(d["version"] for d in (await store.get_many(["R1"])).values())
            await asyncio.sleep(0)  # on SQLite a look-up never suspends: let the writer on
        return seen

    _, *seen = await asyncio.gather(write(), read(), read())
    assert (await store.get("R1"))["version"] == 301
    assert len(set().union(*seen)) > 10  # the reads did overlap the writes
    await store.close()


async def pg_edit(url, schema, *sql):
    """SQL run straight on the shard's schema, as someone with the database's password would."""
    conn = await asyncpg.connect(url, server_settings={"search_path": schema})
    try:
        for statement in sql:
            await conn.execute(statement)
    finally:
        await conn.close()


async def pg_verify(capsys, data, url, *extra):
    """`audit verify --database-url` as the auditor runs it (its own asyncio.run: a thread)."""
    code = await asyncio.to_thread(main, ["audit", "verify", "--data-dir", str(data),
                                          "--database-url", url, *extra])
    return code, capsys.readouterr().out


async def test_an_untouched_postgresql_store_verifies(dirs, capsys, postgres_url, monkeypatch):
    data, keys_dir = dirs
    await fill(data, keys_dir, opener=backend.opener(postgres_url))
    assert not list(data.glob("*.sqlite"))  # every chain is in PostgreSQL
    code, out = await pg_verify(capsys, data, postgres_url)
    assert code == 0, out
    assert "schema cases_0: ok, 12 entries" in out and "schema decisions_g: ok, 3 entries" in out
    assert "schema audit_g: ok, 3 entries" in out and "3 chain(s), 0 finding(s)" in out
    assert "no archives" in out
    # as `serve` does, the URL is read from FOUREYES_DATABASE_URL too
    monkeypatch.setenv("FOUREYES_DATABASE_URL", postgres_url)
    code = await asyncio.to_thread(main, ["audit", "verify", "--data-dir", str(data)])
    assert code == 0 and "schema cases_0: ok, 12 entries" in capsys.readouterr().out
    # without the URL nothing is found: the SQLite walk alone reports no chain
    monkeypatch.delenv("FOUREYES_DATABASE_URL")
    assert main(["audit", "verify", "--data-dir", str(data)]) == 0
    assert "0 chain(s)" in capsys.readouterr().out


@pytest.mark.parametrize("sql, named", TAMPERINGS)
async def test_each_tampering_of_a_postgresql_case_journal_is_named(dirs, capsys, postgres_url,
                                                                    sql, named):
    data, keys_dir = dirs
    await fill(data, keys_dir, opener=backend.opener(postgres_url))
    await pg_edit(postgres_url, "cases_0", *sql)
    code, out = await pg_verify(capsys, data, postgres_url)
    assert code == 1, out
    assert f"schema cases_0: TAMPERED: {named}" in out, out
    assert "schema decisions_g: ok" in out and "schema audit_g: ok" in out


async def test_postgresql_decision_and_audit_logs_and_checkpoints_are_verified(
        dirs, capsys, postgres_url, tmp_path):
    data, keys_dir = dirs
    opener = backend.opener(postgres_url)
    await fill(data, keys_dir, cases=1, opener=opener)
    out_file = tmp_path / "cp.json"
    code = await asyncio.to_thread(main, ["audit", "checkpoint", "--data-dir", str(data),
                                          "--database-url", postgres_url, "--out", str(out_file)])
    assert code == 0
    cp = json.loads(out_file.read_text())
    assert cp["chains"]["cases-0"]["seq"] == 4 and cp["chains"]["decisions-g"]["seq"] == 1
    await fill(data, keys_dir, cases=2, first=1, opener=opener)
    capsys.readouterr()
    # a schema made before its chain's name was recorded: the name is found from its stem
    await pg_edit(postgres_url, "cases_0", "DROP TABLE chain_name")
    code, out = await pg_verify(capsys, data, postgres_url, "--checkpoint", str(out_file))
    assert code == 0, out
    await pg_edit(postgres_url, "decisions_g", "UPDATE decisions SET outcome = 'none' WHERE rowid = 2")
    await pg_edit(postgres_url, "audit_g", "DELETE FROM audit WHERE rowid = 1")
    # the case journal rolled back to the exported checkpoint's time, its own checkpoints too:
    # internally consistent, but not what was exported
    await pg_edit(postgres_url, "cases_0", "DELETE FROM chain WHERE seq > 3",
                  "DELETE FROM chain_checkpoints", "DELETE FROM case_events WHERE case_id != 'C0' "
                  "OR version > 3", "DELETE FROM cases WHERE case_id != 'C0'")
    code, out = await pg_verify(capsys, data, postgres_url)
    assert "schema decisions_g: TAMPERED: decisions row 2 (entry 2) changed" in out, out
    assert "schema audit_g: TAMPERED: audit row 2 (entry 1) changed, deleted or inserted" in out
    assert "schema cases_0: TAMPERED: cases row of case C0 changed" in out  # its row is v4
    code, out = await pg_verify(capsys, data, postgres_url, "--checkpoint", str(out_file))
    assert code == 1
    assert "schema cases_0: TAMPERED: entries 4 to 4 deleted (exported checkpoint" in out, out


async def test_an_unreachable_postgresql_store_is_refused(dirs, capsys):
    data, keys_dir = dirs
    AtRest.load(keys_dir)  # the keys, made as a first start makes them
    code, out = await pg_verify(capsys, data, "postgresql://nobody:secret@127.0.0.1:1/none")
    assert code == 2 and "refused: PostgreSQL at" in out and "secret" not in out
