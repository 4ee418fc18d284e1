"""The operator directory in the shared store (`--database-url`): every version of the
directory file any gateway had, newest last, so gateways on other machines know the same
operators, roles, levels and disabled accounts.

Each machine keeps its file (security/directory.py reads it, `foureyes operators` and the
bank edit it); `follow` hands a change made there to the database, or takes the database's
newer version into the file. On a gateway's first look the newer of the two wins (a change
to a shared data directory's file that another gateway has not handed over yet must not be
undone), except that a directory this start made (the development one, on a machine that
joins) always gives way. Two changes on two machines between looks: the one the database
took last wins on both."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

from foureyes.security.files import write_private
from foureyes.store.backend import Opener, sqlite

DIRECTORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS directory (
    content BLOB NOT NULL,
    at REAL NOT NULL
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

    async def follow(self, file: Path, made_now: bool = False) -> bool:
        """Brings `file` and the database level; True if the file was replaced. `made_now`:
        this start made the file (it holds nothing of the bank's)."""
        local, mtime = await asyncio.to_thread(_read, file)
        rows = await self.db.read(
            "SELECT content, at FROM directory ORDER BY rowid DESC LIMIT 1")
        newest, newest_at = (bytes(rows[0][0]), float(rows[0][1])) if rows else (None, 0.0)
        if self._synced is None:  # the first look
            changed_here = not made_now and mtime > newest_at
        else:
            changed_here = _digest(local) != self._synced
        if newest is None or (changed_here and local != newest):
            await self.db.write([("INSERT INTO directory (content, at) VALUES (?, ?)",
                                  (local, time.time()))])
            self._synced = _digest(local)
            return False
        self._synced = _digest(newest)
        if newest == local:
            return False
        await asyncio.to_thread(write_private, file, newest)
        return True


def _read(file: Path) -> tuple[bytes, float]:
    return file.read_bytes(), file.stat().st_mtime


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
