"""Personal fields encrypted at rest: AES-256-GCM, the key id kept with each ciphertext.

A sealed value is text, so it sits in the JSON documents where the clear value sat (and
`json_extract` still reads the fields beside it): `enc:<key id>:<base64 of nonce+ciphertext>`.
The case id is the associated data where there is one, so a sealed value moved to another
case does not open. Lookups by customer use a blind index: HMAC-SHA256 of the id under its
own key, the same for the same id, useless without the key.

The keys come from the keys directory, outside the data directory (security/keys.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from foureyes.errors import FoureyesError
from foureyes.security import keys

PREFIX = "enc:"
REFRESH_SECONDS = 2.0


class SealError(FoureyesError):
    """A sealed value does not open: unknown key id, or changed ciphertext."""


class Sealer:
    def __init__(self, data_keys: Mapping[int, bytes], index_key: bytes,
                 refresh: Callable[[], Mapping[int, bytes]] | None = None) -> None:
        """`refresh`: reads the data keys again (a rotation adds one), at most every
        REFRESH_SECONDS, so a running host starts using a new key without a restart."""
        self._index_key = index_key
        self._refresh = refresh
        self._checked = time.monotonic()
        self._install(data_keys)

    def _install(self, data_keys: Mapping[int, bytes]) -> None:
        self._ciphers = {kid: AESGCM(key) for kid, key in data_keys.items()}
        self.current = max(self._ciphers)

    def _maybe_refresh(self) -> None:
        if self._refresh is not None and time.monotonic() - self._checked > REFRESH_SECONDS:
            self._checked = time.monotonic()
            self._install(self._refresh())

    def seal(self, text: str, context: str = "") -> str:
        if not text:
            return text
        self._maybe_refresh()
        nonce = os.urandom(12)
        ct = self._ciphers[self.current].encrypt(nonce, text.encode(), context.encode())
        return f"{PREFIX}{self.current}:{base64.b64encode(nonce + ct).decode()}"

    def open(self, value: str, context: str = "") -> str:
        if not isinstance(value, str) or not value.startswith(PREFIX):
            return value  # written before encryption, or never personal
        kid_text, _, b64 = value[len(PREFIX):].partition(":")
        cipher = self._ciphers.get(int(kid_text)) if kid_text.isdigit() else None
        if cipher is None:
            self._checked = 0.0  # a key added since the last look
            self._maybe_refresh()
            cipher = self._ciphers.get(int(kid_text)) if kid_text.isdigit() else None
        if cipher is None:
            raise SealError(f"no data key {kid_text!r} to open a sealed value")
        raw = base64.b64decode(b64)
        try:
            return cipher.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag as e:
            raise SealError("a sealed value was changed (or moved from another record)") from e

    def blind(self, text: str) -> str:
        """The blind index of `text`: equal for equal texts, nothing without the key."""
        return hmac.new(self._index_key, text.encode(), hashlib.sha256).hexdigest()[:32]

    def seal_fields(self, doc: dict[str, Any], names: Iterable[str], context: str = ""
                    ) -> dict[str, Any]:
        out = dict(doc)
        for name in names:
            v = out.get(name)
            if isinstance(v, str) and v:
                out[name] = self.seal(v, context)
        return out

    def open_fields(self, doc: dict[str, Any], names: Iterable[str], context: str = ""
                    ) -> dict[str, Any]:
        out = dict(doc)
        for name in names:
            v = out.get(name)
            if isinstance(v, str) and v.startswith(PREFIX):
                out[name] = self.open(v, context)
        return out


@dataclass(frozen=True)
class AtRest:
    """What a store needs of the keys: the sealer of personal fields and the chain key."""

    sealer: Sealer
    chain_key: bytes

    @classmethod
    def development(cls) -> AtRest:
        """Keys that are no secret (derived from a fixed text), for a store used on its own
        in a unit test; a service always loads its keys directory (security/keys.py)."""
        def key(purpose: str) -> bytes:
            return hashlib.sha256(f"foureyes development key: {purpose}".encode()).digest()
        return cls(Sealer({1: key("data")}, key("index")), key("chain"))

    @classmethod
    def load(cls, keys_dir: Path, create: bool = True) -> AtRest:
        """The keys of `keys_dir` (made if missing, unless `create` is False: a command that
        only reads must not make keys that open nothing); new data keys are picked up."""
        ring = keys.ensure(keys_dir) if create else keys.load(keys_dir)
        return cls(Sealer(ring.data, ring.index, lambda: keys.load(keys_dir).data), ring.chain)
