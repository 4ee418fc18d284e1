"""Routing rules of the dispatcher, with a fake case port (this class only)."""

import asyncio

from foureyes.actors.dispatch import Dispatcher


class Cases:
    def __init__(self):
        self.calls = []

    def offered(self, case_id, seat_id):
        self.calls.append(("offered", case_id, seat_id))

    def offer_lapsed(self, case_id, seat_id, why):
        self.calls.append(("lapsed", case_id, seat_id))

    def requeue(self, case_id, why):
        self.calls.append(("requeue", case_id))

    def escalate(self, case_id, why):
        self.calls.append(("escalate", case_id, why))

    async def begin_review(self, case_id, seat_id, operator_id):
        return {"case_id": case_id, "seat": seat_id}


def entry(case_id, category="cash", level=1, initiator="teller-1", priority=0, excluded=()):
    return {"case_id": case_id, "category": category, "level": level, "initiator": initiator,
            "excluded": list(excluded), "priority": priority, "created_at": 0.0, "deadline": 60.0,
            "details": {"case_id": case_id}}


def make(timeout=10.0):
    pushes = []
    d = Dispatcher(Cases(), lambda g, s, m: pushes.append((s, m["type"], m["case_id"])), timeout)
    return d, pushes


async def test_offer_respects_skill_level_and_initiator():
    d, pushes = make()
    d.login("s-wrong-skill", "a1", 3, ["wealth"], "gw")
    d.login("s-low", "a2", 1, ["cash"], "gw")
    d.login("s-initiator", "teller-1", 3, ["cash"], "gw")
    d.login("s-ok", "a4", 2, ["cash"], "gw")
    d.enqueue([entry("C1", level=2)])
    assert pushes == [("s-ok", "offer", "C1")]


async def test_priority_orders_the_queue_and_least_recently_assigned_seat_wins():
    d, pushes = make()
    d.enqueue([entry("low"), entry("high", priority=10)])
    d.login("s1", "a1", 1, ["cash"], "gw")
    assert pushes == [("s1", "offer", "high")]
    d.login("s2", "a2", 1, ["cash"], "gw")
    assert pushes[-1] == ("s2", "offer", "low")


async def test_timeout_moves_offer_to_next_seat():
    d, pushes = make(timeout=0.05)
    d.login("s1", "a1", 1, ["cash"], "gw")
    d.enqueue([entry("C1")])
    d.login("s2", "a2", 1, ["cash"], "gw")
    await asyncio.sleep(0.07)
    assert pushes[:3] == [("s1", "offer", "C1"), ("s1", "revoked", "C1"), ("s2", "offer", "C1")]


async def test_accept_then_finish_frees_the_seat():
    d, pushes = make()
    d.login("s1", "a1", 1, ["cash"], "gw")
    d.enqueue([entry("C1"), entry("C2")])
    assert await d.accept("s1", "C1") == {"case_id": "C1", "seat": "s1"}
    assert d.stats()["queued"] == 1
    d.finished("s1", "C1")
    assert pushes[-1] == ("s1", "offer", "C2")


async def test_logout_during_review_requeues():
    d, _ = make()
    d.login("s1", "a1", 1, ["cash"], "gw")
    d.enqueue([entry("C1")])
    await d.accept("s1", "C1")
    d.logout("s1")
    assert ("requeue", "C1") in d.cases.calls


def waiting(case_id, channel, priority=0, deadline=60.0, created_at=0.0):
    return {**entry(case_id, priority=priority), "channel": channel, "deadline": deadline,
            "created_at": created_at}


async def test_a_customer_at_the_counter_goes_before_mobile_then_deadline_then_age():
    d, pushes = make()
    d.enqueue([waiting("mobile-early", "mobile", deadline=10.0),
               waiting("teller-late", "teller", deadline=50.0),
               waiting("kiosk-soon", "self_service", deadline=20.0),
               waiting("teller-old", "teller", deadline=50.0, created_at=-5.0),
               waiting("urgent-mobile", "mobile", priority=10, deadline=90.0)])
    for i in range(5):
        d.login(f"s{i}", f"a{i}", 1, ["cash"], "gw")
    assert [case for _, kind, case in pushes if kind == "offer"] == [
        "urgent-mobile", "kiosk-soon", "teller-old", "teller-late", "mobile-early"]


