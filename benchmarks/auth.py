"""What authentication costs the gateway per call, in-process: a channel system's token
check and an operator session's check, against a dict lookup (the floor of any check).

`python -m foureyes.benchmarks.auth`; also part of `bash run.sh bench --only fast`.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from foureyes.security import credentials
from foureyes.security.guard import Guard

ROUNDS = 20_000


def _per_call_us(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - start) / rounds * 1e6


def table() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        made = credentials.load(Path(tmp), credentials.CredentialFiles())
        guard = Guard(made)
        token = made.new_tokens["teller"]
        session, _, _ = guard.sign_in("auth-1", made.new_passwords["auth-1"], "")
        plain = {token: "teller"}
        rows = [("dict lookup (baseline)", _per_call_us(lambda: plain[token])),
                ("channel system token", _per_call_us(lambda: guard.system(token, "teller", "0101"))),
                ("operator session (JWT HS256 + directory)",
                 _per_call_us(lambda: guard.operator(session, "authorizer"), ROUNDS // 10))]
        start = time.perf_counter()
        guard.sign_in("auth-1", made.new_passwords["auth-1"], "")
        sign_in_ms = (time.perf_counter() - start) * 1000
    base = rows[0][1]
    lines = [f"authentication per call, {ROUNDS} calls", f"{'check':<44}{'per call':>10}  vs baseline"]
    lines += [f"{name:<44}{us:>8.2f} µs  {us / base:8.1f}x" for name, us in rows]
    lines.append(f"{'sign-in (argon2 password check, per session)':<44}{sign_in_ms:>8.1f} ms")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
