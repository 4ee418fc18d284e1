"""Operator sessions: a short-lived token the service signs after checking a credential.

A credential is a password from the directory or a token from the bank's identity provider
(a JWT signed by keys the bank configures). Either way the session names only the operator;
what they may do is read from the directory on every use, so a disabled operator's session
stops working at once."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from foureyes.errors import FoureyesError, Unauthenticated
from foureyes.security.files import write_private

ISSUER = "foureyes"


class IdentityProvider:
    """Verifies the bank's signed tokens: keys from a JWKS file (or one PEM public key)."""

    def __init__(self, keys_path: Path, issuer: str, audience: str,
                 operator_claim: str = "sub") -> None:
        text = keys_path.read_text()
        self.issuer, self.audience, self.operator_claim = issuer, audience, operator_claim
        self._keys: list[Any]
        try:
            if text.lstrip().startswith("{"):
                self._keys = [k.key for k in jwt.PyJWKSet.from_dict(json.loads(text)).keys]
            else:
                self._keys = [text]
        except (ValueError, jwt.PyJWTError) as e:
            raise FoureyesError(f"cannot read identity provider keys from {keys_path}: {e}") from None

    def operator_of(self, token: str) -> str:
        for key in self._keys:
            try:
                claims = jwt.decode(token, key, algorithms=["RS256", "ES256", "PS256", "EdDSA"],
                                    issuer=self.issuer, audience=self.audience,
                                    options={"require": ["exp", "iss", "aud"]})
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as e:
                raise Unauthenticated(f"identity token refused: {e}") from None
            operator = claims.get(self.operator_claim)
            if not isinstance(operator, str) or not operator:
                raise Unauthenticated(f"identity token has no {self.operator_claim!r} claim")
            return operator
        raise Unauthenticated("identity token refused: no configured key verifies it")


class Sessions:
    def __init__(self, key: bytes, ttl_seconds: float) -> None:
        if len(key) < 32:
            raise FoureyesError("the session key must be at least 32 bytes")
        self._key = key
        self.ttl = ttl_seconds

    def issue(self, operator_id: str) -> tuple[str, float]:
        now = time.time()
        expires = now + self.ttl
        token = jwt.encode({"sub": operator_id, "iss": ISSUER, "iat": int(now), "exp": int(expires),
                            "jti": uuid.uuid4().hex}, self._key, algorithm="HS256")
        return token, expires

    def operator_of(self, token: str) -> str:
        if not token:
            raise Unauthenticated("no credentials: sign in (AuthService.SignIn) and send "
                                  "`authorization: Bearer <session token>`")
        try:
            claims = jwt.decode(token, self._key, algorithms=["HS256"], issuer=ISSUER,
                                options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("session expired: sign in again") from None
        except jwt.PyJWTError:
            raise Unauthenticated("not a session token of this service") from None
        return str(claims["sub"])


def load_or_create_key(path: Path) -> bytes:
    if not path.exists():
        write_private(path, secrets.token_bytes(32))
    return path.read_bytes()
