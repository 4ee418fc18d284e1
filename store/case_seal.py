"""What the case journal does to each row on the way in and out: personal fields sealed
(store/sealing.py), each event chained (store/chain.py), and on the way out the current-state
row checked against the chain, so an edited `cases` row is refused, never served.

Sealed: the spec's customer id and account, and the free texts (reason, note) of the state
and of the events. The rest (state, version, channel, outlet, scene, amounts) stays clear:
the statistics read it with json_extract (store/rollup.py), and it names no person.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any, NamedTuple

from foureyes.errors import NotFound, Tampered
from foureyes.store.backend import Backend
from foureyes.store.chain import Chain, Cover, digest, json_text, link, text_digest
from foureyes.store.database import Database
from foureyes.store.sealing import AtRest, Sealer

SPEC_FIELDS = ("customer_id", "account_masked")
STATE_FIELDS = ("reason_text",)
EVENT_FIELDS = ("reason_text", "reason", "note")
# a case's newest chain entry, joined to its row (`CaseSeal.current`); `subject != ''` lets
# SQLite use the partial index chain_subject (without it, it scanned the whole chain)
_ENTRY_COLUMNS = "e.seq, e.version, e.body, e.prev, e.hash, e.mac"
_ENTRY_JOIN = ("LEFT JOIN chain e ON e.seq = (SELECT seq FROM chain WHERE subject = k.id AND "
               "subject != '' ORDER BY version DESC LIMIT 1)")


def event_digest(case_id: str, version: int, at: float, kind: str, state: str, data: str) -> str:
    """The digest a chain entry holds of a `case_events` row (its columns as stored)."""
    return digest(case_id, version, at, kind, state, data)


class Entry(NamedTuple):
    """A case's newest chain entry."""

    seq: int
    version: int
    body: str
    prev: str
    hash: str
    mac: str


class Current(NamedTuple):
    """A case's `cases` row, (state, version, open, doc) or None if there is none, and its
    newest chain entry, None if the chain has none; read together (`CaseSeal.current`)."""

    row: tuple[str, int, int, str] | None
    entry: Entry | None


def _current(r: Sequence[Any]) -> tuple[str, Current]:
    """(case id, row columns..., entry columns...) as read by `current` and `open_rows`."""
    return r[0], Current(None if r[4] is None else (r[1], r[2], r[3], r[4]),
                         None if r[5] is None else Entry(*r[5:11]))


