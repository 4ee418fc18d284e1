"""SQLite on a cluster is safe or refused: each shard's host is pinned to the node whose disk
holds its file, never started elsewhere, and a file layout.json records as made that is not
there is refused loudly instead of replaced by an empty database."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
import ray
from foureyes.actors.shards import actor_name
from foureyes.errors import Unavailable
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.service.app import Service
from foureyes.service.settings import Settings
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.integration.conftest import _tokens_file, connect
from tests.integration.test_event_feed import withdrawal
from tests.integration.test_restarts import keys_on

pytestmark = pytest.mark.cluster
DISKS = ("foureyes_disk_head", "foureyes_disk_w1")


def _disk_nodes() -> dict[str, str]:
    return {r: n["NodeID"] for n in ray.nodes() if n["Alive"]
            for r in n["Resources"] if r.startswith("foureyes_disk_")}


async def _start(cluster, data_dir: Path, **overrides) -> Service:
    svc = Service(Settings(grpc_port=0, metrics_port=0, feed_port=0, console_port=0,
                           data_dir=data_dir, ray_address=cluster.address, case_shards=2,
                           customer_shards=1, evidence_gate=False, stop_grace=1.0, **overrides))
    await svc.start()
    if svc.credentials.new_tokens:
        _tokens_file(svc).write_text(json.dumps(svc.credentials.new_tokens))
    return svc


async def _nodes_of(svc: Service) -> dict[str, str]:
    s = svc.settings
    names = [("cases", i) for i in range(s.case_shards)] + [("customers", 0)]
    return {f"{role}-{i}": await ray.get_actor(actor_name(s.instance, role, i)).node.remote()
            for role, i in names}


async def _health(svc: Service, service: str) -> int:
    async with connect(svc) as ch:
        answer = await health_pb2_grpc.HealthStub(ch).Check(
            health_pb2.HealthCheckRequest(service=service))
        return int(answer.status)


async def test_hosts_spread_over_nodes_and_stay_on_theirs(cluster, tmp_path):
    data = tmp_path / "data"
    svc = await _start(cluster, data)
    try:
        first = await _nodes_of(svc)
        recorded = json.loads((data / "layout.json").read_text())
        disks = _disk_nodes()
        assert set(recorded["nodes"].values()) == set(DISKS)  # spread: both nodes hold some
        assert {n: disks[d] for n, d in recorded["nodes"].items()} == first
        assert set(recorded["made"]) == {"cases-0", "cases-1", "customers-0"}
        async with connect(svc) as ch:
            d = await pbg.TellerChannelStub(ch).Authorize(withdrawal("spread-1"))
            assert d.case_id
    finally:
        await svc.stop()
    svc = await _start(cluster, data)  # again: every shard on the node it was made on
    try:
        assert await _nodes_of(svc) == first
    finally:
        await svc.stop()


async def test_a_shard_whose_node_is_gone_is_not_started_elsewhere(cluster, tmp_path):
    data = tmp_path / "data"
    await (await _start(cluster, data)).stop()
    on_worker = [n for n, d in json.loads((data / "layout.json").read_text())["nodes"].items()
                 if d == "foureyes_disk_w1"]
    assert on_worker
    cluster.remove_node(cluster.worker)
    try:
        with pytest.raises(Unavailable, match="foureyes_disk_w1"):
            await _start(cluster, data)
    finally:
        cluster.worker = cluster.add_node(num_cpus=1, resources={"foureyes_disk_w1": 1})
        cluster.wait_for_nodes()
    svc = await _start(cluster, data)  # back: served from the node that holds the files
    try:
        nodes = await _nodes_of(svc)
        assert {nodes[n] for n in on_worker} == {_disk_nodes()["foureyes_disk_w1"]}
    finally:
        await svc.stop()


async def test_a_missing_database_is_refused_loudly(cluster, tmp_path):
    data = tmp_path / "data"
    svc = await _start(cluster, data)
    key = next(keys_on(1, 2, "miss"))
    async with connect(svc) as ch:
        await pbg.TellerChannelStub(ch).Authorize(withdrawal(key))
    await svc.stop()
    for suffix in ("", "-wal", "-shm"):
        (data / f"cases-1.sqlite{suffix}").unlink(missing_ok=True)
    svc = await _start(cluster, data)
    try:
        assert svc.refused == {1}
        assert "cases-1.sqlite" in svc.integrity[1][0]
        assert not (data / "cases-1.sqlite").exists()  # no empty database in its place
        status = health_pb2.HealthCheckResponse
        assert await _health(svc, "foureyes.shard.cases-1") == status.NOT_SERVING
        assert await _health(svc, "foureyes.shard.cases-0") == status.SERVING
        async with connect(svc) as ch:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await pbg.TellerChannelStub(ch).Authorize(withdrawal(key))
        assert refused.value.code() == grpc.StatusCode.DATA_LOSS
        assert "cases-1.sqlite" in (refused.value.details() or "")
    finally:
        await svc.stop()
