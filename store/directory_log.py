"""The operator directory in the shared store (`--database-url`): every version of the
directory file any gateway had, newest last, so gateways on other machines know the same
operators, roles, levels and disabled accounts.

Each machine keeps its file (security/directory.py reads it, `foureyes operators` and the
bank edit it); `follow` hands a change made there to the database, or takes the database's
newer version into the file. On the first look the database's version wins: a machine that
joins has only the development directory made at its first start. Two changes on two
machines between looks: the one the database took last wins on both."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from foureyes.security.files import write_private
from foureyes.store.backend import Opener, sqlite

DIRECTORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS directory (
    content BLOB NOT NULL
);
"""


class DirectoryLog:
    def __init__(self, path: Path, opener: Opener = sqlite) -> None:
        self.db = opener(path, DIRECTORY_SCHEMA, False, None)
        self._synced: str | None = None  # digest of the file as it was at the last look

    async def open(self) -> None:
        await self.db.open()

    async def close(self) -> None:
        await self.db.close()

    async def follow(self, file: Path) -> bool:
        """Brings `file` and the database level; True if the file was replaced."""
        local = await asyncio.to_thread(file.read_bytes)
        rows = await self.db.read("SELECT content FROM directory ORDER BY rowid DESC LIMIT 1")
        newest = bytes(rows[0][0]) if rows else None
        changed_here = self._synced is not None and _digest(local) != self._synced
        if newest is None or (changed_here and local != newest):
            await self.db.write([("INSERT INTO directory (content) VALUES (?)", (local,))])
            self._synced = _digest(local)
            return False
        self._synced = _digest(newest)
        if newest == local:
            return False
        await asyncio.to_thread(write_private, file, newest)
        return True


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
