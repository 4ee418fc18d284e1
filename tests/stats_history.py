"""A generated history with known answers, for the statistics tests: cases with chosen fates,
seats and timings, driven through the real Case state machine into a real CaseStore (each
event's `at` set to the planned time), their decisions into a real DecisionLog, and what every
figure should be, worked out here from the plan alone."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foureyes.actors.case import Case, CaseSpec, Verdict
from foureyes.store.cases import CaseStore
from foureyes.store.decisions import DecisionLog

# the bundled organisation (rules/default/organisation.yaml): outlet → branch → entity → HQ
CHAINS = {
    "OUT-SH-001": ("OUT-SH-001", "BR-SH", "LE-EAST", "HQ"),
    "OUT-SH-002": ("OUT-SH-002", "BR-SH", "LE-EAST", "HQ"),
    "OUT-HZ-001": ("OUT-HZ-001", "BR-HZ", "LE-EAST", "HQ"),
    "OUT-CD-001": ("OUT-CD-001", "BR-CD", "LE-WEST", "HQ"),
}
LEVELS = ("outlet", "branch", "legal_entity", "head_office")
SCENES = (("cash-withdrawal", "CASH_WITHDRAWAL"), ("large-transfer", "TRANSFER"),
          ("wealth-risk", "WEALTH_PURCHASE"), ("account-change", "ACCOUNT_CHANGE"))
SEATS = tuple(f"seat-{i}" for i in range(6))
FATES = ("approved", "rejected", "returned", "declined", "timeout", "cancelled", "expired", "two")
# 2026-11-02 00:00 local time: whole days in the machine's zone
START = dt.datetime(2026, 11, 2).timestamp()
DAYS = 3


@dataclass
class Planned:
    """One case's life as the test planned it."""

    case_id: str
    channel: str
    outlet: str
    scene: str
    code: str
    sla: int
    events: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Expected:
    """Per (hour, dimension, value): counts and raw durations."""

    counts: dict[tuple[int, str, str], dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    durations: dict[tuple[int, str, str, str], list[float]] = field(
        default_factory=lambda: defaultdict(list))
    reasons: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def add(self, at: float, keys: list[tuple[str, str]], figure: str) -> None:
        for dim, value in keys:
            self.counts[int(at // 3600) * 3600, dim, value][figure] += 1

    def took(self, at: float, keys: list[tuple[str, str]], measure: str, seconds: float) -> None:
        for dim, value in keys:
            self.durations[int(at // 3600) * 3600, dim, value, measure].append(seconds)

    def count(self, dim: str, value: str, figure: str, start: float, end: float) -> int:
        return sum(c.get(figure, 0) for (h, d, v), c in self.counts.items()
                   if d == dim and v == value and start <= h < end)

    def times(self, dim: str, value: str, measure: str, start: float, end: float) -> list[float]:
        return [s for (h, d, v, m), xs in self.durations.items()
                if d == dim and v == value and m == measure and start <= h < end for s in xs]


def keys_of(p: Planned) -> list[tuple[str, str]]:
    keys = [("all", ""), ("channel", p.channel)]
    if p.outlet:
        keys += list(zip(LEVELS, CHAINS[p.outlet], strict=True))
    return [*keys, ("scene", p.scene), ("code", p.code)]


def plan(n: int = 1000, seed: int = 17, start: float = START, days: int = DAYS) -> list[Planned]:
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        channel = rng.choice(("teller", "self_service", "mobile"))
        outlet = "" if channel == "mobile" else rng.choice(sorted(CHAINS))
        scene, code = rng.choice(SCENES)
        p = Planned(f"C{i:05d}", channel, outlet, scene, code, rng.choice((120, 300, 900)))
        t = start + rng.uniform(0, days * 86400 - 8 * 3600)
        fate = FATES[i % len(FATES)]
        seat, other = rng.sample(SEATS, 2)
        ev = p.events

        def later(lo: float, hi: float) -> float:
            nonlocal t
            t += rng.uniform(lo, hi)
            return t

        ev.append((t, "create", {}))
        if fate in ("cancelled", "expired"):
            if fate == "expired":
                ev.append((later(100, 3000), "escalate", {"why": "sla"}))
            ev.append((later(10, 20000), "cancel" if fate == "cancelled" else "expire", {}))
            cases.append(p)
            continue
        if fate in ("declined", "timeout"):
            ev.append((later(0.05, 30), "offer", {"seat": other}))
            ev.append((later(0.5, 40), "lapse", {"seat": other, "why": "declined" if fate == "declined"
                                                  else "offer timed out"}))
            if fate == "timeout":
                ev.append((later(1, 5000), "expire", {}))
                cases.append(p)
                continue
        ev.append((later(0.05, 30), "offer", {"seat": seat}))
        ev.append((later(0.2, 60), "accept", {"seat": seat}))
        if fate == "two":
            ev.append((later(5, 400), "decide", {"seat": seat, "verdict": Verdict.APPROVE}))
            ev.append((later(0.05, 30), "offer", {"seat": other}))
            ev.append((later(0.2, 60), "accept", {"seat": other}))
            seat = other
        verdict = {"rejected": Verdict.REJECT, "returned": Verdict.RETURN}.get(fate, Verdict.APPROVE)
        reason = rng.choice(("R-ID", "R-LIMIT", "R-VOUCHER")) if verdict is not Verdict.APPROVE else ""
        ev.append((later(5, 1200), "decide", {"seat": seat, "verdict": verdict, "reason": reason}))
        if fate == "returned":
            ev.append((later(60, 600), "supplement", {}))
            ev.append((later(1, 100), "cancel", {}))
        cases.append(p)
    return cases


def _spec(p: Planned) -> CaseSpec:
    return CaseSpec(
        case_id=p.case_id, fingerprint="f", channel=p.channel, initiator="teller-x",
        outlet=p.outlet, customer_id="cust", transaction_code=p.code, amount="1.00",
        currency="CNY", account_masked="****", mode="remote", level=1,
        approvers=sum(k == "decide" for _, k, _ in p.events) if p.events[-1][1] == "decide" else 1,
        priority=0,
        sla_seconds=p.sla, category="cash", scene={"id": p.scene}, images=None, fired=[],
        rules_version="v", created_at=p.events[0][0], units=CHAINS.get(p.outlet, ()))


def _step(case: Case, kind: str, a: dict[str, Any]) -> dict[str, Any] | None:
    if kind == "create":
        return case.create()
    if kind == "offer":
        return case.offer(a["seat"])
    if kind == "lapse":
        return case.offer_lapsed(a["seat"], a["why"])
    if kind == "accept":
        return case.begin_review(a["seat"], f"op-{a['seat']}")
    if kind == "decide":
        return case.decide(a["seat"], case.version, a["verdict"], a.get("reason", ""))
    if kind == "supplement":
        return case.supplement(["id_card"])
    if kind == "escalate":
        return case.escalate(a["why"])
    if kind == "cancel":
        return case.cancel("customer left")
    return case.expire()


async def write(data_dir: Path, cases: list[Planned], shards: int = 1,
                upto: float = math.inf, since: float = -math.inf) -> None:
    """Commit the events planned in [since, upto) in time order, spread over `shards` case
    stores (by case id), and with each case three decisions: the one that made it, one on
    the fast path (no scene), one the rules refused."""
    from foureyes.actors.shards import shard_of

    stores = [CaseStore(data_dir / f"cases-{i}.sqlite") for i in range(shards)]
    for s in stores:
        await s.open()
    log = DecisionLog(data_dir / "decisions-test.sqlite")
    await log.open()
    live: dict[str, Case] = {}
    timeline = sorted((at, n, p, kind, a) for p in cases
                      for n, (at, kind, a) in enumerate(p.events))
    for at, _, p, kind, a in timeline:
        case = live.setdefault(p.case_id, Case(_spec(p)))
        event = _step(case, kind, a)  # events outside [since, upto) only in memory
        if not since <= at < upto:
            continue
        assert event is not None
        event["at"] = at
        store = stores[shard_of(p.case_id, shards)]
        await store.save([(case.to_row(), event)])
        if kind == "create":
            facts = {"transaction.code": p.code, "outlet.id": p.outlet, "channel": p.channel}
            log.record(at, p.channel, p.case_id, "remote", p.scene, p.case_id, "v", [], facts)
            log.record(at, p.channel, f"{p.case_id}-fast", "none", "", "", "v", [], facts)
            log.record(at, p.channel, f"{p.case_id}-refused", "reject", p.scene, "", "v", [],
                       facts)
    await log.close()
    for s in stores:
        await s.close()


def expected(cases: list[Planned]) -> Expected:
    """Every figure from the plan: the hour of the completing event, the planned times."""
    e = Expected()
    lapse = {"declined": "declined", "offer timed out": "timed_out"}
    for p in cases:
        keys = keys_of(p)
        created = p.events[0][0]
        offer_at: float | None = None
        first_offer = True
        review_at = 0.0
        decides = [a for _, k, a in p.events if k == "decide"]
        for at, kind, a in p.events:
            seat = [("seat", a["seat"])] if "seat" in a else []
            if kind == "create":
                e.add(at, keys, "created")
            elif kind == "offer":
                if first_offer:
                    e.took(at, keys, "request_offer", at - created)
                    first_offer = False
                offer_at = at
                e.add(at, keys + seat, "offered")
            elif kind == "lapse":
                e.add(at, keys + seat, lapse[a["why"]])
                offer_at = None
            elif kind == "accept":
                assert offer_at is not None
                e.took(at, keys + seat, "offer_accept", at - offer_at)
                e.add(at, keys + seat, "reviews")
                review_at = at
            elif kind == "decide":
                e.took(at, keys + seat, "accept_decision", at - review_at)
                final = a is decides[-1]
                figure = {Verdict.REJECT: "rejected", Verdict.RETURN: "returned"}.get(
                    a["verdict"], "approved" if final else "approved_partly")
                e.add(at, keys + seat, figure)
                if figure in ("rejected", "returned"):
                    e.reasons[figure, a["reason"]] += 1
                if figure in ("approved", "rejected"):  # the case's, not the seat's
                    e.took(at, keys, "request_decision", at - created)
                    if at - created <= p.sla:
                        e.add(at, keys, "sla_met")
            else:
                e.add(at, keys, {"supplement": "supplemented", "escalate": "escalated",
                                 "cancel": "cancelled", "expire": "expired"}[kind])
    return e


def expected_requests(cases: list[Planned]) -> Expected:
    """The decision log's figures, as write() records them."""
    e = Expected()
    for p in cases:
        at = p.events[0][0]
        keys = keys_of(p)
        no_scene = [k for k in keys if k[0] != "scene"]
        for figure in ("requests", "required", "requests", "refused"):
            e.add(at, keys, figure)
        e.add(at, no_scene, "requests")  # the fast-path decision names no scene
    return e
