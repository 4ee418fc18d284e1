"""The resumable event feed: each shard's journal replayed after a cursor, then followed live.

Every case event carries its shard and its sequence number in that shard's journal
(store/cases.py). A subscriber names, per shard, the last number it has handled; it is sent
every event after that, in order per shard, first from the journal (a page at a time, through
the shard's host) and then as the hosts push them. A push is only a hint: one that skips a
number (a push was lost, or a commit failed) sends the stream back to the journal for that
shard, and so does a quiet second (a lost push with nothing after it), so nothing committed is
missed; what was sent before a reconnect may come again (at least once).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from typing import Any

from foureyes.errors import InvalidRequest, Unavailable

log = logging.getLogger(__name__)
KINDS = frozenset({"created", "offered", "offer-lapsed", "review-started", "approved-partly",
                   "approved", "rejected", "returned", "supplemented", "requeued", "escalated",
                   "cancelled", "expired"})
PAGE = 1000  # journal rows per trip to a host
LIVE_QUEUE = 20_000  # live events one stream may fall behind by before it reads the journal
POLL_SECONDS = 1.0  # with nothing pushed, read the journals again this often
RETRY_SECONDS = 0.5  # a host restarting: ask again after this
SHUTTING_DOWN = "shutting down"

# (shard, after seq, kinds, limit) -> (events after `after`, the last seq read)
Journal = Callable[[int, int, list[str], int], Awaitable[tuple[list[dict[str, Any]], int]]]


class _Live:
    """The pushed events one stream has not read yet; past LIVE_QUEUE it forgets them and
    reads the journals instead."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.overflowed = False

    def put(self, event: dict[str, Any] | None) -> None:
        if self.queue.qsize() >= LIVE_QUEUE:
            self.overflowed = True
            while not self.queue.empty():
                self.queue.get_nowait()
        self.queue.put_nowait(event)

    async def get(self) -> dict[str, Any] | None:
        """The next pushed event; None: read the journals (a quiet second, or an overflow)."""
        if self.overflowed:
            self.overflowed = False
            return None
        try:
            async with asyncio.timeout(POLL_SECONDS):
                return await self.queue.get()
        except TimeoutError:
            return None


class EventStreams:
    def __init__(self, journal: Journal, shards: int) -> None:
        self._journal = journal
        self.shards = shards
        self._live: set[_Live] = set()
        self.stopping = False

    def heard(self, payload: bytes) -> None:
        """An event a host pushed (the feed's JSON, as published)."""
        if not self._live:
            return
        try:
            event = json.loads(payload)
        except ValueError:
            return
        if isinstance(event, dict) and isinstance(event.get("seq"), int):
            for live in self._live:
                live.put(event)

    def stop(self) -> None:
        """The service is stopping: every stream ends with UNAVAILABLE now."""
        self.stopping = True
        for live in self._live:
            live.queue.put_nowait(None)

    def cursor(self, after: Mapping[int, int]) -> dict[int, int]:
        wrong = [s for s in after if not 0 <= s < self.shards]
        if wrong:
            raise InvalidRequest(f"no shard {wrong[0]}: this service has shards 0 to "
                                 f"{self.shards - 1}")
        if any(seq < 0 for seq in after.values()):
            raise InvalidRequest("a cursor's sequence numbers are 0 or more")
        return {s: after.get(s, 0) for s in range(self.shards)}

    async def follow(self, after: Mapping[int, int], kinds: Collection[str] = (),
                     live: bool = True) -> AsyncIterator[dict[str, Any]]:
        """Every event after the cursor `after` (shard -> last seq handled; a shard left out
        from its beginning), of `kinds` (empty: all); then, if `live`, each new one."""
        unknown = set(kinds) - KINDS
        if unknown:
            raise InvalidRequest(f"unknown event kinds {sorted(unknown)}; kinds are "
                                 f"{', '.join(sorted(KINDS))}")
        wanted = sorted(kinds)
        cursor = self.cursor(after)
        pushed = _Live()
        self._live.add(pushed)  # before reading the journals, so nothing falls in between
        try:
            for n in range(self.shards):
                async for e in self._catch_up(n, cursor, wanted):
                    yield e
            while live:
                if self.stopping:
                    raise Unavailable(SHUTTING_DOWN)
                event = await pushed.get()
                if self.stopping:
                    raise Unavailable(SHUTTING_DOWN)
                if event is None:
                    for n in range(self.shards):
                        async for e in self._catch_up(n, cursor, wanted):
                            yield e
                    continue
                shard, seq = event.get("shard", -1), event["seq"]
                if shard not in cursor or seq <= cursor[shard]:
                    continue  # sent already (from the journal)
                if seq == cursor[shard] + 1:
                    cursor[shard] = seq
                    if not wanted or event.get("kind") in wanted:
                        yield event
                else:  # a number skipped: the journal has what the push lost
                    async for e in self._catch_up(shard, cursor, wanted):
                        yield e
        finally:
            self._live.discard(pushed)

    async def _catch_up(self, shard: int, cursor: dict[int, int], kinds: list[str]
                        ) -> AsyncIterator[dict[str, Any]]:
        while True:
            before = cursor[shard]
            try:
                events, last = await self._journal(shard, before, kinds, PAGE)
            except Unavailable:  # the host is restarting: its journal is there after it
                if self.stopping:
                    raise Unavailable(SHUTTING_DOWN) from None
                await asyncio.sleep(RETRY_SECONDS)
                continue
            for event in events:
                if event["seq"] > cursor[shard]:
                    cursor[shard] = event["seq"]
                    yield event
            cursor[shard] = max(cursor[shard], last)
            if last - before < PAGE:
                return