async def test_a_seat_with_capacity_two_holds_two_cases_and_the_emptier_seat_goes_first():
    d, pushes = make()
    d.login("big", "a1", 1, ["cash"], "gw", capacity=2)
    d.enqueue([entry("c1"), entry("c2"), entry("c3")])
    assert [(s, c) for s, k, c in pushes if k == "offer"] == [("big", "c1"), ("big", "c2")]
    assert "c3" in d.queue  # the seat is full
    d.login("small", "a2", 1, ["cash"], "gw")
    assert ("small", "offer", "c3") in pushes
    await d.accept("big", "c1")
    d.finished("big", "c1")
    d.enqueue([entry("c4")])
    assert pushes[-1] == ("big", "offer", "c4")  # big has room again; small is full
    assert d.stats()["seats"] == {"available": 0, "busy": 2, "away": 0}


async def test_an_away_seat_gets_no_offers_but_keeps_what_it_holds():
    d, pushes = make()
    d.login("s1", "a1", 1, ["cash"], "gw", capacity=2)
    d.enqueue([entry("c1")])
    d.set_presence("s1", away=True)
    d.enqueue([entry("c2")])
    assert [c for _, k, c in pushes if k == "offer"] == ["c1"] and "c2" in d.queue
    assert d.stats()["seats"] == {"available": 0, "busy": 0, "away": 1}
    await d.accept("s1", "c1")  # an away seat still works on what it holds
    d.set_presence("s1", away=False)
    assert pushes[-1] == ("s1", "offer", "c2")


async def test_a_seat_serves_only_its_scope_and_may_be_barred_from_its_own_outlet():
    pushes = []
    d = Dispatcher(Cases(), lambda g, s, m: pushes.append((s, m["type"], m["case_id"])), 10.0,
                   bar_own_outlet=True)
    d.login("sh-seat", "a1", 1, ["cash"], "gw", outlet="OUT-SH-001", scope=["BR-SH"])
    d.login("central", "a2", 1, ["cash"], "gw")
    shanghai = {**entry("c-sh"), "outlet": "OUT-SH-002", "units": ["OUT-SH-002", "BR-SH", "HQ"]}
    own = {**entry("c-own"), "outlet": "OUT-SH-001", "units": ["OUT-SH-001", "BR-SH", "HQ"]}
    chengdu = {**entry("c-cd"), "outlet": "OUT-CD-001", "units": ["OUT-CD-001", "BR-CD", "HQ"]}
    d.enqueue([chengdu])
    assert pushes == [("central", "offer", "c-cd")]  # out of the Shanghai seat's scope
    d.enqueue([own])
    assert "c-own" in d.queue  # barred from its own outlet; the central seat is busy
    d.enqueue([shanghai])
    assert pushes[-1] == ("sh-seat", "offer", "c-sh")


async def test_a_case_that_times_out_n_times_is_escalated_and_served_first():
    cases = Cases()
    pushes = []
    d = Dispatcher(cases, lambda g, s, m: pushes.append((s, m["type"], m["case_id"])), 0.05,
                   escalate_after=2)
    d.login("s1", "a1", 1, ["cash"], "gw")
    d.enqueue([entry("ignored"), entry("ordinary", priority=5)])  # ordinary waits behind
    assert pushes[0] == ("s1", "offer", "ordinary")
    await d.accept("s1", "ordinary")
    d.login("s2", "a2", 1, ["cash"], "gw")  # s2 lets "ignored" time out, twice
    await asyncio.sleep(0.25)
    assert ("escalate", "ignored", "offer timed out 2 times") in cases.calls
    assert sum(1 for c in cases.calls if c[0] == "escalate") == 1  # once
    d.logout("s2")  # the case goes back to the queue, escalated
    assert d.queue["ignored"].priority == 50
    d.enqueue([entry("newer", priority=10)])
    d.finished("s1", "ordinary")  # s1 is free: the escalated case beats the newer one
    assert [c for s, k, c in pushes if s == "s1" and k == "offer"][-1] == "ignored"
