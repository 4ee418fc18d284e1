"""Channel systems (teller, self-service, mobile back ends) and what each may call.

Each system authenticates with its own bearer token; the file holds only the token's SHA-256,
so reading it does not let anyone call as the system. A system maps to the channel types it
may call and, if listed, the outlets it may speak for."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from foureyes.errors import FoureyesError, PermissionDenied, Unauthenticated
from foureyes.security.files import write_private

CHANNELS = ("teller", "self_service", "mobile")


@dataclass(frozen=True)
class System:
    name: str
    channels: frozenset[str]
    outlets: frozenset[str] = frozenset()  # empty: any outlet

    def may_call(self, channel: str, outlet: str | None) -> None:
        """`outlet` None: a call about a case, whose outlet its creation was checked for."""
        if channel not in self.channels:
            raise PermissionDenied(f"system {self.name!r} may not call the {channel} channel")
        if outlet is not None and self.outlets and outlet not in self.outlets:
            raise PermissionDenied(f"system {self.name!r} may not speak for outlet {outlet!r}")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Systems:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            doc = json.loads(path.read_text())
            self._by_digest = {
                entry["token_sha256"]: System(entry["name"], frozenset(entry["channels"]),
                                              frozenset(entry.get("outlets", ())))
                for entry in doc["systems"]}
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise FoureyesError(f"cannot read channel systems from {path}: {e}") from None
        for system in self._by_digest.values():
            unknown = system.channels - set(CHANNELS)
            if unknown:
                raise FoureyesError(f"{path}: system {system.name!r} names unknown channels "
                                    f"{sorted(unknown)}; channels are {', '.join(CHANNELS)}")

    def authenticate(self, token: str) -> System:
        if not token:
            raise Unauthenticated("no credentials: send `authorization: Bearer <system token>`")
        digest = _digest(token)
        for known, system in self._by_digest.items():
            if hmac.compare_digest(known, digest):
                return system
        raise Unauthenticated("unknown system token")

    @staticmethod
    def create(path: Path, systems: list[System]) -> dict[str, str]:
        """Write a systems file with a fresh token for each; returns {name: token}, the only
        time the tokens exist in clear."""
        tokens = {s.name: "fes_" + secrets.token_urlsafe(32) for s in systems}
        doc = {"systems": [{"name": s.name, "channels": sorted(s.channels),
                            "outlets": sorted(s.outlets), "token_sha256": _digest(tokens[s.name])}
                           for s in systems]}
        write_private(path, json.dumps(doc, indent=2).encode())
        return tokens
