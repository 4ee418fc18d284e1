"""The case state machine and its shard, on a real SQLite file (no Ray)."""

import json
import time

import pytest
from foureyes.actors.case import Case, CaseSpec, CaseState, Verdict
from foureyes.actors.case_shard import CaseShard
from foureyes.errors import Conflict, PermissionDenied
from foureyes.store.cases import CaseStore


def spec(case_id="C1", approvers=1, fingerprint="f1") -> CaseSpec:
    return CaseSpec(case_id=case_id, fingerprint=fingerprint, channel="teller",
                    initiator="teller-1", outlet="0101", customer_id="cust", transaction_code="X",
                    amount="1", currency="CNY", account_masked="****1234", mode="remote",
                    level=1, approvers=approvers, priority=0, sla_seconds=60, category="cash",
                    scene={"id": "s"}, images=None, fired=[], rules_version="v",
                    created_at=time.time())


def test_approval_path_bumps_version_on_every_event():
    case = Case(spec())
    kinds = [case.create()["kind"], case.offer("seat-a")["kind"],
             case.begin_review("seat-a", "auth-1")["kind"]]
    event = case.decide("seat-a", case.version, Verdict.APPROVE)
    assert kinds + [event["kind"]] == ["created", "offered", "review-started", "approved"]
    assert case.state is CaseState.APPROVED and case.version == 4 and not case.open


def test_stale_decision_is_refused():
    case = Case(spec())
    case.create()
    case.begin_review("seat-a", "auth-1")
    with pytest.raises(Conflict, match="version"):
        case.decide("seat-a", case.version - 1, Verdict.APPROVE)
    assert case.state is CaseState.IN_REVIEW


def test_initiator_cannot_review_and_two_approvers_must_differ():
    case = Case(spec(approvers=2))
    case.create()
    with pytest.raises(PermissionDenied):
        case.begin_review("seat-x", "teller-1")
    case.begin_review("seat-a", "auth-1")
    assert case.decide("seat-a", case.version, Verdict.APPROVE)["kind"] == "approved-partly"
    assert case.state is CaseState.QUEUED
    with pytest.raises(PermissionDenied):
        case.begin_review("seat-b", "auth-1")
    case.begin_review("seat-b", "auth-2")
    case.decide("seat-b", case.version, Verdict.APPROVE)
    assert case.state is CaseState.APPROVED and case.approvals == ["auth-1", "auth-2"]


def test_return_and_supplement_requeue():
    case = Case(spec())
    case.create()
    case.begin_review("seat-a", "auth-1")
    case.decide("seat-a", case.version, Verdict.RETURN, "MISSING_ID", missing=["id_document"])
    assert case.state is CaseState.RETURNED and case.missing == ["id_document"]
    case.supplement()
    assert case.state is CaseState.QUEUED and case.missing == []


def test_doc_round_trip():
    case = Case(spec())
    case.create()
    assert Case.from_doc(case.to_doc()) == case


def test_the_stored_row_is_the_document_as_json_after_every_transition():
    case = Case(spec())
    for step in (case.create, lambda: case.offer("seat-a"),
                 lambda: case.begin_review("seat-a", "auth-1")):
        step()
        row = case.to_row()
        assert json.loads(row["doc"]) == json.loads(json.dumps(case.to_doc()))
        assert Case.from_doc(json.loads(row["doc"])) == case
        assert (row["state"], row["version"], row["open"]) == (case.state.value, case.version,
                                                               True)


class FakeDispatch:
    def __init__(self):
        self.enqueued, self.withdrawn, self.adopted = [], [], []

    def enqueue(self, entries):
        self.enqueued.extend(e["case_id"] for e in entries)

    def adopt(self, reviews):
        self.adopted.extend((r["entry"]["case_id"], r["seat_id"]) for r in reviews)

    def finished(self, seat_id, case_id):
        pass

    def withdraw(self, case_id, reason):
        self.withdrawn.append((case_id, reason))


