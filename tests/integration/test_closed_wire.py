"""The internal wire of a running service is closed: forged frames from ZeroMQ peers without
the cluster's key, sent to a real case host and to the gateway's inbox, change nothing."""

from __future__ import annotations

import asyncio
import json
import pickle

import pytest
import ray
import zmq
from foureyes.actors.shards import actor_name, shard_of
from foureyes.messaging import codec
from foureyes.messaging.keys import WireKeys
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg

from tests.integration.test_end_to_end import withdrawal

pytestmark = pytest.mark.integration


def peers_without_the_key(endpoint: str, kind: int, server_key: bytes) -> list[zmq.Socket]:
    """A plain ZeroMQ peer, and a CURVE peer with a key pair of its own (the server's public
    key is no secret, so an attacker may have it)."""
    ctx = zmq.Context.instance()
    plain, stranger = ctx.socket(kind), ctx.socket(kind)
    other = WireKeys.generate()
    stranger.curve_secretkey, stranger.curve_publickey = other.secret, other.public
    stranger.curve_serverkey = server_key
    for sock in (plain, stranger):
        sock.linger = 0
        sock.connect(endpoint)
    return [plain, stranger]


async def test_forged_frames_to_a_case_host_and_the_inbox_are_dropped_with_no_effect(service, channel):
    teller = pbg.TellerChannelStub(channel)
    d = await teller.Authorize(withdrawal("forged-1", "60000"))
    assert d.outcome == pb.REQUIRED
    before = await service.gateway.case(d.case_id, "teller")
    assert before["state"] == "QUEUED"  # no seat: it waits

    s = service.settings
    host = ray.get_actor(actor_name(s.instance, "cases", shard_of(d.case_id, s.case_shards)))
    endpoint = await host.endpoint.remote()
    assert endpoint.startswith("tcp://127.0.0.1:")  # a local Ray: loopback only
    cancel = [("cancel", (d.case_id, "forged"))]
    forged = [[b"r1", codec.encode(["deliver", [cancel]])], [b"", codec.encode(["deliver", [cancel]])],
              [b"r2", pickle.dumps(("deliver", (cancel,)), protocol=5)]]
    dealers = peers_without_the_key(endpoint, zmq.DEALER, service.keys.public)
    for sock in dealers:
        for frames in forged:
            sock.send_multipart(frames)

    inbox = service.gateway.inbox
    assert inbox.endpoint.startswith("tcp://127.0.0.1:")
    topic = f"case/{d.case_id}"
    pushes = peers_without_the_key(inbox.endpoint, zmq.PUSH, service.keys.public)
    published, received = service.gateway.feed.published, inbox.received
    for sock in pushes:
        sock.send_multipart([topic.encode(), json.dumps(
            {**before, "state": "APPROVED", "version": 99, "final": True}).encode(),
            b"case.approved", b'{"kind": "approved"}'])
        sock.send_multipart([b"seat/seat-1", b'{"type": "offer", "case_id": "C-forged"}'])

    await asyncio.sleep(1.5)  # time enough for the handshakes to fail and any frame to land
    for sock in dealers:
        assert not sock.poll(0)  # no answer either
    after = await service.gateway.case(d.case_id, "teller")
    assert (after["state"], after["version"]) == (before["state"], before["version"])
    latest = inbox.latest(topic)
    assert latest is None or latest["version"] < 99
    assert (service.gateway.feed.published, inbox.received) == (published, received)
    watched = await teller.WatchCase(pb.WatchCaseRequest(case_id=d.case_id)).read()
    assert watched.state == pb.QUEUED and not watched.final

    # the service's own processes still talk over the same sockets
    cancelled = await teller.CancelCase(pb.CancelCaseRequest(case_id=d.case_id, reason="customer left"))
    assert cancelled.state == pb.CANCELLED
    for sock in dealers + pushes:
        sock.close()


async def test_frames_a_keyed_peer_garbles_are_dropped_and_counted_in_metrics(service):
    """CURVE keeps strangers out before any frame; what a peer with the key sends that does
    not decode, or names a call not allowed, is dropped by the host and shows on /metrics."""
    from foureyes.messaging.keys import connect_securely
    from prometheus_client import generate_latest

    s = service.settings
    host = ray.get_actor(actor_name(s.instance, "cases", 0))
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    connect_securely(sock, service.keys)
    sock.connect(await host.endpoint.remote())
    for frames in ([b"r1", b"\xc1 not msgpack"], [b"r2", codec.encode(["exec", ["rm -rf /"]])],
                   [b"r3", pickle.dumps(("deliver", ()), protocol=5)]):
        sock.send_multipart(frames)
    line = 'foureyes_dropped_frames{socket="cases-0"} 3.0'
    for _ in range(40):  # the gateway reads the hosts' counts on its heartbeat (2 s)
        metrics = generate_latest(service.metrics.registry).decode()
        if line in metrics:
            break
        await asyncio.sleep(0.25)
    assert line in metrics
    assert 'foureyes_dropped_frames{socket="inbox"} 0.0' in metrics
    sock.close()