class CaseSeal:
    def __init__(self, sealer: Sealer, chain: Chain) -> None:
        self.sealer = sealer
        self.chain = chain
        # case id -> (the clear start of its documents, up to the state; the same sealed):
        # the spec never changes, and serializing it again was most of a transition's cost
        self._specs: dict[str, tuple[str, str]] = {}

    @classmethod
    def of(cls, name: str, at_rest: AtRest | None) -> CaseSeal:
        """`at_rest` None: the development keys (a store on its own, in a unit test)."""
        keys = at_rest or AtRest.development()
        return cls(keys.sealer, Chain(name, keys.chain_key))

    def sealed(self, row: dict[str, Any], event: dict[str, Any]
               ) -> tuple[dict[str, Any], dict[str, Any]]:
        cid = row["case_id"]
        text: str = row["doc"]
        data = self.sealer.seal_fields(event.get("data", {}), EVENT_FIELDS, cid)
        known = self._specs.get(cid)
        if known is not None and text.startswith(known[0]):
            # Case.to_row writes '{"spec": <spec>, <state...>}': only the state is new
            state = self.sealer.seal_fields(json.loads("{" + text[len(known[0]):]),
                                            STATE_FIELDS, cid)
            doc_text = known[1] + json_text(state)[1:]
        else:
            doc = json.loads(text)
            spec_text = json_text(doc.pop("spec"))
            spec = self.sealer.seal_fields(json.loads(spec_text), SPEC_FIELDS, cid)
            sealed_spec = json_text(spec)
            doc = self.sealer.seal_fields(doc, STATE_FIELDS, cid)
            doc_text = f'{{"spec": {sealed_spec}, ' + json_text(doc)[1:]
            if text.startswith(f'{{"spec": {spec_text}, '):
                if len(self._specs) > 100_000:  # open cases are far fewer; never unbounded
                    self._specs.clear()
                self._specs[cid] = (f'{{"spec": {spec_text}, ', f'{{"spec": {sealed_spec}, ')
        if not row.get("open", True):
            self._specs.pop(cid, None)
        return ({**row, "doc": doc_text}, {**event, "data": data})

    @staticmethod
    def cover(row: dict[str, Any], event: dict[str, Any]) -> Cover:
        cid = row["case_id"]
        data = json_text(event.get("data", {}))  # as CaseStore stores it
        return Cover("case", (event_digest(cid, event["version"], event["at"], event["kind"],
                                           event["state"], data), text_digest(row["doc"])),
                     cid, event["version"])

    async def current(self, db: Backend, case_ids: Sequence[str]) -> list[tuple[str, Current]]:
        """Each case's current-state row with the chain entry that must vouch for it, read in
        one query, hence one snapshot: read in two (on PostgreSQL, two round trips on the read
        pool) a commit between them made a genuine row look tampered. A case id without a
        row comes back with `row` None (`never_chained` says why). A look-up
        (store/backend.py)."""
        found: list[tuple[str, Current]] = []
        for i in range(0, len(case_ids), 500):  # SQLite caps bound parameters per statement
            chunk = list(case_ids[i:i + 500])
            # the ids as a table (VALUES names its column column1 in both dialects)
            keys = ", ".join(["(CAST(? AS TEXT))"] * len(chunk))
            found += [_current(r) for r in await db.look_up(
                f"SELECT k.id, c.state, c.version, c.open, c.doc, {_ENTRY_COLUMNS} "
                f"FROM (SELECT column1 AS id FROM (VALUES {keys}) AS v) k "
                f"LEFT JOIN cases c ON c.case_id = k.id {_ENTRY_JOIN}", chunk)]
        return found

    async def open_rows(self, db: Backend) -> list[tuple[str, Current]]:
        """The open cases' rows, each with its chain entry (one query, see `current`)."""
        return [_current(r) for r in await db.read(
            f"SELECT k.id, k.state, k.version, k.open, k.doc, {_ENTRY_COLUMNS} FROM "
            f"(SELECT case_id AS id, state, version, open, doc FROM cases WHERE open = 1) k "
            f"{_ENTRY_JOIN}")]

    def opened(self, label: str, case_id: str, current: Current) -> dict[str, Any]:
        """The stored document of a row `current` read, once the chain entry read with it
        vouches for it, with its fields opened; `label`: the database, for messages."""
        row, entry = current
        if row is None:
            raise ValueError(f"case {case_id} has no current-state row")
        if entry is None:
            raise Tampered(f"case {case_id}: its current-state row has no entry in the audit "
                           f"chain of {label} (inserted outside foureyes)")
        state, version, is_open, doc_text = row
        doc = json.loads(doc_text)
        if (state, version, bool(is_open)) != (doc["state"], doc["version"], doc["open"]):
            doc = {}  # the clear columns were edited: refused below like the document
        if (link(entry.prev, entry.body) != entry.hash
                or not self.chain.mac_ok(entry.hash, entry.mac)
                or json.loads(entry.body)["d"][1] != text_digest(doc_text)
                or doc.get("version") != entry.version):
            raise Tampered(f"case {case_id}: its current-state row does not match the audit "
                           f"chain of {label} (changed outside foureyes); run "
                           f"`foureyes audit verify`")
        doc = self.sealer.open_fields(doc, STATE_FIELDS, case_id)
        doc["spec"] = self.sealer.open_fields(doc["spec"], SPEC_FIELDS, case_id)
        return doc

    @staticmethod
    async def never_chained(db: Backend, case_id: str, current: Current) -> None:
        """Raises Tampered if the chain knows the case whose current-state row is missing
        (`current`: what `current` read of the case, in the same query)."""
        if current.entry is not None:
            if isinstance(db, Database) and db.dialect == "sqlite" and await _archived(
                    db, current.entry.seq):
                raise NotFound(f"case {case_id} was archived (retention: `foureyes archive`); "
                               f"it is in {ARCHIVE_DIR}/{db.path.stem}.archive.sqlite")
            raise Tampered(f"case {case_id}: its current-state row was deleted outside "
                           f"foureyes (the audit chain of {db.label} holds its events)")

    def opened_data(self, case_id: str, data: dict[str, Any]) -> dict[str, Any]:
        return self.sealer.open_fields(data, EVENT_FIELDS, case_id)


ARCHIVE_DIR = "archive"


async def _archived(db: Database, seq: int) -> bool:
    """Whether the live entry `seq` was moved to this file's archive (store/archive.py) under
    one of the live chain's markers; `audit verify` checks the archive and its markers whole."""
    path = db.path.parent / ARCHIVE_DIR / f"{db.path.stem}.archive.sqlite"
    if not path.exists() or not await db.look_up(
            "SELECT 1 FROM chain WHERE subject = ? LIMIT 1", (f"archive:{path.name}",)):
        return False
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT 1 FROM moved WHERE live_seq = ?", (seq,)).fetchone() is not None
    finally:
        conn.close()
