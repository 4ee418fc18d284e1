"""The audit chain: a hash chain per database file, in the same transaction as the rows it
covers.

Each entry holds a canonical encoding (JSON, sorted keys, no spaces) of what it covers — the
kind, the subject (a case id), the version and the SHA-256 digests of the covered rows, never
their personal content — the hash of the entry before, its own hash
SHA-256(prev ‖ "\\n" ‖ body), and an HMAC-SHA256 of that hash under the chain key, which lives
outside the data directory (security/keys.py): whoever can write the files cannot recompute
the chain. A checkpoint signs the head (sequence number and hash) periodically and on close;
checkpoints can be exported and compared elsewhere (`foureyes audit checkpoint`).

The entries are computed as the group commit starts (Database._drain), over exactly what
commits, so a rolled-back group leaves the head where it was.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

CHAIN_SCHEMA = """
CREATE TABLE IF NOT EXISTS chain (
    seq INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chain_subject ON chain(subject, version) WHERE subject != '';
CREATE TABLE IF NOT EXISTS chain_checkpoints (
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    head TEXT NOT NULL,
    mac TEXT NOT NULL
);
"""
GENESIS = "0" * 64
CHECKPOINT_SECONDS = 60.0
INSERT = "INSERT INTO chain (seq, subject, version, body, prev, hash, mac) VALUES (?, ?, ?, ?, ?, ?, ?)"
INSERT_CHECKPOINT = "INSERT INTO chain_checkpoints (seq, at, head, mac) VALUES (?, ?, ?, ?)"


# Encoders made once: json.dumps with any argument builds a new encoder on every call, which
# was a quarter of the cost of encoding a decision-log row.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_UNICODE = json.JSONEncoder(ensure_ascii=False)


def canonical(value: Any) -> str:
    return _CANONICAL.encode(value)


def json_text(value: Any) -> str:
    """json.dumps(value, ensure_ascii=False): how the stores write their JSON columns."""
    return _UNICODE.encode(value)


def digest(*parts: Any) -> str:
    """The digest of a covered row: its column values, canonically encoded."""
    return hashlib.sha256(canonical(list(parts)).encode()).hexdigest()


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def link(prev: str, body: str) -> str:
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()


def sign(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def checkpoint_text(name: str, seq: int, head: str, at: float) -> str:
    return canonical({"chain": name, "seq": seq, "head": head, "at": at})


@dataclass(frozen=True)
class Cover:
    """What one entry covers: `digests` of the rows written with it."""

    kind: str  # case | decision | audit
    digests: tuple[str, ...]
    subject: str = ""
    version: int = 0


class Chain:
    def __init__(self, name: str, key: bytes) -> None:
        self.name = name
        self.key = key
        self.seq = 0
        self.head = GENESIS
        self._checkpointed_at = time.monotonic()
        self._checkpointed_seq = 0

    def resume(self, seq: int, head: str) -> None:
        self.seq, self.head = seq, head
        self._checkpointed_seq = seq

    def entries(self, covers: list[Cover]) -> tuple[list[tuple[Any, ...]], tuple[int, str]]:
        """The rows of the next entries and the head they lead to; the head moves only when
        `advance` is called, once they are committed."""
        rows = []
        seq, head = self.seq, self.head
        for c in covers:
            seq += 1
            body = canonical({"k": c.kind, "s": c.subject, "v": c.version, "d": list(c.digests)})
            h = link(head, body)
            rows.append((seq, c.subject, c.version, body, head, h, sign(self.key, h)))
            head = h
        return rows, (seq, head)

    def advance(self, to: tuple[int, str]) -> None:
        self.seq, self.head = to

    def checkpoint_due(self, seq: int) -> bool:
        return (seq != self._checkpointed_seq
                and time.monotonic() - self._checkpointed_at >= CHECKPOINT_SECONDS)

    def checkpoint(self, seq: int, head: str) -> tuple[Any, ...]:
        at = time.time()
        self._checkpointed_at, self._checkpointed_seq = time.monotonic(), seq
        return (seq, at, head, sign(self.key, checkpoint_text(self.name, seq, head, at)))

    def mac_ok(self, h: str, mac: str) -> bool:
        return hmac.compare_digest(sign(self.key, h), mac)


def signed_heads(heads: dict[str, tuple[int, str]], key: bytes, at: float | None = None
                 ) -> dict[str, Any]:
    """A checkpoint of several chains' heads, signed as one: what is exported and fed."""
    doc: dict[str, Any] = {"at": time.time() if at is None else at,
                           "chains": {n: {"seq": s, "head": h} for n, (s, h) in sorted(heads.items())}}
    return {**doc, "mac": sign(key, canonical(doc))}


def heads_signed(checkpoint: dict[str, Any], key: bytes) -> bool:
    doc = {"at": checkpoint.get("at"), "chains": checkpoint.get("chains")}
    return hmac.compare_digest(sign(key, canonical(doc)), str(checkpoint.get("mac", "")))
