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
from typing import Any

from foureyes.errors import NotFound, Tampered
from foureyes.store.backend import Backend
from foureyes.store.chain import Chain, Cover, digest, link, text_digest
from foureyes.store.database import Database
from foureyes.store.sealing import AtRest, Sealer

SPEC_FIELDS = ("customer_id", "account_masked")
STATE_FIELDS = ("reason_text",)
EVENT_FIELDS = ("reason_text", "reason", "note")


def event_digest(case_id: str, version: int, at: float, kind: str, state: str, data: str) -> str:
    """The digest a chain entry holds of a `case_events` row (its columns as stored)."""
    return digest(case_id, version, at, kind, state, data)


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
            doc_text = known[1] + json.dumps(state, ensure_ascii=False)[1:]
        else:
            doc = json.loads(text)
            spec_text = json.dumps(doc.pop("spec"), ensure_ascii=False)
            spec = self.sealer.seal_fields(json.loads(spec_text), SPEC_FIELDS, cid)
            sealed_spec = json.dumps(spec, ensure_ascii=False)
            doc = self.sealer.seal_fields(doc, STATE_FIELDS, cid)
            doc_text = f'{{"spec": {sealed_spec}, ' + json.dumps(doc, ensure_ascii=False)[1:]
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
        data = json.dumps(event.get("data", {}), ensure_ascii=False)  # as CaseStore stores it
        return Cover("case", (event_digest(cid, event["version"], event["at"], event["kind"],
                                           event["state"], data), text_digest(row["doc"])),
                     cid, event["version"])

    async def opened(self, db: Backend, case_id: str, doc_text: str,
               columns: tuple[str, int, bool] | None = None) -> dict[str, Any]:
        """The stored document, once the chain vouches for it, with its fields opened."""
        rows = await db.look_up("SELECT version, body, prev, hash, mac FROM chain WHERE subject = ? "
                          "ORDER BY version DESC LIMIT 1", (case_id,))
        if not rows:
            raise Tampered(f"case {case_id}: its current-state row has no entry in the audit "
                           f"chain of {db.label} (inserted outside foureyes)")
        version, body, prev, h, mac = rows[0]
        doc = json.loads(doc_text)
        if columns is not None and columns != (doc["state"], doc["version"], doc["open"]):
            doc = {}  # the clear columns were edited: refused below like the document
        if (link(prev, body) != h or not self.chain.mac_ok(h, mac)
                or json.loads(body)["d"][1] != text_digest(doc_text)
                or doc.get("version") != version):
            raise Tampered(f"case {case_id}: its current-state row does not match the audit "
                           f"chain of {db.label} (changed outside foureyes); run "
                           f"`foureyes audit verify`")
        doc = self.sealer.open_fields(doc, STATE_FIELDS, case_id)
        doc["spec"] = self.sealer.open_fields(doc["spec"], SPEC_FIELDS, case_id)
        return doc

    @staticmethod
    async def never_chained(db: Backend, case_id: str) -> None:
        """Raises Tampered if the chain knows the case whose current-state row is missing."""
        rows = await db.look_up("SELECT MAX(seq) FROM chain WHERE subject = ?", (case_id,))
        if rows and rows[0][0] is not None:
            if isinstance(db, Database) and db.dialect == "sqlite" and await _archived(
                    db, int(rows[0][0])):
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
