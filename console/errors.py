"""The one place where errors become HTTP statuses on the console (as channel_adapters/errors.py
maps them to gRPC codes); a seat's WebSocket gets the same code names as a gRPC seat."""

from __future__ import annotations

import logging

from foureyes import errors

log = logging.getLogger(__name__)

CODES: list[tuple[type[errors.FoureyesError], int, str]] = [
    (errors.InvalidRequest, 400, "INVALID_ARGUMENT"),
    (errors.RuleSetError, 400, "INVALID_ARGUMENT"),
    (errors.NotFound, 404, "NOT_FOUND"),
    (errors.Conflict, 409, "FAILED_PRECONDITION"),
    (errors.PermissionDenied, 403, "PERMISSION_DENIED"),
    (errors.Unauthenticated, 401, "UNAUTHENTICATED"),
    (errors.Unavailable, 503, "UNAVAILABLE"),
    (errors.ResourceExhausted, 429, "RESOURCE_EXHAUSTED"),
]


def status_of(error: BaseException) -> tuple[int, str, str]:
    """(HTTP status, code name, message)."""
    for cls, status, code in CODES:
        if isinstance(error, cls):
            return status, code, str(error)
    log.exception("internal error", exc_info=error)
    return 500, "INTERNAL", "internal error (logged by the server)"
