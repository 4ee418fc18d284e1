"""What the wire's codec costs against the pickle it replaced: encode and decode, in one
process, of the frames the case path sends most (a create batch of 16 cases and its answer,
a message batch to the dispatcher). The baseline is pickle (protocol 5) of the same values in
the same run. No sockets: the frames only.

`python -m foureyes.benchmarks.wire_codec [--seconds S]`.
"""

from __future__ import annotations

import argparse
import pickle
import time
from collections.abc import Callable
from typing import Any

from foureyes.actors.case import Case, CaseSpec
from foureyes.errors import Conflict
from foureyes.messaging import codec

BATCH = 16


def _spec(i: int) -> CaseSpec:
    return CaseSpec(
        case_id=f"C{i:020x}", fingerprint="9f" * 16, channel="teller", initiator="teller-0042",
        outlet="0101", customer_id=f"cust-{i}", transaction_code="CASH_WITHDRAWAL",
        amount="80000.00", currency="CNY", account_masked="************2222", mode="remote",
        level=2, approvers=1, priority=10, sla_seconds=300, category="cash",
        scene={"id": "cash-withdrawal", "name": "Large cash withdrawal", "category": "cash",
               "business_type": "withdrawal",
               "review_points": ["ID document matches the customer", "amount and currency",
                                 "voucher signed"]},
        images={"combination": "ALL_OF", "items": [
            {"kind": "id_document", "types": ["front", "back"], "count": 1},
            {"kind": "voucher", "types": ["withdrawal_slip"], "count": 1}]},
        fired=[{"id": "cash-withdrawal-large", "reason": "cash withdrawal >= 50,000"}],
        rules_version="3f2a9c01b7e4", created_at=1_764_650_000.0 + i,
        units=("0101", "01", "HQ"))


def frames() -> dict[str, Any]:
    specs = [_spec(i) for i in range(BATCH)]
    answers: list[Any] = [Case(s).update() for s in specs]
    answers[3] = Conflict("idempotency key reused for a different request")
    entry = Case(specs[0]).queue_entry()
    return {
        f"create request, {BATCH} cases": ["create", [specs]],
        f"create answer, {BATCH} updates": [True, answers],
        "dispatcher message (enqueue + finished)": [
            "dispatch", [[("enqueue", ([entry],)), ("finished", ("seat-7", specs[1].case_id))]]],
    }


def _pickle(value: Any) -> Any:
    return pickle.loads(pickle.dumps(value, protocol=5))


def _msgpack(value: Any) -> Any:
    return codec.decode(codec.encode(value))


def _run(fn: Callable[[Any], Any], value: Any, seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while True:
        for _ in range(50):
            fn(value)
        n += 50
        now = time.perf_counter()
        if now >= start + seconds:
            return (now - start) / n


def per_call(value: Any, seconds: float, rounds: int = 10) -> tuple[float, float]:
    """Microseconds per encode+decode, pickle and msgpack, each the best of `rounds` runs;
    the two alternate, so that a neighbour's load on a shared machine falls on both."""
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for i, fn in enumerate((_pickle, _msgpack)):
            best[i] = min(best[i], _run(fn, value, seconds / rounds / 2))
    return best[0] * 1e6, best[1] * 1e6


def main(seconds: float = 2.0) -> list[str]:
    lines = [f"wire codec: encode + decode per frame, best of 10 alternating runs ({seconds:g} s a frame)",
             f"{'frame':<42} {'pickle':>12} {'msgpack':>12} {'ratio':>7} {'bytes p/m':>13}"]
    for label, value in frames().items():
        assert _msgpack(value) == value or label.startswith("create answer")
        p, m = per_call(value, seconds)
        size = f"{len(pickle.dumps(value, protocol=5))}/{len(codec.encode(value))}"
        lines.append(f"{label:<42} {p:9.1f} µs {m:9.1f} µs {m / p:6.2f}x {size:>13}")
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    print("\n".join(main(parser.parse_args().seconds)))
