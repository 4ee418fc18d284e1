"""What a seat may do, for every edge that serves seats (the gRPC stream, the web console).

An edge turns its message into an action name and plain fields; this module checks them and
drives the gateway, and the answer is the event the seat is sent. Both edges go through here,
so a seat on the console and a seat on gRPC obey the same rules.
"""

from __future__ import annotations

from typing import Any

from foureyes.actors.case import Verdict
from foureyes.errors import InvalidRequest
from foureyes.gateway.gateway import Gateway, SeatLogin

MAX_ID = 64
MAX_REASON_TEXT = 1000
MAX_MISSING = 50
PRESENCES = ("available", "away")
ACTIONS = ("accept", "decline", "presence", "decide", "reassign", "take_back", "view_board")


def claimed_login(seat_id: str, operator_id: str = "", level: int = 0,
                  skills: tuple[str, ...] | list[str] = (), capacity: int = 0, outlet: str = "",
                  scope: tuple[str, ...] | list[str] = (), supervisor: bool = False) -> SeatLogin:
    """What a seat claims at login, cut to the bounds every edge applies; the gateway then
    checks it against the operator directory (SeatLogin.granted_by)."""
    return SeatLogin(seat_id[:MAX_ID], operator_id[:MAX_ID], level,
                     tuple(s[:MAX_ID] for s in skills[:50]), capacity or 1, outlet[:MAX_ID],
                     tuple(u[:MAX_ID] for u in scope[:50]), supervisor)


def _text(fields: dict[str, Any], key: str, limit: int = MAX_ID, required: bool = True) -> str:
    value = fields.get(key, "")
    if not isinstance(value, str) or len(value) > limit or (required and not value):
        raise InvalidRequest(f"{key} must be text of 1 to {limit} characters" if required else
                             f"{key} must be text of at most {limit} characters")
    return value


async def act(gateway: Gateway, seat_id: str, action: str, fields: dict[str, Any]
              ) -> dict[str, Any]:
    """Carry out one action of seat `seat_id`; returns the event that answers it. Whichever
    edge the seat is on, a stop waits for the answer (Gateway.seat_action); the edge tells the
    gateway when it has delivered it, as every push (Gateway.seat_told)."""
    with gateway.seat_action():
        return await _act(gateway, seat_id, action, fields)


async def _act(gateway: Gateway, seat_id: str, action: str, fields: dict[str, Any]
               ) -> dict[str, Any]:
    if action == "view_board":
        return {"type": "board", "board": await gateway.board(seat_id)}
    if action == "presence":
        presence = fields.get("presence")
        if presence not in PRESENCES:
            raise InvalidRequest("presence must be AVAILABLE or AWAY")
        away = presence == "away"
        await gateway.set_presence(seat_id, away)
        return {"type": "presence", "away": away}
    if action == "decide":
        return {"type": "decided", "update": await _decide(gateway, seat_id, fields)}
    if action not in ACTIONS:
        raise InvalidRequest(f"unexpected message {action or 'with no body'} on a seat stream")
    case_id = _text(fields, "case_id")  # every other action names a case
    if action == "reassign":
        to_seat = _text(fields, "seat_id")
        return {"type": "moved", "moved": await gateway.reassign(seat_id, case_id, to_seat)}
    if action == "take_back":
        return {"type": "moved", "moved": await gateway.take_back(seat_id, case_id)}
    if action == "accept":
        return {"type": "assigned", "case": await gateway.accept(seat_id, case_id)}
    await gateway.decline(seat_id, case_id)
    return {"type": "revoked", "case_id": case_id, "reason": "declined"}


async def _decide(gateway: Gateway, seat_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    try:
        verdict = Verdict(str(fields.get("verdict", "")))
    except ValueError:
        raise InvalidRequest("decide needs a verdict: APPROVE, REJECT or RETURN") from None
    version = fields.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise InvalidRequest("decide needs the case version the decision was made on")
    missing = fields.get("missing", [])
    if not isinstance(missing, list) or len(missing) > MAX_MISSING or not all(
            isinstance(m, str) and 0 < len(m) <= MAX_ID for m in missing):
        raise InvalidRequest(f"missing: at most {MAX_MISSING} names of 1 to {MAX_ID} characters")
    case_id = _text(fields, "case_id")
    code = _text(fields, "reason_code", required=False)
    text = _text(fields, "reason_text", MAX_REASON_TEXT, required=False)
    return await gateway.decide(seat_id, case_id, version, verdict, code, text, missing)
