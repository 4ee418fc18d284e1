"""The keys of the data at rest, kept outside the data directory.

A keys directory holds, each in its own file readable by the owner only (0600):
  chain.key        HMAC-SHA256 key of the audit chain and its checkpoints
  index.key        HMAC-SHA256 key of the blind index (customer lookups)
  data-<n>.key     AES-256-GCM data keys; the highest <n> encrypts, every one decrypts
By default it is `<data-dir>.keys/` beside the data directory (a copy of the data directory
alone carries no key); `--keys-dir` or FOUREYES_KEYS_DIR put it elsewhere (a mounted secret,
a KMS agent's output). Missing keys are made on first start, for development.
`foureyes keys rotate` adds data-<n+1>.key; running hosts pick it up within REFRESH_SECONDS.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from foureyes.errors import FoureyesError
from foureyes.security.files import write_private

_DATA = re.compile(r"^data-(\d+)\.key$")


class KeyFileError(FoureyesError):
    """A key file is missing, unreadable or malformed."""


def default_keys_dir(data_dir: Path) -> Path:
    env = os.environ.get("FOUREYES_KEYS_DIR")
    if env:
        return Path(env)
    data_dir = data_dir.resolve()
    return data_dir.with_name(data_dir.name + ".keys")


@dataclass(frozen=True)
class KeyRing:
    chain: bytes
    index: bytes
    data: dict[int, bytes]

    @property
    def current(self) -> int:
        return max(self.data)


def _read(path: Path) -> bytes:
    try:
        raw = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as e:
        raise KeyFileError(f"key file {path}: {e}") from e
    if len(raw) != 32:
        raise KeyFileError(f"key file {path}: expected 32 bytes (64 hex digits)")
    return raw


def _make(path: Path) -> None:
    write_private(path, secrets.token_bytes(32).hex().encode() + b"\n")


def ensure(keys_dir: Path) -> KeyRing:
    """The key ring of `keys_dir`, making what is missing (chain, index, a first data key)."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in ("chain.key", "index.key"):
        if not (keys_dir / name).exists():
            _make(keys_dir / name)
    if not any(_DATA.match(p.name) for p in keys_dir.iterdir()):
        _make(keys_dir / "data-1.key")
    return load(keys_dir)


def load(keys_dir: Path) -> KeyRing:
    if not keys_dir.is_dir():
        raise KeyFileError(f"no keys directory {keys_dir} (start the service once, or give "
                        f"--keys-dir)")
    data = {int(m.group(1)): _read(p) for p in keys_dir.iterdir() if (m := _DATA.match(p.name))}
    if not data:
        raise KeyFileError(f"no data key (data-<n>.key) in {keys_dir}")
    return KeyRing(_read(keys_dir / "chain.key"), _read(keys_dir / "index.key"), data)


def rotate(keys_dir: Path) -> int:
    """Add a data key; new rows are encrypted under it, old rows stay readable."""
    ring = ensure(keys_dir)
    new = ring.current + 1
    _make(keys_dir / f"data-{new}.key")
    return new
