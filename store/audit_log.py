"""Who did what, and what was refused: sign-ins, refused calls, rule proposals and approvals.

One row per event, written behind the answer, each chained (store/chain.py) in the same
transaction. The detail (a refusal's message may quote what the caller sent) is sealed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from foureyes.store.backend import Opener, sqlite
from foureyes.store.behind import WrittenBehind
from foureyes.store.chain import Chain
from foureyes.store.sealing import AtRest

AUDIT_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    at REAL NOT NULL,
    event TEXT NOT NULL,
    actor TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
"""


class AuditLog(WrittenBehind):
    def __init__(self, path: Path, at_rest: AtRest | None = None,
                 opener: Opener = sqlite) -> None:
        keys = at_rest or AtRest.development()
        self.sealer = keys.sealer
        super().__init__(opener(path, AUDIT_SCHEMA, False, Chain(path.stem, keys.chain_key)),
                         "INSERT INTO audit (at, event, actor, outcome, detail) VALUES (?, ?, ?, ?, ?)",
                         "audit")

    def record(self, event: str, actor: str, outcome: str, detail: str) -> None:
        self.append((time.time(), event, actor[:200], outcome,
                     self.sealer.seal(detail[:2000])))

    async def since(self, start: float) -> list[dict[str, Any]]:
        await self.settle()
        rows = await self.db.read("SELECT at, event, actor, outcome, detail FROM audit "
                                  "WHERE at >= ? ORDER BY at", (start,))
        return [{"at": at, "event": e, "actor": a, "outcome": o, "detail": self.sealer.open(d)}
                for at, e, a, o, d in rows]
