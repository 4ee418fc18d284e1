"""Routing rules of the dispatcher, with a fake case port (this class only)."""

import asyncio
import time

import pytest
from foureyes.actors.dispatch import Dispatcher
from foureyes.errors import Conflict, PermissionDenied


class Cases:
    def __init__(self, push=None):
        self.calls = []
        self.push = push

    def offered(self, case_id, seat_id, gateway_id, expires_in_ms):
        # the case host commits the offer and shows it to the seat
        self.calls.append(("offered", case_id, seat_id))
        if self.push is not None:
            self.push(gateway_id, seat_id, {"type": "offer", "case_id": case_id,
                                            "expires_in_ms": expires_in_ms})

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
            "excluded": list(excluded), "priority": priority, "created_at": time.time(),
            "deadline": time.time() + 60.0,  # SLA deadlines are wall-clock times
            "details": {"case_id": case_id}}


def recorder(pushes):
    def push(gateway_id, seat_id, message):
        case_id = message.get("case_id") or message["case"]["case_id"]
        pushes.append((seat_id, message["type"], case_id))
    return push


def make(timeout=10.0, **options):
    pushes = []
    push = recorder(pushes)
    d = Dispatcher(Cases(push), push, timeout, **options)
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


async def test_a_declined_case_goes_to_another_seat_and_back_only_when_none_is_left():
    d, pushes = make()
    d.login("s1", "a1", 1, ["cash"], "gw")
    d.login("s2", "a2", 1, ["cash"], "gw")
    d.login("s3", "a3", 1, ["cash"], "gw")
    d.enqueue([entry("C1")])
    d.decline("s1", "C1")  # s2 and s3 have not passed on it: s2, the first of them
    d.decline("s2", "C1")
    d.decline("s3", "C1")  # every able seat has passed: another round, least recent first
    assert [p for p in pushes if p[1] == "offer"] == [
        ("s1", "offer", "C1"), ("s2", "offer", "C1"), ("s3", "offer", "C1"),
        ("s1", "offer", "C1")]


async def test_a_supplemented_case_goes_back_to_the_seat_that_returned_it():
    d, pushes = make()
    d.login("s1", "a1", 1, ["cash"], "gw")
    d.login("s2", "a2", 1, ["cash"], "gw")
    d.enqueue([entry("C0")])  # s1 has had a case more recently than s2
    d.decline("s1", "C0")
    d.withdraw("C0")
    d.enqueue([{**entry("C1"), "preferred": "s1"}])
    assert pushes[-1] == ("s1", "offer", "C1")


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


def waiting(case_id, channel, base, priority=0, deadline=60.0, created_at=0.0):
    return {**entry(case_id, priority=priority), "channel": channel, "deadline": base + deadline,
            "created_at": base + created_at}


async def test_a_customer_at_the_counter_goes_before_mobile_then_deadline_then_age():
    d, pushes = make()
    t0 = time.time()
    d.enqueue([waiting("mobile-early", "mobile", t0, deadline=10.0),
               waiting("teller-late", "teller", t0, deadline=50.0),
               waiting("kiosk-soon", "self_service", t0, deadline=20.0),
               waiting("teller-old", "teller", t0, deadline=50.0, created_at=-5.0),
               waiting("urgent-mobile", "mobile", t0, priority=10, deadline=90.0)])
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
    assert d.stats()["seats"] == {"available": 0, "busy": 2, "away": 0, "offline": 0}


async def test_an_away_seat_gets_no_offers_but_keeps_what_it_holds():
    d, pushes = make()
    d.login("s1", "a1", 1, ["cash"], "gw", capacity=2)
    d.enqueue([entry("c1")])
    d.set_presence("s1", away=True)
    d.enqueue([entry("c2")])
    assert [c for _, k, c in pushes if k == "offer"] == ["c1"] and "c2" in d.queue
    assert d.stats()["seats"] == {"available": 0, "busy": 0, "away": 1, "offline": 0}
    await d.accept("s1", "c1")  # an away seat still works on what it holds
    d.set_presence("s1", away=False)
    assert pushes[-1] == ("s1", "offer", "c2")


async def test_a_seat_serves_only_its_scope_and_may_be_barred_from_its_own_outlet():
    d, pushes = make(bar_own_outlet=True)
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
    d, pushes = make(0.05, escalate_after=2)
    cases = d.cases
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


