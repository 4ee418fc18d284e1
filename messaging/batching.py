"""Natural batching of calls to actor hosts.

A call to another process costs about the same whatever it carries, so calls to one host are
grouped: items that arrive while a call is in flight go together in the next one. At low load
a batch is one item and adds no wait; under load batches grow by themselves (measured at 250
cases/s: 7-8 case creations per call).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    def __init__(self, call: Callable[[list[T]], Awaitable[Sequence[R | Exception]]],
                 max_batch: int = 512, max_in_flight: int = 2) -> None:
        self._call = call
        self._max_batch = max_batch
        self._slots = asyncio.Semaphore(max_in_flight)
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._scheduled = False
        self.batches = 0
        self.items = 0

    async def submit(self, item: T) -> R:
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, fut))
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().create_task(self._flush())
        return await fut

    async def _flush(self) -> None:
        async with self._slots:
            self._scheduled = False
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch:]
            if self._pending and not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().create_task(self._flush())
            if not batch:
                return
            self.batches += 1
            self.items += len(batch)
            try:
                results = await self._call([item for item, _ in batch])
            except Exception as e:
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                return
            for (_, fut), result in zip(batch, results, strict=True):
                if fut.done():
                    continue
                if isinstance(result, Exception):
                    fut.set_exception(result)
                else:
                    fut.set_result(result)
