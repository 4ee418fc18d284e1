"""Per-hour counters of the gRPC calls a gateway answered, by method and status code.

The decision log holds only successful decisions; the error interceptor sees every unary
call, failed ones too, and reports each here. Calls are added up in memory and written behind,
one upsert per (hour, method, status) every FLUSH_SECONDS, into `api-<instance>.sqlite`:
already a roll-up, read as it is by the statistics. A crash loses at most the last second.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

from foureyes.store.backend import Opener, sqlite
from foureyes.store.histogram import timing_table
from foureyes.store.rollup import Timing, hour_of

FLUSH_SECONDS = 1.0
TABLE = timing_table("api_calls", ("hour", "method", "code"), ("INTEGER", "TEXT", "TEXT"))


class ApiCalls:
    def __init__(self, path: Path, opener: Opener = sqlite) -> None:
        self.db = opener(path, TABLE.create, False, None)
        self._pending: dict[tuple[int, str, str], Timing] = defaultdict(Timing)
        self._flusher: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await self.db.open()

    def record(self, at: float, method: str, code: str, seconds: float) -> None:
        """One answered call: `method` as gRPC names it (/foureyes.v1.TellerChannel/Authorize),
        `code` the status name (OK, INVALID_ARGUMENT, ...)."""
        self._pending[hour_of(at), method, code].add(seconds)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        pending, self._pending = self._pending, defaultdict(Timing)
        if pending:
            await self.db.write([(TABLE.upsert, (*k, t.n, t.total, t.longest, *t.buckets))
                                 for k, t in pending.items()])

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
        await self.flush()
        await self.db.close()