async def test_a_case_waiting_past_its_sla_is_escalated_and_supervisors_are_told():
    d, pushes = make()
    d.login("boss", "sup-1", 0, [], "gw", supervisor=True)
    d.enqueue([{**entry("slow"), "deadline": time.time() + 0.05}, entry("fresh", priority=5)])
    await asyncio.sleep(0.1)
    assert ("escalate", "slow", "waiting past its SLA deadline") in d.cases.calls
    assert ("boss", "escalation", "slow") in pushes
    assert ("boss", "escalation", "fresh") not in pushes
    d.login("s1", "a1", 1, ["cash"], "gw")
    assert pushes[-1] == ("s1", "offer", "slow")  # escalated beats priority 5
    assert not [p for p in pushes if p[0] == "boss" and p[1] == "offer"]  # no skills: no offers


async def test_an_accepted_case_is_not_escalated_for_its_sla():
    d, _ = make()
    d.login("s1", "a1", 1, ["cash"], "gw")
    d.enqueue([{**entry("quick"), "deadline": time.time() + 0.05}])
    await d.accept("s1", "quick")
    await asyncio.sleep(0.1)
    assert not [c for c in d.cases.calls if c[0] == "escalate"]


async def test_a_seat_back_within_the_grace_time_keeps_its_review():
    d, pushes = make(review_grace=0.1)
    d.login("s1", "a1", 1, ["cash"], "gw")
    d.enqueue([entry("C1")])
    await d.accept("s1", "C1")
    d.logout("s1")
    assert d.stats()["seats"]["offline"] == 1
    d.login("s1", "a1", 1, ["cash"], "gw")
    assert pushes[-1] == ("s1", "assigned", "C1")
    await asyncio.sleep(0.15)
    assert ("requeue", "C1") not in d.cases.calls
    d.finished("s1", "C1")
    assert not d.reviews


async def test_a_seat_not_back_within_the_grace_time_loses_its_review():
    d, _ = make(review_grace=0.05)
    d.login("s1", "a1", 1, ["cash"], "gw")
    d.enqueue([entry("C1")])
    await d.accept("s1", "C1")
    d.logout("s1")
    assert ("requeue", "C1") not in d.cases.calls
    await asyncio.sleep(0.1)
    assert ("requeue", "C1") in d.cases.calls and not d.reviews


def review(case_id, seat_id):
    return {"entry": entry(case_id), "seat_id": seat_id, "details": {"case_id": case_id}}


async def test_a_restarted_dispatcher_counts_adopted_reviews_against_their_seats():
    d, pushes = make()
    d.login("s1", "a1", 1, ["cash"], "gw")
    d.adopt([review("C1", "s1")])
    d.enqueue([entry("C2")])
    assert pushes == []  # s1 is full: it still reviews C1
    d.finished("s1", "C1")
    assert pushes == [("s1", "offer", "C2")]


async def test_an_adopted_review_whose_seat_does_not_come_back_is_queued_again():
    d, _ = make(review_grace=0.05)
    d.adopt([review("C1", "s-gone")])
    assert ("requeue", "C1") not in d.cases.calls
    await asyncio.sleep(0.1)
    assert ("requeue", "C1") in d.cases.calls and not d.reviews


async def test_a_seat_relearned_from_its_gateway_is_not_assigned_its_review_again():
    """Its stream never broke: it shows the case already. A seat that connects again is
    shown it once more."""
    d, pushes = make(review_grace=5.0)
    d.adopt([review("C1", "s1"), review("C2", "s2")])
    d.login("s1", "a1", 1, ["cash"], "gw", stream_kept=True)
    d.login("s2", "a2", 1, ["cash"], "gw")
    assert pushes == [("s2", "assigned", "C2")]
    assert d.seats["s1"].reviewing == {"C1"} and d.reviews["C1"].grace is None


async def test_a_case_queued_again_while_in_review_frees_its_seat():
    """Its case host restarted and queued its open cases again; the host told the seat
    (CaseShard.recover), so the desk does not tell it twice."""
    d, pushes = make()
    d.login("s1", "a1", 1, ["cash"], "gw")
    d.enqueue([entry("C1")])
    await d.accept("s1", "C1")
    d.enqueue([entry("C1")])
    assert pushes[-1:] == [("s1", "offer", "C1")] and ("s1", "revoked", "C1") not in pushes
    assert d.seats["s1"].reviewing == set() and d.seats["s1"].offered == {"C1"}


