"""The one error hierarchy. The gRPC edge maps each class to a status code (see
channel_adapters/errors.py); anything else becomes INTERNAL and is logged."""

from __future__ import annotations


class FoureyesError(Exception):
    """Base of every error foureyes raises on purpose."""


class InvalidRequest(FoureyesError):
    """The caller sent something malformed (INVALID_ARGUMENT)."""


class NotFound(FoureyesError):
    """The named case, seat or customer is unknown (NOT_FOUND)."""


class Conflict(FoureyesError):
    """The request contradicts the current state, e.g. a stale case version or an
    idempotency key reused for a different request (FAILED_PRECONDITION)."""


class Unauthenticated(FoureyesError):
    """No credentials, or credentials that do not check out (UNAUTHENTICATED)."""


class PermissionDenied(FoureyesError):
    """The caller may not do this, e.g. review a case it initiated (PERMISSION_DENIED)."""


class ResourceExhausted(FoureyesError):
    """The caller sent more than a limit allows, e.g. an image over its size (RESOURCE_EXHAUSTED)."""


class Unavailable(FoureyesError):
    """A part of the service is not reachable right now; retry later (UNAVAILABLE)."""


class StoreUnavailable(Unavailable):
    """A store could not be opened: its SQLite file (unreadable, not a database, on a full
    disk) or its PostgreSQL server (unreachable, refused the schema)."""


class RuleError(FoureyesError):
    """One problem in a rule file, located as `file:line: rule-id: message`."""

    def __init__(self, file: str, line: int, rule_id: str, message: str) -> None:
        self.file, self.line, self.rule_id, self.message = file, line, rule_id, message
        super().__init__(f"{file}:{line}: {rule_id or '-'}: {message}")


class RuleSetError(FoureyesError):
    """A rule set was refused; carries every problem found, not just the first."""

    def __init__(self, problems: list[RuleError]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Tampered(FoureyesError):
    """A stored record does not match the audit chain: it was changed outside foureyes
    (DATA_LOSS). The forged state is never served."""


class MissingStore(Tampered):
    """A shard's database file is not where the data directory's layout says it was made:
    a host on the wrong machine, or a lost disk (DATA_LOSS). An empty one is never made in
    its place: acknowledged cases would read as NOT_FOUND and retried keys make second cases."""


class HostDown(Unavailable):
    """A host that waiting will not bring back soon: its node is gone and it is pinned there
    (UNAVAILABLE at once, not after the deadline; retry with the same idempotency key)."""
