"""The dispatcher: seats as virtual actors, and the queue of cases waiting for one.

The queue is served in order of the rules' priority, then customers standing at a counter or
kiosk before mobile ones, then the earliest SLA deadline, then age. A queued case is offered
to one seat with room (a seat holds up to `capacity` cases at once, default 1): its skills
include the scene's category, its authority level is at least the required level, its operator
is neither the case's initiator nor an earlier approver, and among those the one with the
fewest cases, then the one assigned least recently. An offer that is declined or not accepted
in time goes to the next seat. Plain Python: the Ray host wires in the case shards and the bus.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from foureyes.actors.case import ESCALATION_PRIORITY
from foureyes.errors import Conflict, FoureyesError, NotFound

log = logging.getLogger(__name__)


class CasePort(Protocol):
    def offered(self, case_id: str, seat_id: str) -> None: ...
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
    details: dict[str, Any]  # shown to the seat with the offer
    channel: str = ""
    preferred: str = ""  # the seat that returned the case for supplement
    outlet: str = ""
    units: frozenset[str] = frozenset()  # the outlet and the units above it
    timeouts: int = 0  # offers of this case that nobody accepted in time
    declined: set[str] = field(default_factory=set)

    def sort_key(self) -> tuple[int, bool, float, float]:
        return (-self.priority, self.channel not in WAITING_AT_THE_COUNTER, self.deadline,
                self.created_at)


class Dispatcher:
    def __init__(self, cases: CasePort, push: SeatPush, offer_timeout: float,
                 bar_own_outlet: bool = False, escalate_after: int = 3) -> None:
        self.cases = cases
        self.escalate_after = escalate_after  # offer timeouts; 0: never
        self.bar_own_outlet = bar_own_outlet
        self.push = push
        self.offer_timeout = offer_timeout
        self.seats: dict[str, Seat] = {}
        self.queue: dict[str, Waiting] = {}
        self.offers: dict[str, tuple[Waiting, str, asyncio.TimerHandle]] = {}
        self.offers_made = 0

    # ------------------------------------------------------------------ seats

    def login(self, seat_id: str, operator_id: str, level: int, skills: list[str],
              gateway_id: str, capacity: int = 1, outlet: str = "",
              scope: list[str] | None = None) -> None:
        old = self.seats.get(seat_id)
        if old is not None and old.tasks:
            self.logout(seat_id)  # a new session of the same seat starts clean
        self.seats[seat_id] = Seat(seat_id, operator_id, level, frozenset(skills), gateway_id,
                                   capacity=max(capacity, 1), outlet=outlet,
                                   scope=frozenset(scope or ()),
                                   last_assigned=old.last_assigned if old else 0.0)
        self._assign()

    def logout(self, seat_id: str) -> None:
        seat = self.seats.pop(seat_id, None)
        if seat is None:
            return
        for case_id in list(seat.offered):
            self._take_back(case_id, "seat went offline", notify_seat=False)
        for case_id in seat.reviewing:
            self.cases.requeue(case_id, f"seat {seat_id} went offline during review")
        self._assign()

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
            if e["case_id"] in self.offers:
                continue
            self.queue[e["case_id"]] = Waiting(
                e["case_id"], e["category"], e["level"], e["initiator"], frozenset(e["excluded"]),
                e["priority"], e["created_at"], e["deadline"], e["details"], e.get("channel", ""),
                e.get("preferred", ""), e.get("outlet", ""), frozenset(e.get("units", ())))
        self._assign()

    def withdraw(self, case_id: str, reason: str = "case cancelled") -> None:
        self.queue.pop(case_id, None)
        offer = self.offers.pop(case_id, None)
        if offer is not None:
            _, seat_id, timer = offer
            timer.cancel()
            self._release_offer(seat_id, case_id, reason)
        for seat in self.seats.values():
            if case_id in seat.reviewing:
                seat.reviewing.discard(case_id)
                self.push(seat.gateway_id, seat.seat_id,
                          {"type": "revoked", "case_id": case_id, "reason": reason})
        self._assign()

    async def accept(self, seat_id: str, case_id: str) -> dict[str, Any]:
        offer = self.offers.get(case_id)
        if offer is None or offer[1] != seat_id:
            raise Conflict(f"case {case_id} is not offered to seat {seat_id} (any more)")
        _, _, timer = self.offers.pop(case_id)
        timer.cancel()
        seat = self.seats[seat_id]
        seat.offered.discard(case_id)
        seat.reviewing.add(case_id)
        try:
            return await self.cases.begin_review(case_id, seat_id, seat.operator_id)
        except FoureyesError:
            seat.reviewing.discard(case_id)
            self._assign()
            raise

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
        self._assign()

    # ------------------------------------------------------------------ routing

    def _take_back(self, case_id: str, why: str, notify_seat: bool) -> None:
        entry, seat_id, timer = self.offers.pop(case_id)
        timer.cancel()
        entry.declined.add(seat_id)
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
                # nobody takes it: serve it before ordinary cases, and say so in its journal
                entry.priority += ESCALATION_PRIORITY
                self.cases.escalate(case_id, f"offer timed out {entry.timeouts} times")
            self._assign()

    def _assign(self) -> None:
        if not self.queue:
            return
        free = [s for s in self.seats.values() if s.free]
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
                    if not seat.free:
                        free.remove(seat)

    def _offer(self, entry: Waiting, seat: Seat) -> None:
        del self.queue[entry.case_id]
        seat.offered.add(entry.case_id)
        seat.last_assigned = time.monotonic()
        timer = asyncio.get_running_loop().call_later(
            self.offer_timeout, self._expire, entry.case_id, seat.seat_id)
        self.offers[entry.case_id] = (entry, seat.seat_id, timer)
        self.offers_made += 1
        self.cases.offered(entry.case_id, seat.seat_id)
        self.push(seat.gateway_id, seat.seat_id,
                  {"type": "offer", "case_id": entry.case_id, "case": entry.details,
                   "expires_in_ms": int(self.offer_timeout * 1000)})

    def _may_take(self, seat: Seat, entry: Waiting) -> bool:
        return (entry.category in seat.skills and seat.level >= entry.level
                and seat.operator_id != entry.initiator and seat.operator_id not in entry.excluded
                and (not seat.scope or bool(seat.scope & entry.units))
                and not (self.bar_own_outlet and seat.outlet and seat.outlet == entry.outlet))

    def _pick(self, entry: Waiting, free: list[Seat], second_round: bool) -> Seat | None:
        able = [s for s in free if self._may_take(s, entry)]
        fresh = [s for s in able if s.seat_id not in entry.declined]
        back = next((s for s in fresh if s.seat_id == entry.preferred), None)
        if back is not None:  # a supplemented case goes back to the seat that returned it
            return back
        if not fresh and able and second_round:
            entry.declined.clear()  # every able seat has passed on it once: another round
            fresh = able
        return min(fresh, key=lambda s: (s.tasks, s.last_assigned)) if fresh else None

    def stats(self) -> dict[str, Any]:
        presence = {"available": 0, "busy": 0, "away": 0}
        for s in self.seats.values():
            presence[s.presence] += 1
        return {"queued": len(self.queue), "offered": len(self.offers), "seats": presence,
                "oldest_wait": min((e.created_at for e in self.queue.values()), default=None)}
