"""The console's sign-in: the operator's session token (security/sessions.py) in a cookie the
page's script cannot read, and a CSRF token derived from it that every action must carry.

The cookie is HttpOnly and SameSite=Strict (Secure when the console speaks TLS); the CSRF
token is an HMAC of the session under a key made at each start, so it needs no storage and
is worthless without the cookie. Logging out forgets the session here at once; it would
expire on its own at the session's time to live."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from foureyes.errors import PermissionDenied, Unauthenticated
from foureyes.security.directory import Operator
from foureyes.security.guard import Guard

COOKIE = "foureyes_session"
CSRF_HEADER = "x-csrf-token"
MAX_TOKEN = 8192


class WebSessions:
    def __init__(self, guard: Guard, secure: bool) -> None:
        self.guard = guard
        self.secure = secure
        self._key = secrets.token_bytes(32)
        self._ended: dict[str, float] = {}  # digest of a logged-out session -> its expiry

    def sign_in(self, operator_id: str, password: str) -> tuple[str, float, Operator]:
        return self.guard.sign_in(operator_id[:64], password[:1024], "")

    def operator(self, token: str, *roles: str) -> Operator:
        """The signed-in operator, as the directory has them now; expired, logged out or
        unknown sessions are refused."""
        if not token or len(token) > MAX_TOKEN:
            raise Unauthenticated("not signed in")
        if self._digest(token) in self._ended:
            raise Unauthenticated("signed out: sign in again")
        return self.guard.operator(token, *roles)

    def csrf(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()[:32]

    def check_csrf(self, token: str, sent: str) -> None:
        if not sent or not hmac.compare_digest(self.csrf(token), sent):
            raise PermissionDenied("missing or wrong CSRF token: reload the page")

    def end(self, token: str) -> None:
        now = time.time()
        expires = now + self.guard.credentials.sessions.ttl
        self._ended = {d: t for d, t in self._ended.items() if t > now}  # forget the expired
        self._ended[self._digest(token)] = expires

    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
