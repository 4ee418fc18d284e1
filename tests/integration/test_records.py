"""Records a regulator can trust, end to end: personal numbers never in clear in the data
directory (WAL files included), the logs or the feed; a journal edited while the service was
stopped is named by `audit verify`, and the forged state is not told to a watcher."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path

import grpc
import pytest
import ray
import zmq
import zmq.asyncio
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.service.cli import main
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.integration.conftest import ALL_SKILLS, connect, seat_of

pytestmark = pytest.mark.integration

ID_NO, CARD, PHONE = "110101199003071234", "6222021234567890123", "13812345678"
SECRETS = [s.encode() for s in (ID_NO, CARD, PHONE)]


def request(key: str, amount: str = "80000"):
    return pb.TellerRequest(
        operator_id="teller-1", outlet_id="0101", terminal_id="T1",
        transaction=pb.Transaction(code="CASH_WITHDRAWAL", amount=amount, currency="CNY",
                                   account=CARD, customer_id=ID_NO,
                                   idempotency_key=f"{key}-{PHONE}",
                                   extra={"phone": PHONE, "id_no": ID_NO, "card": CARD}))


async def feed_of(service):
    sub = zmq.asyncio.Context.instance().socket(zmq.SUB)
    sub.connect(service.gateway.feed.endpoint)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    for _ in range(100):  # joined once a probe gets through
        service.gateway.feed.publish(b"probe", b"{}")
        if await sub.poll(100):
            break
    return sub


def in_clear(data: bytes) -> list[bytes]:
    return [s for s in SECRETS if s in data]


def worker_logs_in_clear() -> dict[str, list[bytes]]:
    logs = Path(ray._private.worker._global_node.get_logs_dir_path())
    found = {p.name: in_clear(p.read_bytes()) for p in logs.glob("worker-*") if p.is_file()}
    return {n: f for n, f in found.items() if f}


def scan(data_dir) -> dict[str, list[bytes]]:
    """Every file of the data directory, byte for byte: the numbers found in clear."""
    return {str(p.relative_to(data_dir)): in_clear(p.read_bytes())
            for p in data_dir.rglob("*") if p.is_file()}


async def test_no_personal_number_in_clear_on_disk_in_logs_or_on_the_feed(start_service, caplog):
    caplog.set_level(logging.INFO)
    svc = await start_service()
    sub = await feed_of(svc)
    async with connect(svc) as ch:
        teller = pbg.TellerChannelStub(ch)
        seat = await seat_of(svc, ch, "seat-pii", "auth-pii", 2, ALL_SKILLS).connect()
        rejected = await teller.Authorize(request("a"))
        await teller.Authorize(request("small", "100"))  # the fast path, logged as a decision
        seat.accept((await seat.next_of("offer")).offer.case.case_id)
        case = (await seat.next_of("assigned")).assigned.case
        assert case.customer_id == ID_NO  # the seat must see whom it authorizes (README)
        seat.decide(rejected.case_id, case.version, pb.REJECT, reason_code="ID_MISMATCH",
                    reason_text=f"ID {ID_NO} does not match, call {PHONE}")
        await seat.next_of("decided")
        returned = await teller.Authorize(request("b"))
        seat.accept((await seat.next_of("offer")).offer.case.case_id)
        case = (await seat.next_of("assigned")).assigned.case
        seat.decide(returned.case_id, case.version, pb.RETURN, reason_code="MISSING",
                    reason_text=f"card {CARD} unreadable", missing=["id_document"])
        await seat.next_of("decided")
        await teller.SupplementCase(pb.SupplementCaseRequest(
            case_id=returned.case_id, supplied=["id_document"], note=f"rescanned {CARD}"))
        await seat.next_of("offer")
        await teller.CancelCase(pb.CancelCaseRequest(case_id=returned.case_id,
                                                     reason=f"customer {PHONE} left"))
        with pytest.raises(grpc.aio.AioRpcError):  # a refusal quoting what was sent
            await teller.CancelCase(pb.CancelCaseRequest(case_id=f"C{ID_NO}"))
        events = await svc._hosts[0].events.remote(rejected.case_id)
        assert ID_NO in json.dumps(events, ensure_ascii=False)  # opened for foureyes itself
        await seat.close()
    await svc.gateway.decisions.settle()
    await svc.gateway.audit.settle()
    running = scan(svc.settings.data_dir)  # while running: the WAL files hold the newest rows
    assert any(name.endswith("-wal") for name in running)
    assert {n: found for n, found in running.items() if found} == {}
    feed = []
    while await sub.poll(500):
        feed.append(b"".join(await sub.recv_multipart()))
    await svc.stop()  # the shutdown checkpoint goes on the feed too
    while await sub.poll(500):
        feed.append(b"".join(await sub.recv_multipart()))
    sub.close()

    kinds = [json.loads(f[f.index(b"{"):]).get("kind") for f in feed if b"{" in f]
    assert "rejected" in kinds and "cancelled" in kinds
    assert any(f.startswith(b"audit.checkpoint") for f in feed)
    assert [f for f in feed if in_clear(f)] == []
    assert {n: found for n, found in scan(svc.settings.data_dir).items() if found} == {}
    assert in_clear(caplog.text.encode()) == []
    assert worker_logs_in_clear() == {}  # the actor hosts' logs


async def test_a_journal_forged_while_stopped_is_named_and_never_told(start_service, tmp_path,
                                                                     capsys):
    svc = await start_service()
    async with connect(svc) as ch:
        teller = pbg.TellerChannelStub(ch)
        seat = await seat_of(svc, ch, "seat-t", "auth-t", 2, ALL_SKILLS).connect()
        d = await teller.Authorize(request("forged"))
        seat.accept((await seat.next_of("offer")).offer.case.case_id)
        case = (await seat.next_of("assigned")).assigned.case
        seat.decide(d.case_id, case.version, pb.REJECT, reason_code="NO")
        await seat.next_of("decided")
        await seat.close()
    await svc.stop()
    data = svc.settings.data_dir
    db = data / "cases-0.sqlite"
    conn = sqlite3.connect(db)  # left open: the forgery stays in the WAL
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("UPDATE cases SET state = 'APPROVED', doc = replace(doc, '\"REJECTED\"', "
                 "'\"APPROVED\"') WHERE case_id = ?", (d.case_id,))
    conn.commit()
    assert main(["audit", "verify", "--data-dir", str(data)]) == 1
    assert f"cases-0: TAMPERED: cases row of case {d.case_id} changed" in capsys.readouterr().out

    svc = await start_service(data)  # the shard is refused, the service says so
    async with connect(svc) as ch:
        health = health_pb2_grpc.HealthStub(ch)
        status = await health.Check(health_pb2.HealthCheckRequest(service="foureyes.shard.cases-0"))
        assert status.status == health_pb2.HealthCheckResponse.NOT_SERVING
        assert (await health.Check(health_pb2.HealthCheckRequest())).status == \
            health_pb2.HealthCheckResponse.NOT_SERVING
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await anext(aiter(pbg.TellerChannelStub(ch).WatchCase(
                pb.WatchCaseRequest(case_id=d.case_id))))
        assert e.value.code() == grpc.StatusCode.DATA_LOSS
        assert "audit chain does not verify" in e.value.details()
    await svc.stop()

    svc = await start_service(data, accept_tampered=True)  # the override: served, audited
    async with connect(svc) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as e:  # yet the forged state is not told
            await anext(aiter(pbg.TellerChannelStub(ch).WatchCase(
                pb.WatchCaseRequest(case_id=d.case_id))))
        assert e.value.code() == grpc.StatusCode.DATA_LOSS
        fine = await pbg.TellerChannelStub(ch).Authorize(request("after", "100"))
        assert fine.outcome == pb.NOT_REQUIRED
    audit = await svc.gateway.audit.since(0)
    assert [a for a in audit if a["event"] == "tampered-served"
            and d.case_id in a["detail"]]
    await svc.stop()
    conn.close()
    await asyncio.sleep(0)
