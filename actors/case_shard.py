"""CaseShard: hosts the cases whose key hashes to one shard, as virtual actors.

A case is activated on its first message (or at start-up, if it is still open) and its state is
the store's: a transition is applied in memory within one turn (no await between check and
change, so interleaved messages see it), then committed, then announced. If the commit fails
the case is put back as it was.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from foureyes.actors.case import Case, CaseSpec, CaseState, Verdict
from foureyes.errors import Conflict, NotFound
from foureyes.store.cases import CaseStore

log = logging.getLogger(__name__)
RESTARTED = "case host restarted"


class DispatchPort(Protocol):
    def enqueue(self, entries: list[dict[str, Any]]) -> None: ...
    def adopt(self, reviews: list[dict[str, Any]]) -> None: ...
    def finished(self, seat_id: str, case_id: str) -> None: ...
    def withdraw(self, case_id: str, reason: str) -> None: ...


Publish = Callable[[dict[str, Any], dict[str, Any]], None]  # (update, event)
Push = Callable[[str, str, dict[str, Any]], None]  # (gateway id, seat id, message)


def _nowhere(gateway_id: str, seat_id: str, message: dict[str, Any]) -> None:
    """No seat is reachable (a shard on its own, in a unit test)."""


class CaseShard:
    def __init__(self, store: CaseStore, dispatch: DispatchPort, publish: Publish,
                 expire_after: float = 0.0, push: Push = _nowhere, shard: int = 0) -> None:
        self.store = store
        self.shard = shard  # feed events name it beside their sequence number
        self.dispatch = dispatch
        self.publish = publish
        self.push = push
        self.expire_after = expire_after  # seconds from creation; 0: never
        self.cases: dict[str, Case] = {}  # open cases; finished ones are read from the store
        self._deadlines: dict[str, asyncio.TimerHandle] = {}
        self._expiring: set[asyncio.Task[None]] = set()

    async def recover(self) -> int:
        """Load every unfinished case and put it back in the queue (after a restart no seat
        holds it any more). A seat that was offered or reviewing one is told so (`revoked`)
        from here, in every layout: where this host also holds the dispatcher, the restarted
        dispatcher does not know who held what. Pushed to every gateway: the seat's own
        routes it."""
        changes = []
        for doc in await self.store.open_cases():
            case = Case.from_doc(doc)
            self.cases[case.case_id] = case
            self._watch_deadline(case)
            event = case.requeue(RESTARTED)
            if event:
                changes.append((case, event))
        await self._commit(changes, {})
        for case, event in changes:
            if event["data"].get("seat_id"):
                self.push("", event["data"]["seat_id"],
                          {"type": "revoked", "case_id": case.case_id, "reason": RESTARTED})
        queued = [c.queue_entry() for c in self.cases.values() if c.state is CaseState.QUEUED]
        if queued:
            self.dispatch.enqueue(queued)
        return len(self.cases)

    async def _commit(self, changes: list[tuple[Case, dict[str, Any]]],
                      before: dict[str, dict[str, Any] | None]) -> None:
        if not changes:
            return
        try:
            await self.store.save([(case.to_row(), event) for case, event in changes])
        except Exception:
            for case_id, doc in before.items():
                if doc is None:
                    self.cases.pop(case_id, None)
                else:
                    self.cases[case_id] = Case.from_doc(doc)
            raise
        for case, event in changes:
            # one push carries both: the update for watching channels, the event for the feed
            self.publish(case.update(), {**event, **case.summary(), "shard": self.shard})
            if not case.open:
                self.cases.pop(case.case_id, None)
                deadline = self._deadlines.pop(case.case_id, None)
                if deadline is not None:
                    deadline.cancel()

    async def _get(self, case_id: str) -> Case:
        case = self.cases.get(case_id)
        if case is None:
            doc = await self.store.get(case_id)
            if doc is None:
                raise NotFound(f"no case {case_id}")
            # on PostgreSQL the read suspends: another message may have loaded it meanwhile
            case = self.cases.get(case_id) or Case.from_doc(doc)
            if case.open:
                self.cases[case_id] = case
        return case

    async def _apply(self, case_id: str, step: Callable[[Case], dict[str, Any] | None]) -> Case:
        case = await self._get(case_id)
        before = case.to_doc()
        event = step(case)
        if event is not None:
            await self._commit([(case, event)], {case_id: before})
        return case

    # ------------------------------------------------------------------ messages

    async def create(self, specs: list[CaseSpec]) -> list[dict[str, Any] | Exception]:
        """Create cases (idempotent by case id); answers once they are committed."""
        stored = await self.store.get_many([s.case_id for s in specs if s.case_id not in self.cases])
        results: list[dict[str, Any] | Exception] = []
        changes: list[tuple[Case, dict[str, Any]]] = []
        fresh: list[Case] = []
        for spec in specs:  # no await in here: the batch is one turn
            existing = self.cases.get(spec.case_id)
            if existing is None and spec.case_id in stored:
                existing = Case.from_doc(stored[spec.case_id])
            if existing is not None:
                if existing.spec.fingerprint != spec.fingerprint:
                    results.append(Conflict(
                        f"idempotency key of case {spec.case_id} reused for a different request"))
                else:
                    results.append(existing.update())
                continue
            case = Case(spec)
            changes.append((case, case.create()))
            self.cases[spec.case_id] = case
            fresh.append(case)
            results.append(case.update())
        await self._commit(changes, {c.case_id: None for c in fresh})
        for case in fresh:
            self._watch_deadline(case)
        queued = [c.queue_entry() for c in fresh if c.state is CaseState.QUEUED]
        if queued:  # the others wait for their evidence
            self.dispatch.enqueue(queued)
        return results

    async def get(self, case_id: str, system: str) -> dict[str, Any]:
        case = await self._get(case_id)
        case.check_owner(system)
        return case.update()

    async def evidence_target(self, case_id: str, system: str) -> dict[str, Any]:
        """What an upload to the case needs to know, if `system` may upload to it."""
        case = await self._get(case_id)
        case.check_owner(system)
        s = case.spec
        return {"state": case.state.value, "open": case.open, "customer_id": s.customer_id,
                "scene": s.scene.get("id", ""), "business_type": s.scene.get("business_type", ""),
                "created_at": s.created_at, "round": case.returns, "facts": s.facts,
                "level": case.authority_level, "fired": [f["id"] for f in s.fired],
                "flags": sorted({c["check"] for c in case.evidence_checks()})}

    async def add_image(self, case_id: str, item: dict[str, Any], system: str,
                        verdict: dict[str, Any] | None = None) -> dict[str, Any]:
        """A stored image joins the case; a case it completes is queued."""
        (await self._get(case_id)).check_owner(system)
        was = (await self._get(case_id)).state
        case = await self._apply(case_id, lambda c: c.add_image(item, verdict))
        if was is CaseState.AWAITING_EVIDENCE and case.state is CaseState.QUEUED:
            self.dispatch.enqueue([case.queue_entry()])
        return {"update": case.update(), "lacking": case.lacking()}

    async def offered(self, case_id: str, seat_id: str, gateway_id: str,
                      expires_in_ms: int) -> None:
        """The dispatcher chose a seat. The offer goes to the seat from here, once committed,
        so it shows the version the case is at (the dispatcher's copy is the queued one)."""
        def step(case: Case) -> dict[str, Any] | None:
            return case.offer(seat_id) if case.state is CaseState.QUEUED else None

        case = await self._apply(case_id, step)
        if case.state is CaseState.OFFERED and case.seat_id == seat_id:
            self.push(gateway_id, seat_id, {"type": "offer", "case_id": case_id,
                                            "case": case.details(),
                                            "expires_in_ms": expires_in_ms})

    async def offer_lapsed(self, case_id: str, seat_id: str, why: str) -> None:
        await self._apply(case_id, lambda c: c.offer_lapsed(seat_id, why))

    async def begin_review(self, case_id: str, seat_id: str, operator_id: str) -> dict[str, Any]:
        case = await self._apply(case_id, lambda c: c.begin_review(seat_id, operator_id))
        return case.details()

    async def decide(self, case_id: str, seat_id: str, version: int, verdict: str,
                     reason_code: str, reason_text: str, missing: list[str]) -> dict[str, Any]:
        case = await self._apply(case_id, lambda c: c.decide(
            seat_id, version, Verdict(verdict), reason_code, reason_text, missing))
        self.dispatch.finished(seat_id, case_id)
        if case.state is CaseState.QUEUED:  # needs another approver
            self.dispatch.enqueue([case.queue_entry()])
        return case.update()

    async def escalate(self, case_id: str, why: str) -> None:
        await self._apply(case_id, lambda c: c.escalate(why))

    async def requeue(self, case_id: str, why: str) -> None:
        case = await self._apply(case_id, lambda c: c.requeue(why))
        if case.state is CaseState.QUEUED:
            self.dispatch.enqueue([case.queue_entry()])

    async def supplement(self, case_id: str, supplied: list[str], note: str, system: str
                         ) -> dict[str, Any]:
        (await self._get(case_id)).check_owner(system)
        case = await self._apply(case_id, lambda c: c.supplement(supplied, note))
        self.dispatch.enqueue([case.queue_entry()])
        return case.update()

    async def cancel(self, case_id: str, reason: str, system: str) -> dict[str, Any]:
        (await self._get(case_id)).check_owner(system)
        case = await self._apply(case_id, lambda c: c.cancel(reason))
        self.dispatch.withdraw(case_id, "case cancelled")
        return case.update()

    # ------------------------------------------------------------------ deadlines

    def stop_deadlines(self) -> None:
        """Before the store closes: the next start expires what is past its deadline."""
        for handle in self._deadlines.values():
            handle.cancel()
        self._deadlines.clear()

    def _watch_deadline(self, case: Case) -> None:
        if not self.expire_after or case.case_id in self._deadlines:
            return
        delay = case.spec.created_at + self.expire_after - time.time()
        self._deadlines[case.case_id] = asyncio.get_running_loop().call_later(
            max(delay, 0.0), self._deadline_passed, case.case_id)

    def _deadline_passed(self, case_id: str) -> None:
        self._deadlines.pop(case_id, None)
        task = asyncio.get_running_loop().create_task(self.expire(case_id))
        self._expiring.add(task)
        task.add_done_callback(self._expiring.discard)

    async def expire(self, case_id: str) -> None:
        """The case was not decided in time: it ends, and any seat holding it lets go."""
        try:
            case = await self._apply(case_id, lambda c: c.expire())
        except Exception:  # the store failed: the next start finds the case past its deadline
            log.exception("case %s: could not expire", case_id)
            return
        if case.state is CaseState.EXPIRED:
            self.dispatch.withdraw(case_id, "case expired")

    async def resync(self) -> None:
        """The dispatcher restarted and lost its queue and its reviews: hand it every waiting
        case again, and tell it which seat reviews which case."""
        reviews = [{"entry": c.queue_entry(), "seat_id": c.seat_id, "details": c.details()}
                   for c in self.cases.values() if c.state is CaseState.IN_REVIEW]
        if reviews:
            self.dispatch.adopt(reviews)
        waiting = [c for c in self.cases.values() if c.state in (CaseState.QUEUED,
                                                                  CaseState.OFFERED)]
        for case in waiting:
            if case.state is CaseState.OFFERED:
                await self._apply(case.case_id, lambda c: c.offer_lapsed(c.seat_id, "dispatcher restarted"))
        if waiting:
            self.dispatch.enqueue([c.queue_entry() for c in waiting])

    async def journal(self, after: int, kinds: list[str], limit: int
                      ) -> tuple[list[dict[str, Any]], int]:
        """The feed's events after sequence number `after`, as they were published (with the
        case's summary), and the last sequence number read; for replaying the feed."""
        rows, last = await self.store.journal(after, kinds, limit)
        summaries: dict[str, dict[str, Any]] = {}
        events = []
        for row in rows:
            doc = row.pop("doc")
            summary = summaries.get(row["case_id"])
            if summary is None:
                summary = summaries[row["case_id"]] = Case.from_doc(doc).summary()
            events.append({**row, **summary, "shard": self.shard})
        return events, last

    def stats(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for case in self.cases.values():
            counts[case.state.value] = counts.get(case.state.value, 0) + 1
        return counts
