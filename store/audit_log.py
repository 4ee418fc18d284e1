"""Who did what, and what was refused: sign-ins, refused calls, rule proposals and approvals.

One row per event, written behind the answer. (A tamper-evident chain over these rows is the
audit journal's job; this is the record it will chain.)"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from foureyes.store.behind import WrittenBehind
from foureyes.store.database import Database

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
    def __init__(self, path: Path) -> None:
        super().__init__(Database(path, AUDIT_SCHEMA),
                         "INSERT INTO audit (at, event, actor, outcome, detail) VALUES (?, ?, ?, ?, ?)")

    def record(self, event: str, actor: str, outcome: str, detail: str) -> None:
        self.append((time.time(), event, actor[:200], outcome, detail[:2000]))

    async def since(self, start: float) -> list[dict[str, Any]]:
        await self.settle()
        rows = await self.db.read("SELECT at, event, actor, outcome, detail FROM audit "
                                  "WHERE at >= ? ORDER BY at", (start,))
        return [{"at": at, "event": e, "actor": a, "outcome": o, "detail": d}
                for at, e, a, o, d in rows]
