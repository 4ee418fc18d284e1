"""Rows written behind the answer: appended in memory, committed in a batch every
FLUSH_SECONDS. For records nobody waits for; a crash loses at most the last batch.

With a chain (`kind`), each row gets its chain entry in the same batch's transaction: the
chain costs no commit of its own."""

from __future__ import annotations

import asyncio
from typing import Any

from foureyes.store.backend import Backend
from foureyes.store.chain import Cover, digest

FLUSH_SECONDS = 0.1


class WrittenBehind:
    def __init__(self, db: Backend, insert: str, kind: str = "") -> None:
        self.db = db
        self._insert = insert
        self._kind = kind
        self._rows: list[tuple[Any, ...]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await self.db.open()

    def append(self, row: tuple[Any, ...]) -> None:
        self._rows.append(row)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        rows, self._rows = self._rows, []
        if rows:
            covers = ([Cover(self._kind, (digest(*row),)) for row in rows]
                      if self.db.chain is not None else None)
            await self.db.write([(self._insert, row) for row in rows], covers)

    async def settle(self) -> None:
        """Every row appended so far is committed (also those a flush has taken and not yet
        committed): for reading them back."""
        if self._flusher is not None and not self._flusher.done():
            await self._flusher
        await self.flush()

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
        await self.flush()
        await self.db.close()
