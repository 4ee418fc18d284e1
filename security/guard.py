"""The checks every call passes: which channel system or which operator is calling, and
whether they may do what they ask. The edge hands over the bearer token it received; what
the caller may do is looked up here, never taken from the request."""

from __future__ import annotations

from collections.abc import Callable

from foureyes.errors import FoureyesError, InvalidRequest, ResourceExhausted, Unauthenticated
from foureyes.security.credentials import Credentials
from foureyes.security.directory import Operator
from foureyes.security.systems import System
from foureyes.security.throttle import SignInThrottle

# (event, actor, outcome, detail): a sign-in, a refusal — kept by the audit log
Audit = Callable[[str, str, str, str], None]


def _nowhere(event: str, actor: str, outcome: str, detail: str) -> None:
    """No audit log attached (a Guard on its own, in a unit test)."""


class Guard:
    def __init__(self, credentials: Credentials, audit: Audit = _nowhere,
                 throttle: SignInThrottle | None = None) -> None:
        self.credentials = credentials
        self.audit = audit
        self.throttle = throttle or SignInThrottle()
        # token -> system: a system's token checks out once, then costs a dict lookup
        self._known: dict[str, System] = {}

    def system(self, token: str, channel: str, outlet: str | None) -> System:
        system = self._known.get(token)
        if system is None:
            system = self.credentials.systems.authenticate(token)
            if len(self._known) < 1024:
                self._known[token] = system
        system.may_call(channel, outlet)
        return system

    def operator(self, token: str, *roles: str) -> Operator:
        """The operator the session names, as the directory has them now."""
        operator_id = self.credentials.sessions.operator_of(token)
        op = self.credentials.directory.active(operator_id)
        if roles:
            op.require(*roles)
        return op

    def sign_in(self, operator_id: str, password: str, id_token: str) -> tuple[str, float, Operator]:
        try:
            if id_token:
                idp = self.credentials.idp
                if idp is None:
                    raise Unauthenticated("this service accepts no identity provider tokens; "
                                          "sign in with a password")
                op = self.credentials.directory.active(idp.operator_of(id_token))
                if operator_id and operator_id != op.operator_id:
                    raise Unauthenticated("the identity token names another operator")
            elif operator_id and password:
                wait = self.throttle.retry_after(operator_id)
                if wait:
                    self.audit("sign-in", operator_id, "locked", f"{self.throttle.limit} "
                               f"failed sign-ins in {self.throttle.window:.0f} s")
                    raise ResourceExhausted(f"too many failed sign-ins for {operator_id}; "
                                            f"try again in {wait:.0f} s")
                try:
                    op = self.credentials.directory.verify_password(operator_id, password)
                except Unauthenticated:
                    self.throttle.failed(operator_id)
                    raise
                self.throttle.succeeded(operator_id)
            else:
                raise InvalidRequest("sign in with operator_id and password, or an id_token")
        except ResourceExhausted:
            raise
        except FoureyesError as e:
            self.audit("sign-in", operator_id or "?", "refused", str(e))
            raise
        token, expires = self.credentials.sessions.issue(op.operator_id)
        self.audit("sign-in", op.operator_id, "ok", "identity token" if id_token else "password")
        return token, expires, op
