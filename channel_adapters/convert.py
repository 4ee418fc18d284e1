"""Protobuf <-> domain conversion, shared by every adapter. Protobuf stops here."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from foureyes.errors import InvalidRequest
from foureyes.gateway.gateway import Answer, ChannelRequest
from foureyes.protos import foureyes_pb2 as pb
from foureyes.rules.model import Decision, ImageNode, Outcome

# The grammar the .proto documents for Transaction.amount: no sign, exponent, spaces or
# separators, which Decimal() would take ("1e9", " 5", "1_000") and a rule would then compare.
AMOUNT = re.compile(r"[0-9]{1,18}(\.[0-9]{1,4})?")
CURRENCY = re.compile(r"[A-Z]{3}")
# ISO 4217 minor units where they are not 2; an amount may not carry more decimals
DECIMALS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3,
            "JOD": 3, "TND": 3, "LYD": 3, "IQD": 3, "CLF": 4}
MAX_KEY_LENGTH = 200
MAX_TEXT = 64  # codes, ids, statuses: every text field not listed below
MAX_EXTRA = 64  # entries in Transaction.extra
MAX_EXTRA_VALUE = 256
MAX_TRIGGER_CODES = 32
_LIMITS = {"device.location": 128}
_COMBINATION = {"all_of": pb.ImageRequirement.ALL_OF, "any_of": pb.ImageRequirement.ANY_OF}


def mask(account: str) -> str:
    """Logs and seats see only the last four digits."""
    return "" if not account else "*" * max(len(account) - 4, 0) + account[-4:]


def channel_request(channel: str, initiator: str, outlet: str, context: dict[str, str],
                    tx: pb.Transaction, raw: Any, system: str = "") -> ChannelRequest:
    """Turn a channel's request into facts; `context` holds the front end's own fields and
    `system` names the authenticated channel system that sent it."""
    if not tx.code:
        raise InvalidRequest("transaction.code is required")
    _check_lengths(tx, context)
    if not tx.idempotency_key:
        raise InvalidRequest("transaction.idempotency_key is required")
    if len(tx.idempotency_key) > MAX_KEY_LENGTH:
        raise InvalidRequest(f"transaction.idempotency_key is longer than {MAX_KEY_LENGTH} characters")
    facts: dict[str, Any] = {"channel": channel, "transaction.code": tx.code}
    if tx.amount:
        if AMOUNT.fullmatch(tx.amount) is None:
            raise InvalidRequest(
                f"transaction.amount {tx.amount[:40]!r} is not a decimal amount: digits, "
                "optionally a point and up to four decimals, e.g. \"80000.00\" (at most 18 digits "
                "before the point)")
        places = len(tx.amount.partition(".")[2])
        allowed = DECIMALS.get(tx.currency, 2)
        if places > allowed:
            raise InvalidRequest(f"transaction.amount {tx.amount!r} has {places} decimals; "
                                 f"{tx.currency or 'the default currency'} has {allowed}")
        facts["transaction.amount"] = float(tx.amount)
    for name, value in (("transaction.currency", tx.currency), ("transaction.account", tx.account),
                        ("transaction.account_status", tx.account_status),
                        ("customer.id", tx.customer_id), ("customer.segment", tx.customer.segment),
                        *context.items()):
        if value:
            facts[name] = value
    for name, number in (("customer.age", tx.customer.age),
                         ("customer.risk_level", tx.customer.risk_level),
                         ("transaction.product_risk_level", tx.product_risk_level)):
        if number:
            facts[name] = number
    facts["trigger_codes"] = list(tx.trigger_codes)
    for key, value in tx.extra.items():
        facts[f"extra.{key}"] = value
    return ChannelRequest(
        channel=channel, initiator=initiator, outlet=outlet,
        idempotency_key=tx.idempotency_key,
        fingerprint=hashlib.blake2b(raw.SerializeToString(deterministic=True),
                                    digest_size=16).hexdigest(),
        facts=facts, customer_id=tx.customer_id, transaction_code=tx.code, amount=tx.amount,
        currency=tx.currency, account_masked=mask(tx.account), system=system)


def _check_lengths(tx: pb.Transaction, context: dict[str, str]) -> None:
    """Every text within its documented bound: nothing unbounded reaches the rules, the
    stores or a seat's screen."""
    texts = {"transaction.code": tx.code, "transaction.account": tx.account,
             "transaction.account_status": tx.account_status, "transaction.customer_id": tx.customer_id,
             "customer.segment": tx.customer.segment, **context}
    for name, value in texts.items():
        limit = _LIMITS.get(name, MAX_TEXT)
        if len(value) > limit:
            raise InvalidRequest(f"{name} is longer than {limit} characters")
    if tx.currency and CURRENCY.fullmatch(tx.currency) is None:
        raise InvalidRequest(f"transaction.currency {tx.currency[:10]!r} is not an ISO 4217 code "
                             "(three capital letters)")
    if len(tx.trigger_codes) > MAX_TRIGGER_CODES or any(len(c) > MAX_TEXT for c in tx.trigger_codes):
        raise InvalidRequest(f"transaction.trigger_codes: at most {MAX_TRIGGER_CODES} codes of at "
                             f"most {MAX_TEXT} characters")
    if len(tx.extra) > MAX_EXTRA:
        raise InvalidRequest(f"transaction.extra has {len(tx.extra)} entries; at most {MAX_EXTRA}")
    for key, value in tx.extra.items():
        if not key or len(key) > MAX_TEXT or len(value) > MAX_EXTRA_VALUE:
            raise InvalidRequest(f"transaction.extra[{key[:20]!r}]: keys 1 to {MAX_TEXT} "
                                 f"characters, values at most {MAX_EXTRA_VALUE}")
    for name, number, top in (("customer.age", tx.customer.age, 150),
                              ("customer.risk_level", tx.customer.risk_level, 5),
                              ("transaction.product_risk_level", tx.product_risk_level, 5)):
        if not 0 <= number <= top:
            raise InvalidRequest(f"{name} must be from 0 to {top}")