async def test_shard_commits_before_answering_and_recovers_after_restart(tmp_path):
    store = CaseStore(tmp_path / "cases.sqlite")
    await store.open()
    published: list[tuple[dict, dict]] = []
    shard = CaseShard(store, FakeDispatch(), lambda u, e: published.append((u, e)))
    results = await shard.create([spec("C1"), spec("C2"), spec("C1")])
    assert [r["state"] for r in results] == ["QUEUED", "QUEUED", "QUEUED"]
    assert store.db.commits == 1  # one group commit for the whole batch
    await shard.offered("C1", "seat-a", "gw", 30_000)
    await shard.begin_review("C1", "seat-a", "auth-1")
    # each committed transition is announced once: the update, and the event with the case
    assert [(u["case_id"], u["state"], e["kind"]) for u, e in published] == [
        ("C1", "QUEUED", "created"), ("C2", "QUEUED", "created"),
        ("C1", "OFFERED", "offered"), ("C1", "IN_REVIEW", "review-started")]
    assert published[-1][1]["case_id"] == "C1" and published[-1][1]["version"] == 3
    await store.close()

    store2 = CaseStore(tmp_path / "cases.sqlite")
    await store2.open()
    dispatch = FakeDispatch()
    recovered = CaseShard(store2, dispatch, lambda u, e: None)
    assert await recovered.recover() == 2
    assert sorted(dispatch.enqueued) == ["C1", "C2"]  # the one in review went back to the queue
    events = await store2.events("C1")
    assert [e["kind"] for e in events] == ["created", "offered", "review-started", "requeued"]
    await store2.close()


async def test_events_are_numbered_in_journal_order_and_replayed_as_published(tmp_path):
    store = CaseStore(tmp_path / "cases.sqlite")
    await store.open()
    published: list[dict] = []
    shard = CaseShard(store, FakeDispatch(), lambda u, e: published.append(e), shard=3)
    await shard.create([spec("C1"), spec("C2")])
    await shard.offered("C2", "seat-a", "gw", 30_000)
    await shard.begin_review("C2", "seat-a", "auth-1")
    assert [e["seq"] for e in published] == [1, 2, 3, 4]
    assert {e["shard"] for e in published} == {3}
    replayed, last = await shard.journal(0, [], 1000)
    assert last == 4 and replayed == published  # the journal holds exactly what was published
    page, last = await shard.journal(1, ["offered", "review-started"], 2)
    assert [e["seq"] for e in page] == [3] and last == 3  # two rows scanned, one kind matched
    await store.close()

    store2 = CaseStore(tmp_path / "cases.sqlite")  # numbering carries on after a restart
    await store2.open()
    pushed: list[tuple[str, str, dict]] = []
    again = CaseShard(store2, FakeDispatch(), lambda u, e: published.append(e),
                      push=lambda g, s, m: pushed.append((g, s, m)), shard=3)
    await again.recover()
    assert published[-1]["kind"] == "requeued" and published[-1]["seq"] == 5
    # the seat reviewing C2 is told, through every gateway (its own routes it)
    assert pushed == [("", "seat-a", {"type": "revoked", "case_id": "C2",
                                      "reason": "case host restarted"})]
    await store2.close()


async def test_a_restarted_dispatcher_gets_the_waiting_cases_and_who_reviews_what(tmp_path):
    store = CaseStore(tmp_path / "cases.sqlite")
    await store.open()
    dispatch = FakeDispatch()
    shard = CaseShard(store, dispatch, lambda u, e: None)
    await shard.create([spec("offered"), spec("reviewed"), spec("queued")])
    await shard.offered("offered", "seat-a", "gw", 30_000)
    await shard.begin_review("reviewed", "seat-b", "auth-2")
    dispatch.enqueued.clear()
    await shard.resync()
    assert sorted(dispatch.enqueued) == ["offered", "queued"]
    assert dispatch.adopted == [("reviewed", "seat-b")]
    assert shard.cases["offered"].state.value == "QUEUED"  # its offer lapsed with the old desk
    await store.close()


async def test_reused_idempotency_key_with_other_content_is_refused(tmp_path):
    store = CaseStore(tmp_path / "cases.sqlite")
    await store.open()
    shard = CaseShard(store, FakeDispatch(), lambda u, e: None)
    await shard.create([spec("C1")])
    [result] = await shard.create([spec("C1", fingerprint="other")])
    assert isinstance(result, Conflict)
    await store.close()


