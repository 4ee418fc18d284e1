"""The operator directory: who each operator is and what the bank lets them do.

Level, skills, scope, outlet and roles come from here, never from what a client claims. The
directory is a JSON file the bank keeps (or `foureyes operators …` manages); passwords are
stored as argon2 hashes. The service re-reads the file when it changes, so disabling an
operator takes effect within a heartbeat."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from foureyes.errors import FoureyesError, InvalidRequest, NotFound, PermissionDenied, Unauthenticated
from foureyes.security.files import write_private


def new_password() -> str:
    """A first password for an operator, shown once to whoever hands it over."""
    return secrets.token_urlsafe(12)


ROLES = ("authorizer", "supervisor", "rule_author", "rule_approver", "auditor", "operator_admin")
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Operator:
    operator_id: str
    name: str = ""
    level: int = 0  # authority level, 1..9; 0: none
    skills: tuple[str, ...] = ()  # scene categories
    scope: tuple[str, ...] = ()  # organisation units whose cases they serve; empty: all
    outlet: str = ""  # where they sit
    roles: frozenset[str] = frozenset()
    disabled: bool = False
    password_hash: str = field(default="", repr=False)

    def require(self, *roles: str) -> None:
        """At least one of `roles`."""
        if not self.roles.intersection(roles):
            raise PermissionDenied(f"operator {self.operator_id} needs the role "
                                   f"{' or '.join(roles)}")

    def validate(self) -> None:
        if not self.operator_id or len(self.operator_id) > 64:
            raise InvalidRequest("an operator id is 1 to 64 characters")
        if not 0 <= self.level <= 9:
            raise InvalidRequest("an authority level is 0 to 9")
        unknown = self.roles - set(ROLES)
        if unknown:
            raise InvalidRequest(f"unknown roles {sorted(unknown)}; roles are {', '.join(ROLES)}")


def _from_doc(d: dict[str, Any]) -> Operator:
    return Operator(d["operator_id"], d.get("name", ""), int(d.get("level", 0)),
                    tuple(d.get("skills", ())), tuple(d.get("scope", ())), d.get("outlet", ""),
                    frozenset(d.get("roles", ())), bool(d.get("disabled", False)),
                    d.get("password_hash", ""))


def _to_doc(op: Operator) -> dict[str, Any]:
    doc = asdict(op)
    doc["roles"] = sorted(op.roles)
    return doc


class OperatorDirectory:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._operators: dict[str, Operator] = {}
        self._stamp: tuple[int, int] | None = None
        self.refresh()

    def refresh(self) -> bool:
        """Read the file again if it changed; True if it did."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise FoureyesError(f"no operator directory at {self.path}") from None
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return False
        try:
            doc = json.loads(self.path.read_text())
            operators = {d["operator_id"]: _from_doc(d) for d in doc["operators"]}
        except (OSError, ValueError, KeyError, TypeError) as e:
            if self._stamp is None:
                raise FoureyesError(f"cannot read the operator directory {self.path}: {e}") from None
            return False  # a half-written edit by hand: keep what was read last
        self._operators, self._stamp = operators, stamp
        return True

    def get(self, operator_id: str) -> Operator:
        op = self._operators.get(operator_id)
        if op is None:
            raise NotFound(f"no operator {operator_id!r} in the directory")
        return op

    def active(self, operator_id: str) -> Operator:
        """The operator, if they may act at all now."""
        op = self._operators.get(operator_id)
        if op is None or op.disabled:
            raise Unauthenticated(f"operator {operator_id!r} is unknown or disabled")
        return op

    def verify_password(self, operator_id: str, password: str) -> Operator:
        op = self._operators.get(operator_id)
        if op is None or op.disabled or not op.password_hash or not password:
            _hasher.hash("x" * 8)  # about as slow as a check: unknown ids are not told apart
            raise Unauthenticated("wrong operator id or password")
        try:
            _hasher.verify(op.password_hash, password)
        except (VerificationError, InvalidHashError):
            raise Unauthenticated("wrong operator id or password") from None
        return op

    def all(self) -> list[Operator]:
        return sorted(self._operators.values(), key=lambda o: o.operator_id)

    # ------------------------------------------------------------------ changes

    def add(self, op: Operator, password: str = "") -> Operator:
        op.validate()
        if op.operator_id in self._operators:
            raise InvalidRequest(f"operator {op.operator_id!r} exists already")
        if password:
            op = replace(op, password_hash=_hasher.hash(password))
        self._operators[op.operator_id] = op
        self._save()
        return op

    def update(self, operator_id: str, **changes: Any) -> Operator:
        password = changes.pop("password", None)
        op = replace(self.get(operator_id), **changes)
        if password is not None:
            op = replace(op, password_hash=_hasher.hash(password))
        op.validate()
        self._operators[operator_id] = op
        self._save()
        return op

    def _save(self) -> None:
        doc = {"operators": [_to_doc(o) for o in self.all()]}
        write_private(self.path, json.dumps(doc, indent=2, ensure_ascii=False).encode())
        st = os.stat(self.path)
        self._stamp = (st.st_mtime_ns, st.st_size)

    @classmethod
    def create(cls, path: Path, operators: list[tuple[Operator, str]]) -> OperatorDirectory:
        write_private(path, b'{"operators": []}')
        directory = cls(path)
        for op, password in operators:
            directory.add(op, password)
        return directory
