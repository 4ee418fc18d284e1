"""The internal wire is closed: only the cluster's key gets a frame in, and only well-formed
frames of allowed shapes reach a host (real sockets on loopback, no Ray)."""

import asyncio
import json
import pickle

import msgpack
import pytest
import zmq
from foureyes.actors.case import CaseSpec
from foureyes.errors import FoureyesError
from foureyes.messaging import codec, keys
from foureyes.messaging.bus import Inbox, Outbox
from foureyes.messaging.keys import WireKeys, connect_securely
from foureyes.messaging.mailbox import deliver
from foureyes.messaging.wire import WireClient, WireServer

from tests.unit.specs import spec

KEYS = WireKeys.generate()
SETTLE = 0.5  # seconds for a handshake (and a refusal) to run its course on loopback


class Desk:
    def __init__(self):
        self.seen = []

    def enqueue(self, item):
        self.seen.append(("enqueue", item))

    def withdraw(self, case_id):
        self.seen.append(("withdraw", case_id))


class Host:
    def __init__(self):
        self.seen = []
        self.desk = Desk()

    def remember(self, item):
        self.seen.append(item)
        return len(self.seen)

    def create(self, specs):
        self.seen.extend(specs)
        return [s.case_id for s in specs]

    def _reset(self):
        self.seen.clear()

    def close(self):  # public, but not a message: not in the allow-list
        self.seen.append("closed")

    async def dispatch(self, batch):
        return await deliver(self.desk, batch)


def serve():
    server = WireServer(Host(), KEYS, {"remember", "create"}, {"dispatch": {"enqueue", "withdraw"}})
    server.start("127.0.0.1")
    return server


def dealer(endpoint, with_keys=None):
    """A raw peer: plain ZeroMQ, or CURVE with `with_keys` as its own pair towards the
    cluster's server key (what an attacker knows: the server's public key is no secret)."""
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    if with_keys is not None:
        sock.curve_secretkey = with_keys.secret
        sock.curve_publickey = with_keys.public
        sock.curve_serverkey = KEYS.public
    sock.connect(endpoint)
    return sock


