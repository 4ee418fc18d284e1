"""The gateway's part in the statistics: keeps the data directory's roll-ups up to date,
counts the calls it answers, and answers managers' questions.

The roll-up runs in a worker thread every REFRESH_SECONDS (SQLite does most of the work
outside the GIL) and once more before each question, so a question reads at most the rows of
the last few seconds raw. One lock: one refresh or question at a time on the roll-up's
connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from foureyes.store.api_calls import ApiCalls
from foureyes.store.rollup import RollUp
from foureyes.store.stats import Report, Stats, check

log = logging.getLogger(__name__)
REFRESH_SECONDS = 10.0


class StatsKeeper:
    def __init__(self, data_dir: Path, instance: str,
                 units_of: Callable[[str], Sequence[str]], database_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.rollup = RollUp(data_dir, units_of, database_url)
        self.calls = ApiCalls(data_dir / f"api-{instance}.sqlite")
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.calls.open()
        self._task = asyncio.create_task(self._keep_up())

    def record_call(self, method: str, code: str, seconds: float) -> None:
        self.calls.record(time.time(), method, code, seconds)

    async def _keep_up(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                async with self._lock:
                    await asyncio.to_thread(self.rollup.refresh)
            except Exception:  # a busy or damaged source: the next round tries again
                log.warning("statistics roll-up failed", exc_info=True)

    async def report(self, since: float, until: float, by: str, group: str, top: int) -> Report:
        check(since, until, by, group)  # refuse a bad question before any work
        await self.calls.flush()

        def answer() -> Report:
            self.rollup.refresh()
            stats = Stats(self.rollup.conn, sorted(self.data_dir.glob("api-*.sqlite")))
            return stats.report(since, until, by, group, top)

        async with self._lock:
            return await asyncio.to_thread(answer)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        async with self._lock:  # in a thread as its refreshes: a PostgreSQL reader runs a loop
            await asyncio.to_thread(self.rollup.close)
        await self.calls.close()
