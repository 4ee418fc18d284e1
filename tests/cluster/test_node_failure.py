"""Kill the worker node holding a case host under load: calls to its shard fail at once with
UNAVAILABLE (not at their deadline), health and metrics say so, the shard is served again from
the same node when it returns (SQLite: its file is there), every acknowledged case is intact,
and a key retried through the outage made one case."""

from __future__ import annotations

import asyncio
import collections
import json
import time

import grpc
import pytest
from foureyes.protos import foureyes_pb2_grpc as pbg
from grpc_health.v1 import health_pb2

from tests.cluster.test_placement import _disk_nodes, _health, _nodes_of, _start
from tests.integration.conftest import connect
from tests.integration.test_event_feed import journals, withdrawal

pytestmark = pytest.mark.cluster
DEADLINE = 10.0


async def test_a_dead_node_fails_fast_and_its_shard_returns_intact(cluster, tmp_path):
    data = tmp_path / "data"
    svc = await _start(cluster, data)
    nodes = json.loads((data / "layout.json").read_text())["nodes"]
    pinned = sorted(n for n, d in nodes.items() if d == "foureyes_disk_w1")
    assert any(n.startswith("cases-") for n in pinned)
    acknowledged: dict[str, str] = {}  # key -> case id
    failures: collections.Counter[str] = collections.Counter()
    slowest_failure = 0.0
    stop = asyncio.Event()
    served_again_at = 0.0
    down_seen = False  # reported NOT_SERVING: an answer from its shard after is from its return

    async def client(teller: pbg.TellerChannelStub, n: int) -> None:
        nonlocal slowest_failure, served_again_at
        i = 0
        while not stop.is_set():
            key = f"load-{n}-{i}"
            while True:  # the same idempotency key until acknowledged
                started = time.monotonic()
                try:
                    d = await teller.Authorize(withdrawal(key), timeout=DEADLINE)
                except grpc.aio.AioRpcError as e:
                    failures[e.code().name] += 1
                    slowest_failure = max(slowest_failure, time.monotonic() - started)
                    await asyncio.sleep(0.05)
                    continue
                acknowledged[key] = d.case_id
                if down_seen and not served_again_at and svc_shard(d.case_id) in pinned:
                    served_again_at = time.monotonic()
                break
            i += 1

    def svc_shard(case_id: str) -> str:
        from foureyes.actors.shards import shard_of
        return f"cases-{shard_of(case_id, svc.settings.case_shards)}"

    try:
        async with connect(svc) as ch:
            teller = pbg.TellerChannelStub(ch)
            load = [asyncio.create_task(client(teller, n)) for n in range(8)]
            for _ in range(1200):  # some cases acknowledged before the kill
                if len(acknowledged) >= 40:
                    break
                await asyncio.sleep(0.05)
            killed_at = time.monotonic()
            cluster.remove_node(cluster.worker)
            shard = next(n for n in pinned if n.startswith("cases-"))
            status = health_pb2.HealthCheckResponse
            for _ in range(200):  # the supervisor's next look
                if await _health(svc, f"foureyes.shard.{shard}") == status.NOT_SERVING:
                    down_seen = True
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"{shard} was still reported serving")
            await asyncio.sleep(1.0)  # under load while the node is away
            returned_at = time.monotonic()
            cluster.worker = cluster.add_node(num_cpus=1, resources={"foureyes_disk_w1": 1})
            for _ in range(600):
                if served_again_at:
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.gather(*load)
            assert served_again_at, "the shard was not served again"
            assert await _health(svc, f"foureyes.shard.{shard}") == status.SERVING
            # from the node that holds its file
            assert (await _nodes_of(svc))[shard] == _disk_nodes()["foureyes_disk_w1"]
            print(f"\nnode kill -> served again {served_again_at - killed_at:.2f} s "
                  f"(node away {returned_at - killed_at:.2f} s, node back -> served "
                  f"{served_again_at - returned_at:.2f} s); failures {dict(failures)}, "
                  f"slowest failure {slowest_failure:.3f} s, {len(acknowledged)} acknowledged")
        assert failures and set(failures) == {"UNAVAILABLE"}  # none waited for its deadline
        metrics = svc.metrics.registry
        assert metrics.get_sample_value("foureyes_shard_unavailable_total", {"shard": shard}) >= 1
        assert metrics.get_sample_value("foureyes_host_restarts_total", {"shard": shard}) >= 1
    finally:
        await svc.stop()
    rows = journals(data, 2)
    created = collections.Counter(case_id for _, _, case_id, _, kind, _ in rows
                                  if kind == "created")
    assert set(acknowledged.values()) <= set(created)  # every acknowledged case is there
    assert max(created.values()) == 1  # one case per key, retried or not
