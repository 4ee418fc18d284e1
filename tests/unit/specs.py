"""A realistic case spec for wire tests (kept apart: test modules may be imported twice)."""

from foureyes.actors.case import CaseSpec


def spec(case_id="C1", **kw):
    values = dict(
        case_id=case_id, fingerprint="f" * 16, channel="teller", initiator="teller-1",
        outlet="0101", customer_id="cust-1", transaction_code="CASH_WITHDRAWAL", amount="80000.00",
        currency="CNY", account_masked="************2222", mode="remote", level=1, approvers=2,
        priority=10, sla_seconds=300, category="cash",
        scene={"id": "cash-withdrawal", "name": "Cash", "review_points": ["ID", "amount"]},
        images={"combination": "ALL_OF", "items": [{"kind": "id_document", "count": 1}]},
        fired=[{"id": "cash-withdrawal-large", "reason": ">= 50,000"}], rules_version="abc123",
        created_at=1_764_000_000.25, units=("0101", "01", "HQ"))
    values.update(kw)
    return CaseSpec(**values)