def images_to_proto(node: ImageNode | dict[str, Any] | None) -> pb.ImageRequirement | None:
    if node is None:
        return None
    d = node.to_dict() if isinstance(node, ImageNode) else node
    if "kind" in d:
        return pb.ImageRequirement(kind=d["kind"], type=d.get("type", ""))
    if "at_least" in d:
        return pb.ImageRequirement(combination=pb.ImageRequirement.AT_LEAST, at_least=d["at_least"],
                                   of=[_child(c) for c in d["of"]])
    (key, children), = d.items()
    return pb.ImageRequirement(combination=_COMBINATION[key],
                               of=[_child(c) for c in children])


def _child(node: dict[str, Any]) -> pb.ImageRequirement:
    out = images_to_proto(node)
    assert out is not None
    return out


def decision_to_proto(answer: Answer) -> pb.Decision:
    d: Decision = answer.decision
    out = pb.Decision(rules_version=d.rules_version,
                      fired=[pb.FiredRule(id=f.id, reason=f.reason) for f in d.fired])
    if d.outcome is Outcome.NONE:
        out.outcome = pb.NOT_REQUIRED
        return out
    if d.outcome is Outcome.REJECT:
        out.outcome = pb.REFUSED
        return out
    out.outcome = pb.REQUIRED
    out.case_id = answer.case_id
    out.mode = pb.ONSITE if d.outcome is Outcome.ONSITE else pb.REMOTE
    out.authority_level, out.approvers, out.sla_seconds = d.level, d.approvers, d.sla_seconds
    if d.scene is not None:
        out.scene.CopyFrom(pb.Scene(id=d.scene.id, name=d.scene.name, category=d.scene.category,
                                    business_type=d.scene.business_type,
                                    review_points=list(d.review_points)))
    images = images_to_proto(d.images)
    if images is not None:
        out.images.CopyFrom(images)
    return out


