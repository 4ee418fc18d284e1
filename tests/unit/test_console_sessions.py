"""The console's sign-in on its own: cookie sessions expire and end at logout, the CSRF token
belongs to one session, and a seat's actions are checked before they reach the gateway."""

import asyncio
import contextlib
import time

import pytest
from foureyes.console.web_sessions import WebSessions
from foureyes.errors import InvalidRequest, PermissionDenied, Unauthenticated
from foureyes.gateway import seat_actions
from foureyes.security import credentials
from foureyes.security.directory import Operator
from foureyes.security.guard import Guard


def _web(tmp_path, ttl: float = 60.0) -> WebSessions:
    creds = credentials.load(tmp_path, credentials.CredentialFiles(session_ttl=ttl))
    creds.directory.add(Operator("web-1", level=2, skills=("cash",),
                                 roles=frozenset({"authorizer"})), "pw-web-1")
    return WebSessions(Guard(creds), secure=False)


def test_a_console_session_names_its_operator_until_logout(tmp_path):
    web = _web(tmp_path)
    token, expires, op = web.sign_in("web-1", "pw-web-1")
    assert op.operator_id == "web-1" and expires > time.time()
    assert web.operator(token, "authorizer").operator_id == "web-1"
    with pytest.raises(PermissionDenied):
        web.operator(token, "supervisor")
    web.end(token)
    with pytest.raises(Unauthenticated, match="signed out"):
        web.operator(token)
    with pytest.raises(Unauthenticated):
        web.sign_in("web-1", "wrong")


def test_a_console_session_expires(tmp_path):
    web = _web(tmp_path, ttl=1.0)
    token, _, _ = web.sign_in("web-1", "pw-web-1")
    time.sleep(2.1)  # JWT expiry has whole-second resolution
    with pytest.raises(Unauthenticated, match="expired"):
        web.operator(token)


def test_the_csrf_token_belongs_to_one_session(tmp_path):
    web = _web(tmp_path)
    first, _, _ = web.sign_in("web-1", "pw-web-1")
    second, _, _ = web.sign_in("web-1", "pw-web-1")
    web.check_csrf(first, web.csrf(first))
    for sent in ("", web.csrf(second), "0" * 32):
        with pytest.raises(PermissionDenied, match="CSRF"):
            web.check_csrf(first, sent)


class _NoGateway:
    """Refused actions never reach the gateway: any call but the stop's count of actions
    under way is a failure of the test."""

    @contextlib.contextmanager
    def seat_action(self):
        yield

    def __getattr__(self, name):
        raise AssertionError(f"the gateway was called ({name}) for a refused action")


@pytest.mark.parametrize(("action", "fields", "message"), [
    ("decide", {"case_id": "C1", "version": 3, "verdict": "MAYBE"}, "verdict"),
    ("decide", {"case_id": "C1", "version": "3", "verdict": "APPROVE"}, "version"),
    ("decide", {"case_id": "C1", "version": True, "verdict": "APPROVE"}, "version"),
    ("decide", {"case_id": "C1", "version": 3, "verdict": "REJECT", "reason_text": "x" * 1001},
     "reason_text"),
    ("decide", {"case_id": "C1", "version": 3, "verdict": "RETURN", "missing": [""]}, "missing"),
    ("accept", {"case_id": ["C1"]}, "case_id"),
    ("accept", {}, "case_id"),
    ("presence", {"presence": "busy"}, "AVAILABLE or AWAY"),
    ("reassign", {"case_id": "C1"}, "seat_id"),
    ("fly", {}, "unexpected message fly"),
])
def test_a_seat_action_with_bad_fields_is_refused_before_the_gateway(action, fields, message):
    with pytest.raises(InvalidRequest, match=message):
        asyncio.run(seat_actions.act(_NoGateway(), "seat-1", action, fields))


def test_a_locked_sign_in_is_http_429_on_the_console(tmp_path):
    from foureyes.console.errors import status_of
    from foureyes.errors import ResourceExhausted

    web = _web(tmp_path)
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            web.sign_in("web-1", "wrong")
    with pytest.raises(ResourceExhausted) as locked:
        web.sign_in("web-1", "pw-web-1")
    assert status_of(locked.value)[:2] == (429, "RESOURCE_EXHAUSTED")
