"""Messages to an actor host, carried in batches.

Every message to one host goes through its Mailbox: messages that arrive while a batch is in
flight travel together in the next one (one call over the wire instead of many), and the host
runs a batch's messages concurrently with `deliver`, so that their commits share one fsync. At
low load a batch is one message and adds no wait. Told messages (no answer wanted) travel
one-way: the ones told within one turn of the event loop go together, and the host logs
their failures.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from foureyes.errors import Unavailable
from foureyes.messaging.batching import Batcher
from foureyes.messaging.wire import WireClient, invoke

log = logging.getLogger(__name__)

Message = tuple[str, tuple[Any, ...]]


class Mailbox:
    """`entry`: the host's method that takes the batches, for a host that holds several
    actors (case host 0 holds the dispatcher too)."""

    def __init__(self, link: WireClient, entry: str = "deliver") -> None:
        async def send(batch: list[Message]) -> list[Any]:
            answers: list[Any] = await link.call(entry, batch)
            return answers

        self._link = link
        self._entry = entry
        self._batcher: Batcher[Message, Any] = Batcher(send)
        self._told: list[Message] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    async def ask(self, method: str, *args: Any) -> Any:
        """Send a message and wait for the answer (or the error the host raised)."""
        return await self._batcher.submit((method, args))

    def tell(self, method: str, *args: Any) -> None:
        """Send a message without waiting for it (the store backs every push)."""
        self._told.append((method, args))
        if len(self._told) == 1:
            asyncio.get_running_loop().call_soon(self._send_told)

    def _send_told(self) -> None:
        batch, self._told = self._told, []
        _run_told(self._tasks, self._link.send(self._entry, batch), "an actor host")


class LocalMailbox:
    """Messages to an actor in this process: the same asks and tells, as calls, without the
    wire or encoding (like Orleans' calls between grains of one silo). A tell runs in a task
    of its own, never inside the caller's turn."""

    def __init__(self, host: object) -> None:
        self._host = host
        self._tasks: set[asyncio.Task[Any]] = set()

    async def ask(self, method: str, *args: Any) -> Any:
        return await invoke(self._host, method, args, "message")

    def tell(self, method: str, *args: Any) -> None:
        _run_told(self._tasks, invoke(self._host, method, args, "message"), "an actor in this process")


def _run_told(tasks: set[asyncio.Task[Any]], told: Coroutine[Any, Any, Any], to: str) -> None:
    """Run a told message in a task of its own, kept in `tasks` until it ends; nobody waits
    for it, so its failure is logged here."""
    task = asyncio.get_running_loop().create_task(told)
    tasks.add(task)

    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("message to %s failed: %s", to, task.exception())

    task.add_done_callback(done)


async def deliver(host: object, batch: list[Message]) -> list[Any]:
    """Run a batch of messages on `host` concurrently; each answer is a value or the error."""
    answers = await asyncio.gather(*(invoke(host, m, a, "message") for m, a in batch),
                                   return_exceptions=True)
    return [Unavailable(f"{m} was interrupted") if isinstance(x, BaseException)
            and not isinstance(x, Exception) else x for (m, _), x in zip(batch, answers, strict=True)]
