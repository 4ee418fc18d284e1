"""Calls over the wire between two sockets in this process (no Ray)."""

import asyncio

import pytest
from foureyes.errors import Conflict, FoureyesError, Unavailable
from foureyes.messaging.keys import WireKeys
from foureyes.messaging.wire import WireClient, WireServer

KEYS = WireKeys.generate()
CALLS = {"add", "remember", "slow", "refuse"}


class Host:
    def __init__(self):
        self.seen = []

    async def add(self, a, b):
        await asyncio.sleep(0)
        return a + b

    def remember(self, item):
        self.seen.append(item)

    async def slow(self):
        await asyncio.sleep(0.3)
        return "slow"

    def refuse(self):
        raise Conflict("stale version")

    def _private(self):
        return "secret"


def link(server, timeout=5.0):
    lookups = []

    async def resolve():
        lookups.append(server.endpoint)
        return server.endpoint

    return WireClient(resolve, KEYS, timeout), lookups


async def test_answers_come_back_to_their_callers_whatever_the_order():
    server = WireServer(Host(), KEYS, CALLS)
    server.start("127.0.0.1")
    client, lookups = link(server)
    slow = asyncio.ensure_future(client.call("slow"))
    assert await asyncio.gather(*(client.call("add", i, 1) for i in range(50))) == list(
        range(1, 51))
    assert not slow.done()  # a slow call holds up nothing
    assert await slow == "slow"
    await client.call("remember", {"case": "C1"})
    assert server.target.seen == [{"case": "C1"}]
    assert len(lookups) == 1  # the address is looked up once
    client.reset()
    server.close()


async def test_errors_arrive_as_the_hosts_own_and_private_methods_are_refused():
    server = WireServer(Host(), KEYS, CALLS)
    server.start("127.0.0.1")
    client, _ = link(server)
    with pytest.raises(Conflict, match="stale version"):
        await client.call("refuse")
    with pytest.raises(FoureyesError, match="no such call"):
        await client.call("_private")
    client.reset()
    server.close()


async def test_an_unanswered_call_is_unavailable_and_the_next_one_looks_the_host_up_again():
    server = WireServer(Host(), KEYS, CALLS)
    server.start("127.0.0.1")
    client, lookups = link(server, timeout=0.1)
    with pytest.raises(Unavailable, match="no answer to slow"):
        await client.call("slow")
    assert await client.call("add", 2, 3) == 5
    assert len(lookups) == 2
    client.reset()
    server.close()


async def test_a_call_unanswered_in_time_fails_the_others_waiting_on_that_host():
    server = WireServer(Host(), KEYS, CALLS)
    server.start("127.0.0.1")
    client, _ = link(server, timeout=0.2)
    first = asyncio.ensure_future(client.call("slow"))  # 0.3 s: longer than the timeout
    await asyncio.sleep(0.1)
    second = asyncio.ensure_future(client.call("slow"))
    with pytest.raises(Unavailable, match="no answer to slow"):
        await first
    await asyncio.sleep(0)
    assert second.done()  # failed with the first, not after its own timeout
    with pytest.raises(Unavailable, match="left slow unanswered"):
        second.result()
    assert await client.call("add", 1, 2) == 3
    client.reset()
    server.close()


async def test_one_way_messages_arrive_in_order_and_their_failures_are_logged_by_the_host(caplog):
    server = WireServer(Host(), KEYS, CALLS)
    server.start("127.0.0.1")
    client, _ = link(server)
    for i in range(20):
        await client.send("remember", i)
    await client.send("refuse")
    await client.call("add", 1, 1)  # answered after the one-way messages sent before it
    assert server.target.seen == list(range(20))
    assert "one-way refuse failed: stale version" in caplog.text
    client.reset()
    server.close()


async def test_a_host_gone_fails_its_calls_at_once_and_the_next_call_finds_its_successor():
    server = WireServer(Host(), KEYS, CALLS)
    server.start("127.0.0.1")
    endpoints = [server.endpoint]

    async def resolve():
        return endpoints[-1]

    client = WireClient(resolve, KEYS, timeout=30.0)
    assert await client.call("add", 1, 2) == 3
    slow = asyncio.ensure_future(client.call("slow"))
    await asyncio.sleep(0.05)
    server.close()  # the host's process dies with the call in it
    with pytest.raises(Unavailable, match="went away"):
        await asyncio.wait_for(slow, 5)  # long before the 30 s timeout
    successor = WireServer(Host(), KEYS, CALLS)  # restarted by Ray, at another address
    endpoints.append(successor.start("127.0.0.1"))
    assert await client.call("add", 2, 2) == 4
    client.reset()
    successor.close()
