"""The dispatcher's own cost per case as the authorization center grows: a case queued,
offered, accepted and finished, with 1, 50 and 500 seats logged in, in the same process.
The baseline is the one-seat center, so the ratio is what each further seat costs a case.

`python -m foureyes.benchmarks.dispatch [--cases N]`; also part of `bash run.sh bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from foureyes.actors.dispatch import Dispatcher

SEATS = (1, 50, 500)


class _Cases:
    """The case hosts' side, doing nothing: only the dispatcher is measured."""

    def offered(self, case_id: str, seat_id: str, gateway_id: str, expires_in_ms: int
                ) -> None: ...
    def offer_lapsed(self, case_id: str, seat_id: str, why: str) -> None: ...
    def requeue(self, case_id: str, why: str) -> None: ...
    def escalate(self, case_id: str, why: str) -> None: ...

    async def begin_review(self, case_id: str, seat_id: str, operator_id: str
                           ) -> dict[str, Any]:
        return {"case_id": case_id}


def _entry(case_id: str) -> dict[str, Any]:
    now = time.time()
    return {"case_id": case_id, "category": "cash", "level": 2, "initiator": "teller-1",
            "excluded": [], "priority": 0, "created_at": now, "deadline": now + 300,
            "details": {"case_id": case_id}}


async def per_case(seats: int, cases: int) -> float:
    """Seconds of dispatcher work per case: enqueue → offer → accept → finished."""
    desk = Dispatcher(_Cases(), lambda gateway_id, seat_id, message: None, 30.0)  # type: ignore[arg-type]
    for i in range(seats):
        desk.login(f"seat-{i}", f"auth-{i}", 2, ["cash"], "gw")
    entries = [_entry(f"C{i}") for i in range(cases)]
    start = time.perf_counter()
    for e in entries:
        desk.enqueue([e])
        seat_id = desk.offers[e["case_id"]][1]
        await desk.accept(seat_id, e["case_id"])
        desk.finished(seat_id, e["case_id"])
    return (time.perf_counter() - start) / cases


async def table(cases: int = 3000) -> str:
    lines = [f"dispatcher per case (queue, offer, accept, finish), {cases} cases",
             f"{'seats logged in':<20} {'per case':>10} {'vs 1 seat':>10}"]
    base = 0.0
    for seats in SEATS:
        t = await per_case(seats, cases)
        base = base or t
        lines.append(f"{seats:<20} {t * 1e6:>7.1f} µs {t / base:>9.1f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=3000)
    print(asyncio.run(table(parser.parse_args().cases)))
