"""The keys of the data at rest, kept outside the data directory.

A keys directory holds, each in its own file readable by the owner only (0600):
  chain.key        HMAC-SHA256 key of the audit chain and its checkpoints
  index.key        HMAC-SHA256 key of the blind index (customer lookups)
  data-<n>.key     AES-256-GCM data keys; the highest <n> encrypts, every one decrypts
By default it is `<data-dir>.keys/` beside the data directory (a copy of the data directory
alone carries no key); `--keys-dir` or FOUREYES_KEYS_DIR put it elsewhere (a mounted secret,
a KMS agent's output). Missing keys are made on first start, for development.
`foureyes keys rotate` adds data-<n+1>.key; running hosts pick it up within REFRESH_SECONDS.

Envelope: with FOUREYES_KEK_COMMAND set (a command that prints a 32-byte key-encryption key
as 64 hex digits: the bank's KMS or HSM client), key files are kept wrapped by it
(`wrapped:` and base64 of AES-256-GCM nonce + ciphertext, the file name as associated data,
so no file can stand in for another). A copy of the keys directory then opens nothing without
the KMS. The command runs once per process; `foureyes keys wrap` wraps the files made before.
"""

from __future__ import annotations

import base64
import functools
import os
import re
import secrets
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from foureyes.errors import FoureyesError
from foureyes.security.files import write_private

_DATA = re.compile(r"^data-(\d+)\.key$")
KEK_COMMAND = "FOUREYES_KEK_COMMAND"
_WRAPPED = "wrapped:"


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


def _kek_command() -> str:
    return os.environ.get(KEK_COMMAND, "").strip()


@functools.cache
def _kek(command: str) -> bytes:
    """The key-encryption key `command` prints; asked once per process (a failure is not
    remembered: the next read asks again). Messages never repeat the command: it may carry a
    credential of the KMS."""
    try:
        done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=30,
                              check=False)
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        raise KeyFileError(f"{KEK_COMMAND} did not run: {e}") from e
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [""])[-1][:200]
        raise KeyFileError(f"{KEK_COMMAND} failed with exit {done.returncode}: "
                           f"{why}")
    try:
        kek = bytes.fromhex(done.stdout.strip())
    except ValueError:
        kek = b""
    if len(kek) != 32:
        raise KeyFileError(f"{KEK_COMMAND} must print a 32-byte key as 64 hex "
                           "digits")
    return kek


def _read(path: Path) -> bytes:
    try:
        text = path.read_text().strip()
    except OSError as e:
        raise KeyFileError(f"key file {path}: {e}") from e
    if text.startswith(_WRAPPED):
        text = _unwrap(path, text[len(_WRAPPED):])
    try:
        raw = bytes.fromhex(text)
    except ValueError as e:
        raise KeyFileError(f"key file {path}: {e}") from e
    if len(raw) != 32:
        raise KeyFileError(f"key file {path}: expected 32 bytes (64 hex digits)")
    return raw


def _unwrap(path: Path, b64: str) -> str:
    command = _kek_command()
    if not command:
        raise KeyFileError(f"key file {path} is wrapped by a key-encryption key: set "
                           f"{KEK_COMMAND} to the command that prints it")
    try:
        blob = base64.b64decode(b64, validate=True)
        return AESGCM(_kek(command)).decrypt(blob[:12], blob[12:], path.name.encode()).decode()
    except (ValueError, InvalidTag):
        raise KeyFileError(f"key file {path} does not unwrap with the key {KEK_COMMAND} prints "
                           "(another key-encryption key, or a changed file)") from None


def _write(path: Path, key: bytes) -> None:
    """The key in hex; wrapped when a key-encryption key is configured."""
    text = key.hex()
    if command := _kek_command():
        nonce = os.urandom(12)
        sealed = AESGCM(_kek(command)).encrypt(nonce, text.encode(), path.name.encode())
        text = _WRAPPED + base64.b64encode(nonce + sealed).decode()
    write_private(path, text.encode() + b"\n")


def _make(path: Path) -> None:
    _write(path, secrets.token_bytes(32))


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


def wrap(keys_dir: Path) -> list[str]:
    """Wrap every key file still in clear with the key-encryption key; the names wrapped."""
    if not _kek_command():
        raise KeyFileError(f"set {KEK_COMMAND} to the command that prints the key-encryption "
                           "key (64 hex digits) first")
    load(keys_dir)  # every file readable before any is rewritten
    done = []
    for path in sorted(keys_dir.iterdir()):
        if path.name in ("chain.key", "index.key") or _DATA.match(path.name):
            if not path.read_text().startswith(_WRAPPED):
                _write(path, _read(path))
                done.append(path.name)
    return done
