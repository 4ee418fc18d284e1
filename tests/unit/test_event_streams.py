"""EventStreams on its own: a journal kept in a list stands in for the case hosts."""

from __future__ import annotations

import asyncio
import json

import pytest
from foureyes.errors import InvalidRequest, Unavailable
from foureyes.gateway.events import EventStreams


class Journals:
    def __init__(self, shards: int) -> None:
        self.rows: dict[int, list[dict]] = {s: [] for s in range(shards)}
        self.reads = 0
        self.down = 0  # the next reads that fail as a restarting host would

    def commit(self, shard: int, kind: str = "created") -> dict:
        event = {"shard": shard, "seq": len(self.rows[shard]) + 1, "kind": kind,
                 "case_id": f"C{shard}-{len(self.rows[shard])}", "version": 1}
        self.rows[shard].append(event)
        return event

    async def read(self, shard: int, after: int, kinds: list[str], limit: int):
        self.reads += 1
        if self.down:
            self.down -= 1
            raise Unavailable("restarting")
        page = [e for e in self.rows[shard] if e["seq"] > after][:limit]
        last = page[-1]["seq"] if page else after
        return [e for e in page if not kinds or e["kind"] in kinds], last


async def take(stream, n: int) -> list[tuple[int, int]]:
    return [(e["shard"], e["seq"]) for e in [await anext(stream) for _ in range(n)]]


async def test_replay_then_live_with_a_lost_push_filled_from_the_journal():
    journals = Journals(2)
    for _ in range(3):
        journals.commit(0)
    journals.commit(1)
    streams = EventStreams(journals.read, 2)
    stream = streams.follow({0: 1}, (), live=True)
    assert await take(stream, 3) == [(0, 2), (0, 3), (1, 1)]
    journals.commit(1)  # its push is lost
    streams.heard(json.dumps(journals.commit(1)).encode())  # this one skips a number
    assert await take(stream, 2) == [(1, 2), (1, 3)]
    streams.heard(json.dumps(journals.rows[1][1]).encode())  # a late duplicate: not sent again
    streams.heard(json.dumps(journals.commit(0)).encode())
    assert await take(stream, 1) == [(0, 4)]
    streams.stop()
    with pytest.raises(Unavailable, match="shutting down"):
        await anext(stream)


async def test_a_quiet_feed_still_finds_what_was_committed_and_a_restarting_host_is_waited_for():
    journals = Journals(1)
    streams = EventStreams(journals.read, 1)
    stream = streams.follow({}, ["approved"], live=True)
    journals.down = 2
    pending = asyncio.ensure_future(anext(stream))
    journals.commit(0, "created")  # filtered out, but the cursor moves past it
    journals.commit(0, "approved")  # no push at all: found at the next quiet second
    assert (await asyncio.wait_for(pending, 30))["seq"] == 2
    await stream.aclose()


async def test_bad_cursors_and_kinds_are_refused():
    streams = EventStreams(Journals(2).read, 2)
    with pytest.raises(InvalidRequest, match="no shard 2"):
        await anext(streams.follow({2: 0}))
    with pytest.raises(InvalidRequest, match="unknown event kinds"):
        await anext(streams.follow({}, ["approve"]))
    replay = [e async for e in streams.follow({}, live=False)]
    assert replay == []