_STATES = {"CREATED": pb.CREATED, "QUEUED": pb.QUEUED, "OFFERED": pb.OFFERED,
           "IN_REVIEW": pb.IN_REVIEW, "APPROVED": pb.APPROVED,
           "REJECTED": pb.REJECTED, "RETURNED": pb.RETURNED,
           "CANCELLED": pb.CANCELLED, "EXPIRED": pb.EXPIRED,
           "AWAITING_EVIDENCE": pb.AWAITING_EVIDENCE}


def update_to_proto(u: dict[str, Any]) -> pb.CaseUpdate:
    return pb.CaseUpdate(case_id=u["case_id"], state=_STATES[u["state"]], version=u["version"],
                         seat_id=u["seat_id"], reason_code=u["reason_code"],
                         reason_text=u["reason_text"], missing=u["missing"],
                         approvals=u["approvals"], approvers=u["approvers"], final=u["final"])


def details_to_proto(d: dict[str, Any]) -> pb.CaseDetails:
    scene = d["scene"]
    out = pb.CaseDetails(
        case_id=d["case_id"], version=d["version"], channel=d["channel"],
        initiator=d["initiator"],
        scene=pb.Scene(id=scene["id"], name=scene["name"], category=scene["category"],
                       business_type=scene["business_type"], review_points=scene["review_points"]),
        fired=[pb.FiredRule(id=f["id"], reason=f["reason"]) for f in d["fired"]],
        authority_level=d["authority_level"], approvers=d["approvers"], approvals=d["approvals"],
        mode=pb.ONSITE if d["mode"] == "onsite" else pb.REMOTE,
        transaction_code=d["transaction_code"], amount=d["amount"], currency=d["currency"],
        account_masked=d["account_masked"], customer_id=d["customer_id"],
        rules_version=d["rules_version"], approved_by=d.get("approved_by", []),
        supplemented=d.get("supplemented", []),
        evidence=[case_image_to_proto(i) for i in d.get("evidence", [])],
        evidence_checks=[pb.ImageCheck(**c) for c in d.get("evidence_checks", [])])
    images = images_to_proto(d["images"])
    if images is not None:
        out.images.CopyFrom(images)
    return out


def feed_event_to_proto(e: dict[str, Any]) -> pb.FeedEvent:
    return pb.FeedEvent(
        shard=e["shard"], seq=e["seq"], kind=e["kind"], state=_STATES[e["state"]],
        version=e["version"], at=e["at"], data_json=json.dumps(e["data"], ensure_ascii=False),
        case_id=e["case_id"], channel=e["channel"], outlet=e["outlet"],
        transaction_code=e["transaction_code"], amount=e["amount"], currency=e["currency"],
        account_masked=e["account_masked"], customer_id=e["customer_id"], scene=e["scene"],
        rules_version=e["rules_version"])


def feed_event_from_proto(p: pb.FeedEvent) -> dict[str, Any]:
    """As the ZeroMQ feed carries it (one JSON object), for `foureyes events`."""
    return {"shard": p.shard, "seq": p.seq, "kind": p.kind, "state": pb.CaseState.Name(p.state),
            "version": p.version, "at": p.at, "data": json.loads(p.data_json or "{}"),
            "case_id": p.case_id, "channel": p.channel, "outlet": p.outlet,
            "transaction_code": p.transaction_code, "amount": p.amount, "currency": p.currency,
            "account_masked": p.account_masked, "customer_id": p.customer_id, "scene": p.scene,
            "rules_version": p.rules_version}
def case_image_to_proto(i: dict[str, Any]) -> pb.CaseImage:
    """An image as a case keeps it (StoredImage.item()); `thumbnail` is its bytes once the
    gateway has put them in (Evidence.with_thumbnails), else a flag."""
    thumbnail = i.get("thumbnail")
    return pb.CaseImage(
        image_id=i["image_id"], kind=i["kind"], type=i["type"], size=i["size"],
        content_type=i["content_type"], sha256=i["sha256"],
        thumbnail=thumbnail if isinstance(thumbnail, bytes) else b"",
        uploaded_at=i["uploaded_at"], uploaded_by=i["uploaded_by"],
        captured_by=i["captured_by"], captured_at=i["captured_at"], round=i["round"],
        checks=[pb.ImageCheck(**c) for c in i.get("checks", [])])
