"""Failed sign-ins per operator: guessing a password stops after a few tries.

Each failure is remembered for `window` seconds; with `limit` failures in the window the
operator id is refused before its password is checked (so a locked account leaks nothing and
costs no argon2 hash) until the oldest failure ages out. A success clears the count. The
count is per operator id, not per caller, because callers behind a bank's proxy share an
address; the price is that someone can lock an operator out for one window, which the
audit log shows (`sign-in … locked`) and an operator admin can see.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SignInThrottle:
    def __init__(self, limit: int = 5, window: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self._clock = limit, window, clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, operator_id: str) -> float:
        """Seconds until `operator_id` may try again; 0 when it may now."""
        failures = self._failures.get(operator_id)
        if failures is None:
            return 0.0
        now = self._clock()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[operator_id]
            return 0.0
        return failures[0] + self.window - now if len(failures) >= self.limit else 0.0

    def failed(self, operator_id: str) -> None:
        if len(self._failures) >= 100_000 and operator_id not in self._failures:
            self._forget_old()
        self._failures.setdefault(operator_id, deque(maxlen=self.limit)).append(self._clock())

    def succeeded(self, operator_id: str) -> None:
        self._failures.pop(operator_id, None)

    def _forget_old(self) -> None:
        """Made-up operator ids must not grow the map without end."""
        for operator_id in list(self._failures):
            self.retry_after(operator_id)
