"""The case journal: every event of every case, and each case's current state.

An event's sequence number is its rowid in `case_events`: rows are only appended, by one
writer, so rowids grow in commit order (store/rollup.py reads forward by them too). The store
hands each event its number before the commit, so the event published after it carries it; a
commit that fails leaves its numbers unused (a gap with nothing in it). Never VACUUM these
files: it may renumber rowids.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from foureyes.errors import Tampered
from foureyes.store.backend import Opener, sqlite
from foureyes.store.case_seal import CaseSeal
from foureyes.store.chain import json_text
from foureyes.store.database import Statement
from foureyes.store.sealing import AtRest

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

    def __init__(self, path: Path, at_rest: AtRest | None = None,
                 opener: Opener = sqlite) -> None:
        """`at_rest`: the keys; personal fields are sealed and every event chained
        (store/case_seal.py)."""
        self.seal = CaseSeal.of(path.stem, at_rest)
        self.tampered: list[str] = []  # open cases refused on load
        self.db = opener(path, CASE_SCHEMA, True, self.seal.chain)
        self.last_seq = 0  # the sequence number handed to the latest event

    async def open(self) -> None:
        await self.db.open()
        self.last_seq = (await self.db.look_up("SELECT COALESCE(MAX(rowid), 0) FROM case_events"))[0][0]

    async def save(self, changes: Iterable[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Each change is (current-state row, event); all land in one grouped commit. A row
        (Case.to_row) has case_id, state, version, open and `doc`, the case document as JSON.
        Each event gets its sequence number (`seq`) here, in the order of the commits."""
        changes = list(changes)
        for _, event in changes:
            self.last_seq += 1
            event["seq"] = self.last_seq
        sealed = [self.seal.sealed(row, event) for row, event in changes]
        await self.db.write(self.statements(sealed), [self.seal.cover(r, e) for r, e in sealed])

    @staticmethod
    def statements(changes: Iterable[tuple[dict[str, Any], dict[str, Any]]]) -> list[Statement]:
        statements: list[Statement] = []
        for row, event in changes:
            statements.append((
                "INSERT INTO case_events (rowid, case_id, version, at, kind, state, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (event.get("seq"), row["case_id"], event["version"], event["at"], event["kind"],
                 event["state"],
                 json_text(event.get("data", {}))),
            ))
            statements.append((
                "INSERT INTO cases (case_id, state, version, open, updated_at, doc) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(case_id) DO UPDATE SET state=excluded.state, "
                "version=excluded.version, open=excluded.open, updated_at=excluded.updated_at, "
                "doc=excluded.doc",
                (row["case_id"], row["state"], row["version"], int(row["open"]), event["at"],
                 row["doc"]),
            ))
        return statements

    async def open_cases(self) -> list[dict[str, Any]]:
        """The open cases the audit chain vouches for; the others are named in `tampered`."""
        docs = []
        for cid, current in await self.seal.open_rows(self.db):
            try:
                docs.append(self.seal.opened(self.db.label, cid, current))
            except Tampered as e:
                self.tampered.append(str(e))
        return docs

    async def get(self, case_id: str) -> dict[str, Any] | None:
        [(_, current)] = await self.seal.current(self.db, [case_id])
        if current.row is None:
            # a deleted row is not "no such case"
            await self.seal.never_chained(self.db, case_id, current)
            return None
        return self.seal.opened(self.db.label, case_id, current)

    async def get_many(self, case_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {cid: self.seal.opened(self.db.label, cid, current)
                for cid, current in await self.seal.current(self.db, case_ids)
                if current.row is not None}

    async def events(self, case_id: str) -> list[dict[str, Any]]:
        rows = await self.db.read(
            "SELECT version, at, kind, state, data FROM case_events WHERE case_id = ? ORDER BY version",
            (case_id,))
        return [{"version": v, "at": at, "kind": k, "state": s,
                 "data": self.seal.opened_data(case_id, json.loads(d))}
                for v, at, k, s, d in rows]

    async def journal(self, after: int, kinds: Collection[str] = (), limit: int = 1000
                      ) -> tuple[list[dict[str, Any]], int]:
        """Events after sequence number `after`, in order, at most `limit` rows scanned, with
        each event's case document (`doc`, opened once the chain vouches for it); and the last
        sequence number scanned (a kind filter may skip rows). The events are read on
        aiosqlite's thread: a replay must not hold up cases."""
        rows = await self.db.read(
            "SELECT rowid, case_id, version, at, kind, state, data FROM case_events "
            "WHERE rowid > ? ORDER BY rowid LIMIT ?", (after, limit))
        last = rows[-1][0] if rows else after
        wanted = frozenset(kinds)
        picked = [r for r in rows if not wanted or r[4] in wanted]
        # the documents are read on the loop, where commits run: a document and the chain entry
        # that vouches for it are read between the same two commits (read on aiosqlite's thread,
        # a commit could land between them and the pair would not match)
        docs = await self.get_many(sorted({r[1] for r in picked}))
        return [{"seq": seq, "case_id": cid, "version": v, "at": at, "kind": k, "state": st,
                 "data": self.seal.opened_data(cid, json.loads(d)), "doc": docs[cid]}
                for seq, cid, v, at, k, st, d in picked if cid in docs], last

    async def close(self) -> None:
        await self.db.close()


def read_docs(path: Path, case_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Case documents read from a shard's file without opening it for writing (the archive's
    export runs beside a live service)."""
    if not path.exists() or not case_ids:
        return {}
    found: dict[str, dict[str, Any]] = {}
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        for i in range(0, len(case_ids), 500):
            chunk = case_ids[i:i + 500]
            rows = conn.execute(
                f"SELECT case_id, doc FROM cases WHERE case_id IN ({','.join('?' * len(chunk))})",
                chunk).fetchall()
            found.update((cid, json.loads(doc)) for cid, doc in rows)
    finally:
        conn.close()
    return found