async def test_reassign_moves_a_case_to_the_named_seat_even_beyond_its_capacity():
    d, pushes = make()
    d.login("boss", "sup-1", 0, [], "gw", supervisor=True)
    d.login("s1", "a1", 1, ["cash"], "gw")
    d.login("s2", "a2", 1, ["cash"], "gw")
    d.enqueue([entry("C1"), entry("C2"), entry("C3")])
    assert d._holder("C1") == "s1" and d._holder("C2") == "s2"
    assert d.reassign("boss", "C1", "s2") == {"case_id": "C1", "from_seat": "s1", "to_seat": "s2"}
    assert ("s1", "revoked", "C1") in pushes and pushes[-2:] == [("s2", "offer", "C1"),
                                                                  ("s1", "offer", "C3")]
    d.reassign("boss", "C3", "s2")  # queued → offered
    assert d.offers["C3"][1] == "s2" and d.seats["s2"].tasks == 3


async def test_reassign_of_a_case_in_review_waits_for_the_case_host_to_queue_it():
    d, pushes = make()
    d.login("boss", "sup-1", 0, [], "gw", supervisor=True)
    d.login("s1", "a1", 1, ["cash"], "gw")
    d.enqueue([entry("C1")])
    await d.accept("s1", "C1")
    d.login("s2", "a2", 1, ["cash"], "gw")
    d.reassign("boss", "C1", "s2")
    assert ("requeue", "C1") in d.cases.calls and ("s1", "revoked", "C1") in pushes
    d.login("s3", "a3", 1, ["cash"], "gw")  # free and never assigned: would win by fairness
    d.enqueue([entry("C1")])  # what the case host does after the requeue
    assert pushes[-1] == ("s2", "offer", "C1")


async def test_take_back_puts_the_case_back_where_other_seats_come_first():
    d, pushes = make()
    d.login("boss", "sup-1", 0, [], "gw", supervisor=True)
    d.login("s1", "a1", 1, ["cash"], "gw")
    d.enqueue([entry("C1")])
    await d.accept("s1", "C1")
    assert d.take_back("boss", "C1") == {"case_id": "C1", "from_seat": "s1", "to_seat": ""}
    d.login("s2", "a2", 1, ["cash"], "gw")
    d.enqueue([entry("C1")])
    assert pushes[-1] == ("s2", "offer", "C1")


async def test_supervisor_actions_are_checked():
    d, _ = make()
    d.login("s1", "a1", 1, ["cash"], "gw")
    d.login("low", "a2", 1, ["cash"], "gw")
    d.enqueue([entry("C1", level=2)])
    with pytest.raises(PermissionDenied):
        d.board("s1")
    with pytest.raises(PermissionDenied):
        d.reassign("s1", "C1", "low")
    d.login("boss", "sup-1", 0, [], "gw", supervisor=True)
    with pytest.raises(Conflict, match="authority level 1 is below 2"):
        d.reassign("boss", "C1", "low")
    d.login("init", "teller-1", 3, ["cash"], "gw", capacity=0)  # the case's initiator
    with pytest.raises(Conflict, match="initiated"):
        d.reassign("boss", "C1", "init")
    with pytest.raises(Conflict, match="in the queue"):
        d.take_back("boss", "C1")


async def test_the_board_shows_each_seats_tasks_and_each_queue():
    d, _ = make()
    d.login("boss", "sup-1", 0, [], "gw", supervisor=True)
    d.login("s1", "a1", 1, ["cash"], "gw")
    d.enqueue([entry("C1"), entry("C2"), entry("W1", category="wealth")])
    await d.accept("s1", "C1")
    board = d.board("boss")
    s1 = next(s for s in board["seats"] if s["seat_id"] == "s1")
    assert s1["presence"] == "busy" and [(t["case_id"], t["state"]) for t in s1["tasks"]] == [
        ("C1", "IN_REVIEW")]
    queues = {q["category"]: q for q in board["queues"]}
    assert queues["cash"]["depth"] == 1 and queues["wealth"]["depth"] == 1
    assert 0 <= queues["cash"]["oldest_wait_seconds"] < 5
