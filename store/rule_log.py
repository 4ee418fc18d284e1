"""The rule registry in the shared store (`--database-url`): what each gateway's registry
(gateway/rule_registry.py, files in its own data directory) wrote, so that gateways on other
machines follow every publish, proposal and approval.

Two tables: the files of each published version, and the registry's log lines in the order
the database took them (`proposals` and `history` lines, as the registry's files hold them).
The newest `history` line names the active version for every gateway alike, whichever wrote
first locally. Gateways read the whole log on each heartbeat: it grows by a line per rule
change, and a cursor could skip a line another gateway's transaction commits late."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from foureyes.store.backend import Opener, sqlite
from foureyes.store.database import Statement

RULES_SCHEMA = """
CREATE TABLE IF NOT EXISTS rule_files (
    version TEXT PRIMARY KEY,
    files TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rule_log (
    kind TEXT NOT NULL,
    line TEXT NOT NULL
);
"""

# what the registry writes: ("files", {"version": v, "files": {name: content}}) or
# ("proposals" | "history", the line's entry)
Record = tuple[str, dict[str, Any]]


class RuleLog:
    def __init__(self, path: Path, opener: Opener = sqlite) -> None:
        self.db = opener(path, RULES_SCHEMA, False, None)

    async def open(self) -> None:
        await self.db.open()

    async def close(self) -> None:
        await self.db.close()

    async def append(self, records: list[Record]) -> None:
        """Committed on return."""
        if not records:
            return
        statements: list[Statement] = []
        for kind, entry in records:
            if kind == "files":
                statements.append(("INSERT OR IGNORE INTO rule_files (version, files) "
                                   "VALUES (?, ?)", (entry["version"],
                                                     json.dumps(entry["files"]))))
            else:
                statements.append(("INSERT INTO rule_log (kind, line) VALUES (?, ?)",
                                   (kind, _line(entry))))
        await self.db.write(statements)

    async def lines(self) -> list[tuple[str, str]]:
        """(kind, line) of every log line, in the database's order."""
        rows = await self.db.read("SELECT kind, line FROM rule_log ORDER BY rowid")
        return [(str(k), str(line)) for k, line in rows]

    async def files(self, version: str) -> dict[str, str] | None:
        rows = await self.db.read("SELECT files FROM rule_files WHERE version = ?", (version,))
        return json.loads(rows[0][0]) if rows else None


def _line(entry: dict[str, Any]) -> str:
    """As the registry writes its files' lines, so that a line is known by its text."""
    return json.dumps(entry, ensure_ascii=False)
