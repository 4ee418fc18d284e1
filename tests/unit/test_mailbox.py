"""Mailboxes: to a host over the wire, and to an actor in the same process (no Ray)."""

import asyncio

import pytest
from foureyes.errors import Conflict, FoureyesError
from foureyes.messaging.keys import WireKeys
from foureyes.messaging.mailbox import LocalMailbox, Mailbox, deliver
from foureyes.messaging.wire import WireClient, WireServer

KEYS = WireKeys.generate()


class Desk:
    def __init__(self):
        self.seen = []

    def enqueue(self, item):
        self.seen.append(item)

    async def accept(self, case_id):
        await asyncio.sleep(0)
        return {"case_id": case_id}

    def refuse(self, why):
        raise Conflict(why)

    def _private(self):
        return "secret"


class Host:
    """A host holding a second actor, reached through its own entry, as case host 0 holds
    the dispatcher."""

    def __init__(self):
        self.desk = Desk()

    async def dispatch(self, batch):
        return await deliver(self.desk, batch)


async def test_a_local_actor_answers_asks_and_hears_tells_after_the_callers_turn(caplog):
    desk = Desk()
    box = LocalMailbox(desk)
    assert await box.ask("accept", "C1") == {"case_id": "C1"}
    with pytest.raises(Conflict, match="stale"):
        await box.ask("refuse", "stale")
    with pytest.raises(FoureyesError, match="no such message"):
        await box.ask("_private")
    box.tell("enqueue", 1)
    box.tell("enqueue", 2)
    box.tell("refuse", "told and failed")
    assert desk.seen == []  # never inside the caller's turn, as over the wire
    await asyncio.sleep(0.01)
    assert desk.seen == [1, 2]
    assert "told and failed" in caplog.text


async def test_a_mailbox_reaches_a_second_actor_of_a_host_through_its_entry():
    server = WireServer(Host(), KEYS, (), {"dispatch": {"enqueue", "accept", "refuse"}})
    endpoint = server.start("127.0.0.1")

    async def resolve():
        return endpoint

    link = WireClient(resolve, KEYS, timeout=5.0)
    box = Mailbox(link, "dispatch")
    box.tell("enqueue", "C1")
    assert await box.ask("accept", "C2") == {"case_id": "C2"}
    assert server.target.desk.seen == ["C1"]  # the tell went first
    with pytest.raises(Conflict, match="stale"):
        await box.ask("refuse", "stale")
    link.reset()
    server.close()
