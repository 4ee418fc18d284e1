"""What the audit chain and the encryption of personal fields cost, in the same process: a
case's five journal writes (created, offered, review-started, approved-partly, approved) and
one fast-path decision, each prepared the way the stores write them — personal fields sealed
(AES-256-GCM), the covered rows digested and chained (SHA-256 + HMAC) — against the same rows
prepared in clear, as the stores did before. The commit itself (one fsync per group, shared by
many cases) is the same either way: the chain rows join the group's transaction.

`python -m foureyes.benchmarks.at_rest [--cases N]`; also part of `bash run.sh bench`.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from foureyes.actors.case import Case, CaseSpec, Verdict
from foureyes.store.case_seal import CaseSeal
from foureyes.store.cases import CaseStore
from foureyes.store.chain import Chain, Cover, digest
from foureyes.store.sealing import AtRest

FACTS = {"channel": "teller", "transaction.code": "CASH_WITHDRAWAL", "transaction.amount": 80000.0,
         "transaction.currency": "CNY", "transaction.account": "************0123",
         "customer.id": "110101199003071234", "operator.id": "teller-1", "outlet.id": "0101",
         "terminal.id": "T1", "customer.age": 40, "history.cash_today": 80000.0}


def _spec(i: int) -> CaseSpec:
    return CaseSpec(
        case_id=f"C{i}", fingerprint="f" * 16, channel="teller", initiator="teller-1",
        outlet="0101", customer_id="110101199003071234", transaction_code="CASH_WITHDRAWAL",
        amount="80000", currency="CNY", account_masked="***************0123", mode="remote",
        level=2, approvers=2, priority=0, sla_seconds=300, category="cash",
        scene={"id": "cash-withdrawal", "name": "Cash withdrawal", "category": "cash",
               "business_type": "cash", "review_points": ["ID matches", "amount", "voucher"]},
        images=None, fired=[{"id": "cash-withdrawal-large", "reason": "amount ≥ 50000"}],
        rules_version="abcdef123456", created_at=time.time())


def _lifecycle(i: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    case = Case(_spec(i))
    out = []
    for step in (case.create, lambda: case.offer("s1"), lambda: case.begin_review("s1", "a1"),
                 lambda: case.decide("s1", case.version, Verdict.APPROVE)):
        event = step()
        out.append((case.to_row(), event))
    case.offer("s2")
    case.begin_review("s2", "a2")
    event = case.decide("s2", case.version, Verdict.APPROVE, reason_text="ok, ID checked")
    out.append((case.to_row(), event))
    return out


def per_case(cases: int, protected: bool) -> float:
    seal = CaseSeal.of("bench", AtRest.development())
    changes = [_lifecycle(i) for i in range(cases)]
    started = time.perf_counter()
    for lifecycle in changes:
        if protected:
            sealed = [seal.sealed(row, event) for row, event in lifecycle]
            _, head = seal.chain.entries([seal.cover(r, e) for r, e in sealed])
            seal.chain.advance(head)
            CaseStore.statements(sealed)
        else:
            CaseStore.statements(lifecycle)
    return (time.perf_counter() - started) / cases


def per_decision(n: int, protected: bool) -> float:
    keys = AtRest.development()
    chain = Chain("bench", keys.chain_key)
    started = time.perf_counter()
    for i in range(n):
        if protected:
            facts = {k: keys.sealer.seal(v) if isinstance(v, str) and k not in
                     ("channel", "transaction.code", "outlet.id") else v for k, v in FACTS.items()}
            row = (time.time(), "teller", keys.sealer.seal(f"k{i}"), "none", "", "", "v1",
                   "[]", json.dumps(facts, ensure_ascii=False))
            _, head = chain.entries([Cover("decision", (digest(*row),))])
            chain.advance(head)
        else:
            row = (time.time(), "teller", f"k{i}", "none", "", "", "v1", "[]",
                   json.dumps(FACTS, ensure_ascii=False))
    return (time.perf_counter() - started) / n


def table(cases: int = 2000) -> str:
    lines = [f"{'chain + encryption, CPU per unit':<44}{'clear':>10}{'protected':>12}{'added':>10}"]
    for name, fn, n in (("a case (5 journal writes)", per_case, cases),
                        ("a fast-path decision (decision log row)", per_decision, cases * 5)):
        clear, protected = fn(n, False), fn(n, True)
        lines.append(f"{name:<44}{clear * 1e6:>8.1f}µs{protected * 1e6:>10.1f}µs"
                     f"{(protected - clear) * 1e6:>8.1f}µs")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=2000)
    print(table(parser.parse_args().cases))