async def test_a_finished_case_is_read_back_from_the_store_by_its_key(tmp_path):
    store = CaseStore(tmp_path / "cases.sqlite")
    await store.open()
    shard = CaseShard(store, FakeDispatch(), lambda u, e: None)
    await shard.create([spec("C1")])
    await shard.begin_review("C1", "seat-a", "auth-1")
    await shard.decide("C1", "seat-a", 2, "APPROVE", "", "", [])
    assert "C1" not in shard.cases  # finished: only the store has it now
    assert (await shard.get("C1", ""))["state"] == "APPROVED"
    retried, reused = await shard.create([spec("C1"), spec("C1", fingerprint="other")])
    assert isinstance(retried, dict) and retried["state"] == "APPROVED" and retried["version"] == 3
    assert isinstance(reused, Conflict)
    await store.close()


async def test_an_undecided_case_expires_at_its_deadline_also_after_a_restart(tmp_path):
    import asyncio

    store = CaseStore(tmp_path / "cases.sqlite")
    await store.open()
    dispatch = FakeDispatch()
    shard = CaseShard(store, dispatch, lambda u, e: None, expire_after=0.3)
    await shard.create([spec("C1"), spec("C2")])
    await shard.offered("C1", "seat-a", "gw", 30_000)
    await shard.cancel("C2", "customer left", "")
    await asyncio.sleep(0.6)
    assert (await shard.get("C1", ""))["state"] == "EXPIRED"
    assert dispatch.withdrawn == [("C2", "case cancelled"), ("C1", "case expired")]
    assert [e["kind"] for e in await store.events("C2")] == ["created", "cancelled"]  # once

    await shard.create([spec("C3")])
    shard.stop_deadlines()
    await store.close()  # stopped before C3's deadline ...
    store2 = CaseStore(tmp_path / "cases.sqlite")
    await store2.open()
    later = CaseShard(store2, FakeDispatch(), lambda u, e: None, expire_after=0.3)
    await asyncio.sleep(0.4)
    await later.recover()  # ... and started after it: it expires at once
    await asyncio.sleep(0.1)
    assert (await later.get("C3", ""))["state"] == "EXPIRED"
    await store2.close()


def test_escalation_is_an_event_once_and_survives_a_reload():
    case = Case(spec())
    case.create()
    event = case.escalate("offer timed out 3 times")
    assert event["kind"] == "escalated" and event["state"] == "QUEUED" and case.version == 2
    assert case.escalate("again") is None
    again = Case.from_doc(case.to_doc())
    assert again.escalated and again.queue_entry()["priority"] == case.spec.priority + 50


async def test_an_offer_shows_the_version_it_was_committed_at(tmp_path):
    """A seat decides on the version it was shown; the offer must not be one behind."""
    store = CaseStore(tmp_path / "cases.sqlite")
    await store.open()
    pushed: list[tuple[str, str, dict]] = []
    updates: list[dict] = []
    shard = CaseShard(store, FakeDispatch(), lambda u, e: updates.append(u),
                      push=lambda gw, seat, m: pushed.append((gw, seat, m)))
    await shard.create([spec("C1")])
    await shard.offered("C1", "seat-a", "gw-1", 30_000)
    (gw, seat, offer), = pushed
    assert (gw, seat, offer["type"], offer["expires_in_ms"]) == ("gw-1", "seat-a", "offer", 30_000)
    assert offer["case"]["version"] == updates[-1]["version"] == 2  # what a watcher sees
    await shard.offer_lapsed("C1", "seat-a", "timed out")
    await shard.offered("C1", "seat-b", "gw-1", 30_000)
    assert pushed[-1][2]["case"]["version"] == updates[-1]["version"] == 4
    await shard.cancel("C1", "gave up", "")
    await shard.offered("C1", "seat-c", "gw-1", 30_000)  # too late: nothing to offer
    assert len(pushed) == 2
    await store.close()