async def answer(sock, timeout=SETTLE):
    """The next answer on a raw peer, or None; the event loop keeps running meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if sock.poll(0):
            rid, data = sock.recv_multipart()
            return rid, codec.decode(data)
        await asyncio.sleep(0.01)
    return None


def request(method, *args):
    return codec.encode([method, list(args)])


async def test_a_forged_frame_from_a_peer_without_the_cluster_key_is_dropped_with_no_effect():
    server = serve()
    before = keys.refused()
    plain = dealer(server.endpoint)
    stranger = dealer(server.endpoint, WireKeys.generate())
    for sock in (plain, stranger):  # well-formed, allowed, and each would change the host
        sock.send_multipart([b"r1", request("remember", "forged")])
        sock.send_multipart([b"", request("dispatch", [("withdraw", ("C1",))])])
    assert await answer(plain) is None and await answer(stranger) is None
    assert server.target.seen == [] and server.target.desk.seen == []
    assert server.dropped == 0  # not even dropped: no frame of theirs got to the socket's reader
    assert keys.refused() > before  # the key-holding stranger was turned away by ZAP

    async def resolve():
        return server.endpoint

    member = WireClient(resolve, KEYS, timeout=5.0)  # the same socket still serves the cluster
    assert await member.call("remember", "genuine") == 1
    assert server.target.seen == ["genuine"]
    member.reset()
    for sock in (plain, stranger):
        sock.close()
    server.close()


@pytest.mark.parametrize("frames, why", [
    ([b"r1", b"\xc1garbage"], "not msgpack"),
    ([b"r1", pickle.dumps(("remember", ("pickled",)), protocol=5)], "pickle"),
    ([b"r1", request("close")], "a public method not allowed"),
    ([b"r1", request("_reset")], "a private method"),
    ([b"r1", codec.encode(["remember"])], "no args"),
    ([b"r1", codec.encode({"method": "remember"})], "not [method, args]"),
    ([b"r1", msgpack.packb(["create", [[msgpack.ExtType(codec.DATACLASS,
                                                       msgpack.packb(["Popen", [["sh"]]]))]]])],
     "an unregistered type"),
    ([b"r1", request("dispatch", [("enqueue", ("C1",)), ("logout", ("seat-1",))])],
     "a message not allowed in the batch"),
    ([b"r1", request("dispatch", [["enqueue", ["C1"]]])], "a message that is not a tuple"),
    ([b"r1", request("dispatch", "C1")], "a batch that is not a list"),
])
async def test_malformed_or_unknown_requests_from_a_member_are_dropped_counted_and_answered(
        frames, why):
    server = serve()
    member = dealer(server.endpoint, KEYS)
    member.send_multipart(frames)
    got = await answer(member, timeout=5.0)
    assert got is not None, why
    rid, (ok, error) = got
    assert rid == b"r1" and ok is False and type(error) is FoureyesError
    assert str(error).startswith("malformed request"), why
    assert server.dropped == 1
    assert server.target.seen == [] and server.target.desk.seen == []  # not one message ran
    member.send_multipart([b"r2", request("remember", "genuine")])  # the host is unharmed
    assert await answer(member, timeout=5.0) == (b"r2", [True, 1])
    member.close()
    server.close()


async def test_one_way_and_unparseable_frames_are_dropped_without_an_answer():
    server = serve()
    member = dealer(server.endpoint, KEYS)
    member.send_multipart([b"", request("close")])  # one-way: nobody waits
    member.send_multipart([b"r1"])  # no payload: not even a request
    member.send_multipart([b"r1", b"x", b"y"])
    assert await answer(member) is None
    assert server.dropped == 3 and server.target.seen == []
    member.close()
    server.close()


async def test_a_member_calls_with_dataclasses_and_gets_errors_as_the_hosts_own():
    server = serve()

    async def resolve():
        return server.endpoint

    member = WireClient(resolve, KEYS, timeout=5.0)
    assert await member.call("create", [spec("C1"), spec("C2")]) == ["C1", "C2"]
    assert server.target.seen == [spec("C1"), spec("C2")]
    assert all(type(s) is CaseSpec for s in server.target.seen)
    with pytest.raises(FoureyesError, match="no such call"):
        await member.call("close")
    assert server.dropped == 1
    member.reset()
    server.close()


async def recv_soon(q, timeout=SETTLE):
    try:
        return await asyncio.wait_for(q.get(), timeout)
    except TimeoutError:
        return None


async def test_the_inbox_hears_only_the_clusters_hosts_and_only_well_formed_pushes():
    events = []
    inbox = Inbox(KEYS, "127.0.0.1", on_event=lambda topic, payload: events.append(topic))
    inbox.start()
    seat = inbox.subscribe("seat/seat-1")
    before = keys.refused()
    ctx = zmq.Context.instance()
    plain, stranger = ctx.socket(zmq.PUSH), ctx.socket(zmq.PUSH)
    other = WireKeys.generate()
    stranger.curve_secretkey, stranger.curve_publickey = other.secret, other.public
    stranger.curve_serverkey = KEYS.public
    offer = json.dumps({"type": "offer", "case_id": "C1"}).encode()
    forged_case = [b"case/C1", json.dumps({"case_id": "C1", "state": "APPROVED", "version": 99,
                                           "final": True}).encode(), b"case.approved", b"{}"]
    for sock in (plain, stranger):
        sock.linger = 0
        sock.connect(inbox.endpoint)
        sock.send_multipart([b"seat/seat-1", offer], zmq.NOBLOCK)
        sock.send_multipart(forged_case, zmq.NOBLOCK)
    assert await recv_soon(seat) is None
    assert inbox.received == 0 and inbox.dropped == 0 and events == []
    assert inbox.latest("case/C1") is None
    assert keys.refused() > before

    member = ctx.socket(zmq.PUSH)  # a host's raw PUSH, holding the key, sending garbage
    member.linger = 0
    connect_securely(member, KEYS)
    member.connect(inbox.endpoint)
    for frames in ([b"seat/seat-1", b"not json"], [b"seat/seat-1", b"[1, 2]"],
                   [b"admin/everything", offer], [b"seat/seat-1", offer, b"case.x", b"{}"],
                   [b"\xff\xfe", offer], [b"seat/seat-1"]):
        member.send_multipart(frames)
    outbox = Outbox(KEYS)  # and the hosts' own outbox, which is heard
    outbox.attach("gw-1", inbox.endpoint)
    outbox.send("seat/seat-1", {"type": "offer", "case_id": "C2"})
    assert await recv_soon(seat, timeout=5.0) == {"type": "offer", "case_id": "C2"}
    assert inbox.dropped == 6 and inbox.received == 1 and events == []
    assert seat.empty()
    for sock in (plain, stranger, member):
        sock.close()
    outbox.close()
    await inbox.close()
