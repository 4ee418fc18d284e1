"""The dispatcher: seats as virtual actors, and the queue of cases waiting for one.

The queue is served in order of the rules' priority, then customers standing at a counter or
kiosk before mobile ones, then the earliest SLA deadline, then age. A queued case is offered
to one seat with room (a seat holds up to `capacity` cases at once, default 1): its skills
include the scene's category, its authority level is at least the required level, its operator
is neither the case's initiator nor an earlier approver, and among those the one with the
fewest cases, then the one assigned least recently. An offer that is declined or not accepted
in time goes to the next seat.

A case waiting past its SLA deadline, or whose offer timed out `escalate_after` times, is
escalated: served before ordinary cases, and every supervisor seat is told. Supervisors may
reassign a case to a named seat, take it back from a seat, and view the board. A seat that
drops keeps the cases it is reviewing for `review_grace` seconds: back in time, it carries on;
otherwise they are queued again. Plain Python: the Ray host wires in the case shards and the bus.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from foureyes.actors.case import ESCALATION_PRIORITY
from foureyes.errors import Conflict, FoureyesError, NotFound, PermissionDenied

log = logging.getLogger(__name__)


class CasePort(Protocol):
    # commits the offer, then shows it to the seat through `gateway_id`
    def offered(self, case_id: str, seat_id: str, gateway_id: str, expires_in_ms: int) -> None: ...
    def offer_lapsed(self, case_id: str, seat_id: str, why: str) -> None: ...
    def requeue(self, case_id: str, why: str) -> None: ...
    def escalate(self, case_id: str, why: str) -> None: ...
    def begin_review(self, case_id: str, seat_id: str, operator_id: str
                     ) -> Awaitable[dict[str, Any]]: ...


# (gateway id, seat id, message)
SeatPush = Callable[[str, str, dict[str, Any]], None]


WAITING_AT_THE_COUNTER = frozenset({"teller", "self_service"})


@dataclass
class Seat:
    seat_id: str
    operator_id: str
    level: int
    skills: frozenset[str]
    gateway_id: str
    capacity: int = 1
    outlet: str = ""
    scope: frozenset[str] = frozenset()  # empty: every unit
    offered: set[str] = field(default_factory=set)
    reviewing: set[str] = field(default_factory=set)
    last_assigned: float = 0.0
    away: bool = False
    supervisor: bool = False

    @property
    def tasks(self) -> int:
        return len(self.offered) + len(self.reviewing)

    @property
    def free(self) -> bool:
        return not self.away and self.tasks < self.capacity

    @property
    def presence(self) -> str:
        return "away" if self.away else "busy" if self.tasks else "available"


@dataclass
class Waiting:
    case_id: str
    category: str
    level: int
    initiator: str
    excluded: frozenset[str]
    priority: int
    created_at: float
    deadline: float
    details: dict[str, Any]  # as queued; supervisors see them with an escalation
    channel: str = ""
    preferred: str = ""  # the seat that returned the case for supplement
    outlet: str = ""
    units: frozenset[str] = frozenset()  # the outlet and the units above it
    timeouts: int = 0  # offers of this case that nobody accepted in time
    escalated: bool = False
    declined: set[str] = field(default_factory=set)
    since: float = field(default_factory=time.time)  # in the queue, or offered, since
    sla_timer: asyncio.TimerHandle | None = None

    def sort_key(self) -> tuple[int, bool, float, float]:
        return (-self.priority, self.channel not in WAITING_AT_THE_COUNTER, self.deadline,
                self.created_at)


@dataclass
class Review:
    entry: Waiting
    seat_id: str
    details: dict[str, Any]  # as the seat was shown them, sent again if it reconnects
    since: float = field(default_factory=time.time)
    grace: asyncio.TimerHandle | None = None  # set while the seat is offline


def _waiting(e: dict[str, Any]) -> Waiting:
    """A case host's queue entry (Case.queue_entry) as the dispatcher keeps it."""
    return Waiting(
        e["case_id"], e["category"], e["level"], e["initiator"], frozenset(e["excluded"]),
        e["priority"], e["created_at"], e["deadline"], e["details"], e.get("channel", ""),
        e.get("preferred", ""), e.get("outlet", ""), frozenset(e.get("units", ())),
        escalated=e.get("escalated", False))


