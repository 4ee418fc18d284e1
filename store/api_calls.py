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

from foureyes.store.database import Database
from foureyes.store.histogram import BUCKETS
from foureyes.store.rollup import Timing, hour_of

FLUSH_SECONDS = 1.0
_BUCKET_COLUMNS = [f"b{k}" for k in range(BUCKETS)]
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS api_calls (
    hour INTEGER NOT NULL, method TEXT NOT NULL, code TEXT NOT NULL,
    n INTEGER NOT NULL, total REAL NOT NULL, longest REAL NOT NULL,
    {", ".join(f"{b} INTEGER NOT NULL DEFAULT 0" for b in _BUCKET_COLUMNS)},
    PRIMARY KEY (hour, method, code)) WITHOUT ROWID;
"""
UPSERT = (
    f"INSERT INTO api_calls (hour, method, code, n, total, longest, {', '.join(_BUCKET_COLUMNS)}) "
    f"VALUES (?, ?, ?, ?, ?, ?, {', '.join('?' * BUCKETS)}) "
    "ON CONFLICT (hour, method, code) DO UPDATE SET n = n + excluded.n, "
    "total = total + excluded.total, longest = max(longest, excluded.longest), "
    + ", ".join(f"{b} = {b} + excluded.{b}" for b in _BUCKET_COLUMNS))


class ApiCalls:
    def __init__(self, path: Path) -> None:
        self.db = Database(path, SCHEMA)
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
            await self.db.write([(UPSERT, (*k, t.n, t.total, t.longest, *t.buckets))
                                 for k, t in pending.items()])

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
        await self.flush()
        await self.db.close()
