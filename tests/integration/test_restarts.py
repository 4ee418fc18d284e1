"""Restarts keep their promises: a seat reviewing a case on a restarted case host is told
(`revoked`) in every layout, and no watcher is ever told a version lower than one it saw."""

from __future__ import annotations

import asyncio

import grpc
import pytest
import ray
from foureyes.actors.shards import actor_name, shard_of
from foureyes.gateway.gateway import case_id_for
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg

from tests.integration.conftest import running, seat_of
from tests.integration.test_event_feed import Load, restart, withdrawal

pytestmark = pytest.mark.integration


def keys_on(shard: int, shards: int, prefix: str):
    return (k for k in (f"{prefix}-{i}" for i in range(10_000))
            if shard_of(case_id_for("teller", k), shards) == shard)


@pytest.mark.parametrize(("shards", "killed"), [(1, 0), (2, 0), (2, 1)])
async def test_a_seat_reviewing_on_a_restarted_case_host_is_told_revoked(start_service, shards,
                                                                          killed):
    """One shard: case host 0 also holds the dispatcher, which restarts with it."""
    async with running(start_service, case_shards=shards) as (svc, channel):
        teller = pbg.TellerChannelStub(channel)
        seat = await seat_of(svc, channel, "seat-v", "auth-v", 2, ["cash"]).connect()
        d = await teller.Authorize(withdrawal(next(keys_on(killed, shards, "rv"))))
        seat.accept((await seat.next_of("offer")).offer.case.case_id)
        assigned = (await seat.next_of("assigned")).assigned.case
        await restart(ray.get_actor(actor_name(svc.settings.instance, "cases", killed)))
        revoked = (await seat.next_of("revoked", timeout=20)).revoked
        assert (revoked.case_id, revoked.reason) == (d.case_id, "case host restarted")
        # the old review is over: a decision on it is refused, never applied; the case is
        # queued again and comes back to the seat, now free, to be decided
        seat.decide(d.case_id, assigned.version, pb.APPROVE)
        got: dict[str, pb.SeatEvent] = {}
        while not {"error", "offer"} <= got.keys():
            event = await seat.next(timeout=30)
            got.setdefault(event.WhichOneof("body"), event)
        assert got["error"].error.case_id == d.case_id
        assert got["error"].error.code in ("FAILED_PRECONDITION", "PERMISSION_DENIED")
        offer = got["offer"].offer.case
        assert offer.case_id == d.case_id and offer.version > assigned.version
        seat.accept(d.case_id)
        again = (await seat.next_of("assigned")).assigned.case
        seat.decide(d.case_id, again.version, pb.APPROVE)
        assert (await seat.next_of("decided")).decided.state == pb.APPROVED
        await seat.close()


@pytest.mark.parametrize("killed", [0, 1])
async def test_no_watcher_sees_a_version_lower_than_it_saw_through_a_host_kill(start_service,
                                                                               killed):
    async with running(start_service, case_shards=2, stop_grace=1) as (svc, channel):
        teller = pbg.TellerChannelStub(channel)
        seats = [await seat_of(svc, channel, f"seat-w{i}", f"auth-w{i}", 2, ["cash"],
                               capacity=2).connect() for i in range(2)]
        seen: dict[str, list[int]] = {}  # case id -> every version its watchers were told
        cases = [(await teller.Authorize(withdrawal(f"w-{i}"))).case_id for i in range(30)]

        async def watch(case_id: str) -> None:
            versions = seen.setdefault(case_id, [])
            while True:  # a watch ended by a restarting host is started again
                try:
                    async for u in teller.WatchCase(pb.WatchCaseRequest(case_id=case_id)):
                        assert not versions or u.version >= versions[-1], (case_id, versions, u)
                        versions.append(u.version)
                        if u.final:
                            return
                except grpc.aio.AioRpcError as e:
                    assert e.code() == grpc.StatusCode.UNAVAILABLE, e
                    await asyncio.sleep(0.2)

        watchers = [asyncio.create_task(watch(c)) for c in cases]
        load = Load(svc, channel, seats)
        await asyncio.sleep(1.0)
        await restart(ray.get_actor(actor_name(svc.settings.instance, "cases", killed)))
        await asyncio.wait_for(asyncio.gather(*watchers), 120)
        await load.stop()
        for case_id in cases:  # every one was decided, and a new watch starts where it ended
            final = await teller.WatchCase(pb.WatchCaseRequest(case_id=case_id)).read()
            assert final.final and final.version == seen[case_id][-1]
            versions = seen[case_id]
            assert versions == sorted(versions)
        for s in seats:
            await s.close()