def _load(seat: Seat) -> tuple[int, float]:
    return len(seat.offered) + len(seat.reviewing), seat.last_assigned


class Dispatcher:
    def __init__(self, cases: CasePort, push: SeatPush, offer_timeout: float,
                 bar_own_outlet: bool = False, escalate_after: int = 3,
                 review_grace: float = 0.0) -> None:
        self.cases = cases
        self.escalate_after = escalate_after  # offer timeouts; 0: never
        self.bar_own_outlet = bar_own_outlet
        self.review_grace = review_grace  # seconds a dropped seat keeps its reviews; 0: none
        self.push = push
        self.offer_timeout = offer_timeout
        self.seats: dict[str, Seat] = {}
        self.queue: dict[str, Waiting] = {}
        self.offers: dict[str, tuple[Waiting, str, asyncio.TimerHandle]] = {}
        self.reviews: dict[str, Review] = {}
        # how to route a case that the case host will queue again (after a review was taken)
        self.pinned: dict[str, str] = {}  # case id → the seat a supervisor named
        self.avoid: dict[str, str] = {}  # case id → the seat it was taken back from
        self.offers_made = 0

    # ------------------------------------------------------------------ seats

    def login(self, seat_id: str, operator_id: str, level: int, skills: list[str],
              gateway_id: str, capacity: int = 1, outlet: str = "",
              scope: list[str] | None = None, supervisor: bool = False,
              stream_kept: bool = False) -> None:
        """`stream_kept`: the seat's stream never broke (a restarted dispatcher relearns the
        seat from its gateway's heartbeat), so the seat already shows what it reviews."""
        old = self.seats.get(seat_id)
        if old is not None and old.tasks:
            self.logout(seat_id)  # a new session of the same seat starts clean
        seat = self.seats[seat_id] = Seat(
            seat_id, operator_id, level, frozenset(skills), gateway_id,
            capacity=max(capacity, 1), outlet=outlet, scope=frozenset(scope or ()),
            last_assigned=old.last_assigned if old else 0.0, supervisor=supervisor)
        for review in self.reviews.values():
            if review.seat_id == seat_id and review.grace is not None:
                # back within the grace time: the review carries on where it was
                review.grace.cancel()
                review.grace = None
                seat.reviewing.add(review.entry.case_id)
                if not stream_kept:
                    self.push(gateway_id, seat_id, {"type": "assigned", "case": review.details})
        self._assign()

    def logout(self, seat_id: str, gateway_id: str = "") -> None:
        """`gateway_id`: only the session on that gateway (the seat may have moved on)."""
        seat = self.seats.get(seat_id)
        if seat is None or (gateway_id and seat.gateway_id != gateway_id):
            return
        del self.seats[seat_id]
        for case_id in list(seat.offered):
            self._take_back(case_id, "seat went offline", notify_seat=False)
        for case_id in seat.reviewing:
            self._seat_offline(case_id, f"seat {seat_id} went offline during review")
        self._assign()

    def _seat_offline(self, case_id: str, why: str) -> None:
        """The seat reviewing the case is not here: it has `review_grace` to come back, or
        the case is queued again at once."""
        review = self.reviews.get(case_id)
        if self.review_grace and review is not None:
            review.grace = asyncio.get_running_loop().call_later(
                self.review_grace, self._grace_over, case_id)
        else:
            self._end_review(case_id, why)

    def _grace_over(self, case_id: str) -> None:
        review = self.reviews.get(case_id)
        if review is not None and review.grace is not None:
            self._end_review(case_id, f"seat {review.seat_id} did not come back during review")
            self._assign()

    def _release_review(self, case_id: str, why: str, tell: bool = True) -> None:
        """The seat lets go of a case in review and, if it is still here (and `tell`), is
        told why."""
        review = self.reviews.pop(case_id, None)
        if review is None:
            return
        if review.grace is not None:
            review.grace.cancel()
        seat = self.seats.get(review.seat_id)
        if seat is not None and case_id in seat.reviewing:
            seat.reviewing.discard(case_id)
            if tell:
                self.push(seat.gateway_id, seat.seat_id,
                          {"type": "revoked", "case_id": case_id, "reason": why})

    def _end_review(self, case_id: str, why: str) -> None:
        """The seat lets go of a case in review; the case host queues it again."""
        self._release_review(case_id, why)
        self.cases.requeue(case_id, why)

    def set_presence(self, seat_id: str, away: bool) -> None:
        """Away: no new offers; what the seat holds stays with it."""
        seat = self.seats.get(seat_id)
        if seat is None:
            raise NotFound(f"seat {seat_id} is not logged in")
        seat.away = away
        self._assign()

    # ------------------------------------------------------------------ cases

    def enqueue(self, entries: list[dict[str, Any]]) -> None:
        for e in entries:
            case_id = e["case_id"]
            if case_id in self.offers:
                continue
            # The case host queued a case this desk still sees in review: that host restarted
            # and requeued its open cases. The review is over; the seat's room is free again.
            # The host itself told the seat (CaseShard.recover), in every layout.
            self._release_review(case_id, "the case was queued again after a restart", tell=False)
            old = self.queue.get(case_id)
            if old is not None and old.sla_timer is not None:
                old.sla_timer.cancel()
            entry = self.queue[case_id] = _waiting(e)
            if case_id in self.avoid:
                entry.declined.add(self.avoid.pop(case_id))
            if case_id in self.pinned:
                self._offer_to(entry, self.pinned.pop(case_id))
            self._watch_sla(entry)
        self._assign()

    def adopt(self, reviews: list[dict[str, Any]]) -> None:
        """A restarted dispatcher learns from the case hosts which seat reviews which case
        (`entry`: the case's queue entry, `seat_id`, `details` as the seat was shown them), so
        that the seat's room counts them and a seat gone for good lets them go. A seat it does
        not know yet (its gateway's heartbeat comes within seconds) is treated as dropped: it
        has `review_grace` to come back."""
        for r in reviews:
            case_id = r["entry"]["case_id"]
            if case_id in self.reviews:
                continue
            review = self.reviews[case_id] = Review(_waiting(r["entry"]), r["seat_id"],
                                                    r["details"])
            seat = self.seats.get(review.seat_id)
            if seat is not None:
                seat.reviewing.add(case_id)
            else:
                self._seat_offline(case_id, f"seat {review.seat_id} is offline after a restart")
        self._assign()

    def withdraw(self, case_id: str, reason: str = "case cancelled") -> None:
        entry = self.queue.pop(case_id, None)
        offer = self.offers.pop(case_id, None)
        if offer is not None:
            entry, seat_id, timer = offer
            timer.cancel()
            self._release_offer(seat_id, case_id, reason)
        if entry is not None and entry.sla_timer is not None:
            entry.sla_timer.cancel()
        self._release_review(case_id, reason)
        self._assign()

    async def accept(self, seat_id: str, case_id: str) -> dict[str, Any]:
        offer = self.offers.get(case_id)
        if offer is None or offer[1] != seat_id:
            raise Conflict(f"case {case_id} is not offered to seat {seat_id} (any more)")
        entry, _, timer = self.offers.pop(case_id)
        timer.cancel()
        if entry.sla_timer is not None:  # the SLA is about waiting for a seat: it has one
            entry.sla_timer.cancel()
        seat = self.seats[seat_id]
        seat.offered.discard(case_id)
        seat.reviewing.add(case_id)
        review = self.reviews[case_id] = Review(entry, seat_id, entry.details)
        try:
            review.details = await self.cases.begin_review(case_id, seat_id, seat.operator_id)
        except FoureyesError:
            seat.reviewing.discard(case_id)
            self.reviews.pop(case_id, None)
            self._assign()
            raise
        return review.details

    def decline(self, seat_id: str, case_id: str) -> None:
        offer = self.offers.get(case_id)
        if offer is None or offer[1] != seat_id:
            raise NotFound(f"case {case_id} is not offered to seat {seat_id}")
        self._take_back(case_id, "declined", notify_seat=False)
        self._assign()

    def finished(self, seat_id: str, case_id: str) -> None:
        seat = self.seats.get(seat_id)
        if seat is not None:
            seat.reviewing.discard(case_id)
        self.reviews.pop(case_id, None)
        self._assign()

    # ------------------------------------------------------------------ supervisors

    def _supervisor(self, seat_id: str) -> Seat:
        seat = self.seats.get(seat_id)
        if seat is None or not seat.supervisor:
            raise PermissionDenied(f"seat {seat_id} is not a supervisor seat")
        return seat

    def _waiting(self, case_id: str) -> Waiting | None:
        """The case's entry while it waits for a seat: queued or offered."""
        offer = self.offers.get(case_id)
        return offer[0] if offer is not None else self.queue.get(case_id)

    def _holder(self, case_id: str) -> str:
        """The seat a case is offered to or in review at; empty if queued."""
        if case_id in self.offers:
            return self.offers[case_id][1]
        if case_id in self.reviews:
            return self.reviews[case_id].seat_id
        if case_id in self.queue:
            return ""
        raise NotFound(f"case {case_id} is neither waiting for a seat nor in review")

    def holder_of(self, case_id: str) -> dict[str, str]:
        """The seat a case is offered to or in review at now, and its operator; empty when no
        connected seat holds it. Serving the case's images to a seat asks this."""
        if case_id in self.offers:
            seat_id, state = self.offers[case_id][1], "OFFERED"
        elif case_id in self.reviews:
            seat_id, state = self.reviews[case_id].seat_id, "IN_REVIEW"
        else:
            return {}
        seat = self.seats.get(seat_id)
        return {} if seat is None else {"seat_id": seat_id, "operator_id": seat.operator_id,
                                        "state": state}

    def reassign(self, supervisor_id: str, case_id: str, seat_id: str) -> dict[str, str]:
        by = self._supervisor(supervisor_id)
        holder = self._holder(case_id)
        target = self.seats.get(seat_id)
        if target is None:
            raise NotFound(f"seat {seat_id} is not logged in")
        if holder == seat_id:
            raise Conflict(f"case {case_id} is with seat {seat_id} already")
        review = self.reviews.get(case_id)
        entry = review.entry if review else self._waiting(case_id)
        assert entry is not None  # _holder found it
        why_not = self._why_not(target, entry)
        if why_not:
            raise Conflict(f"seat {seat_id} may not take case {case_id}: {why_not}")
        why = f"reassigned to seat {seat_id} by supervisor {by.operator_id}"
        if review is not None:
            self.pinned[case_id] = seat_id  # offered to it when the case host queues it again
            self._end_review(case_id, why)
        else:
            if holder:
                self._take_back(case_id, why, notify_seat=True)
            self._offer_to(self.queue[case_id], seat_id)
        self._assign()
        return {"case_id": case_id, "from_seat": holder, "to_seat": seat_id}

    def take_back(self, supervisor_id: str, case_id: str) -> dict[str, str]:
        by = self._supervisor(supervisor_id)
        holder = self._holder(case_id)
        if not holder:
            raise Conflict(f"case {case_id} is in the queue, not with a seat")
        why = f"taken back by supervisor {by.operator_id}"
        if case_id in self.reviews:
            self.avoid[case_id] = holder  # other seats first when it is queued again
            self._end_review(case_id, why)
        else:
            self._take_back(case_id, why, notify_seat=True)
        self._assign()
        return {"case_id": case_id, "from_seat": holder, "to_seat": ""}

    def board(self, supervisor_id: str) -> dict[str, Any]:
        """Every seat with its current tasks, and every queue's depth and oldest wait."""
        self._supervisor(supervisor_id)
        rows: dict[str, dict[str, Any]] = {
            s.seat_id: {"seat_id": s.seat_id, "operator_id": s.operator_id,
                        "presence": s.presence, "supervisor": s.supervisor, "level": s.level,
                        "capacity": s.capacity, "tasks": []}
            for s in sorted(self.seats.values(), key=lambda s: s.seat_id)}
        for case_id, (entry, seat_id, _) in self.offers.items():
            rows[seat_id]["tasks"].append({"case_id": case_id, "state": "OFFERED",
                                           "category": entry.category, "since": entry.since})
        for case_id, review in self.reviews.items():
            row = rows.setdefault(review.seat_id, {  # offline, within its grace time
                "seat_id": review.seat_id, "operator_id": "", "presence": "offline",
                "supervisor": False, "level": 0, "capacity": 0, "tasks": []})
            row["tasks"].append({"case_id": case_id, "state": "IN_REVIEW",
                                 "category": review.entry.category, "since": review.since})
        queues = self._queues()
        return {"seats": list(rows.values()), "queues": [queues[c] for c in sorted(queues)]}

    def _queues(self) -> dict[str, dict[str, Any]]:
        """Per scene category: cases waiting (not offered), the oldest wait, and how many of
        the waiting and offered ones are escalated."""
        now = time.time()
        queues: dict[str, dict[str, Any]] = {}
        waiting = [(e, True) for e in self.queue.values()]
        waiting += [(e, False) for e, _, _ in self.offers.values()]
        for entry, queued in waiting:
            q = queues.setdefault(entry.category, {"category": entry.category, "depth": 0,
                                                   "oldest_wait_seconds": 0.0, "escalated": 0})
            q["escalated"] += entry.escalated
            if queued:
                q["depth"] += 1
                q["oldest_wait_seconds"] = max(q["oldest_wait_seconds"], now - entry.since)
        return queues

    # ------------------------------------------------------------------ escalation

    def _watch_sla(self, entry: Waiting) -> None:
        if entry.escalated or entry.sla_timer is not None:
            return
        entry.sla_timer = asyncio.get_running_loop().call_later(
            max(entry.deadline - time.time(), 0.0), self._sla_passed, entry.case_id)

    def _sla_passed(self, case_id: str) -> None:
        entry = self._waiting(case_id)
        if entry is not None:
            entry.sla_timer = None
            self._escalate(entry, "waiting past its SLA deadline")
            self._assign()

    def _escalate(self, entry: Waiting, why: str) -> None:
        """Served before ordinary cases from now on; its journal and every supervisor hear."""
        if entry.escalated:
            return
        entry.escalated = True
        entry.priority += ESCALATION_PRIORITY
        self.cases.escalate(entry.case_id, why)
        holder = self._holder(entry.case_id)
        for seat in self.seats.values():
            if seat.supervisor:
                self.push(seat.gateway_id, seat.seat_id,
                          {"type": "escalation", "case_id": entry.case_id, "reason": why,
                           "case": entry.details, "seat_id": holder})

    # ------------------------------------------------------------------ routing

    def _take_back(self, case_id: str, why: str, notify_seat: bool) -> None:
        entry, seat_id, timer = self.offers.pop(case_id)
        timer.cancel()
        entry.declined.add(seat_id)
        entry.since = time.time()
        self.queue[case_id] = entry
        self._release_offer(seat_id, case_id, why if notify_seat else "")
        self.cases.offer_lapsed(case_id, seat_id, why)

    def _release_offer(self, seat_id: str, case_id: str, tell: str) -> None:
        seat = self.seats.get(seat_id)
        if seat is not None and case_id in seat.offered:
            seat.offered.discard(case_id)
            if tell:
                self.push(seat.gateway_id, seat_id,
                          {"type": "revoked", "case_id": case_id, "reason": tell})

    def _expire(self, case_id: str, seat_id: str) -> None:
        offer = self.offers.get(case_id)
        if offer is not None and offer[1] == seat_id:
            entry = offer[0]
            self._take_back(case_id, "offer timed out", notify_seat=True)
            entry.timeouts += 1
            if entry.timeouts == self.escalate_after:
                self._escalate(entry, f"offer timed out {entry.timeouts} times")
            self._assign()

    def _assign(self) -> None:
        if not self.queue:
            return
        # Seat.free written out: this runs over every seat for every queued case, and the
        # property calls made it 13x the one-seat cost at 500 seats against 9x (benchmarks/
        # dispatch.py). _load likewise spells out Seat.tasks. Keep the three in step.
        free = [s for s in self.seats.values()
                if not s.away and len(s.offered) + len(s.reviewing) < s.capacity]
        if not free:  # the usual case under load: no need to sort the queue
            return
        free.sort(key=_load)  # the least busy first, then the longest without a new case
        # First every case to a seat that has not passed on it; only then may a seat that
        # declined (or let an offer time out) see the same case again, so that one declined
        # case does not keep a seat from the others.
        for second_round in (False, True):
            for entry in sorted(self.queue.values(), key=Waiting.sort_key):
                if not free:
                    return
                seat = self._pick(entry, free, second_round)
                if seat is not None:
                    self._offer(entry, seat)
                    free.remove(seat)
                    if seat.free:  # its load changed: back in its place in the order
                        bisect.insort(free, seat, key=_load)

    def _offer_to(self, entry: Waiting, seat_id: str) -> None:
        """A supervisor's choice: offered even beyond the seat's capacity or while away."""
        seat = self.seats.get(seat_id)
        if seat is not None and not self._why_not(seat, entry):
            self._offer(entry, seat)

    def _offer(self, entry: Waiting, seat: Seat) -> None:
        del self.queue[entry.case_id]
        entry.since = time.time()
        seat.offered.add(entry.case_id)
        seat.last_assigned = time.monotonic()
        timer = asyncio.get_running_loop().call_later(
            self.offer_timeout, self._expire, entry.case_id, seat.seat_id)
        self.offers[entry.case_id] = (entry, seat.seat_id, timer)
        self.offers_made += 1
        self.cases.offered(entry.case_id, seat.seat_id, seat.gateway_id,
                           int(self.offer_timeout * 1000))

    def _why_not(self, seat: Seat, entry: Waiting) -> str:
        """Why the seat may not take the case; empty if it may."""
        if entry.category not in seat.skills:
            return f"no skill {entry.category!r}"
        if seat.level < entry.level:
            return f"authority level {seat.level} is below {entry.level}"
        if seat.operator_id == entry.initiator:
            return "its operator initiated the case"
        if seat.operator_id in entry.excluded:
            return "its operator approved the case already"
        if seat.scope and not seat.scope & entry.units:
            return "the case's outlet is outside its scope"
        if self.bar_own_outlet and seat.outlet and seat.outlet == entry.outlet:
            return "the case comes from its own outlet"
        return ""

    def _pick(self, entry: Waiting, free: list[Seat], second_round: bool) -> Seat | None:
        """The first able seat in `free` (least busy first) that has not passed on the case.
        A supplemented case goes back to the seat that returned it, if that seat is free."""
        back = self.seats.get(entry.preferred) if entry.preferred else None
        if (back is not None and back.free and back.seat_id not in entry.declined
                and not self._why_not(back, entry)):
            return back
        passed = None  # the first able seat that has passed on it
        for seat in free:
            if self._why_not(seat, entry):
                continue
            if seat.seat_id not in entry.declined:
                return seat
            passed = passed or seat
        if passed is not None and second_round:
            entry.declined.clear()  # every able seat has passed on it once: another round
        return passed if second_round else None

    def stats(self) -> dict[str, Any]:
        presence = {"available": 0, "busy": 0, "away": 0,
                    "offline": len({r.seat_id for r in self.reviews.values() if r.grace})}
        for s in self.seats.values():
            presence[s.presence] += 1
        return {"queued": len(self.queue), "offered": len(self.offers), "seats": presence,
                "queues": self._queues()}
