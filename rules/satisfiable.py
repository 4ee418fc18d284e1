"""Find conditions that can never hold, so that a rule that can never fire is refused.

The condition is expanded into alternatives of plain tests (disjunctive normal form); it can
never hold when every alternative asks contradictory things of one field: a value outside an
empty interval, two different `eq`s, `in` lists with nothing in common, two prefixes that
exclude each other, or a field that must be both missing and present. Tests against another
field or an overridden parameter are left out: their value is not known until a request comes.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable

from foureyes.rules.conditions import TESTS, All, AnyOf, Condition, FieldRef, Test

_MAX_ALTERNATIVES = 512  # beyond this the check is skipped rather than slow


def never_holds(cond: Condition) -> str | None:
    """Why `cond` can never hold, or None if it can (or the check gave up)."""
    alternatives = _dnf(cond)
    if alternatives is None:
        return None
    reasons = []
    for tests in alternatives:
        reason = _conflict(tests)
        if reason is None:
            return None
        reasons.append(reason)
    return "; ".join(dict.fromkeys(reasons))


def _dnf(cond: Condition) -> list[tuple[Test, ...]] | None:
    if isinstance(cond, Test):
        return [(cond,)]
    parts = [_dnf(c) for c in cond.items]
    if any(p is None for p in parts):
        return None
    if isinstance(cond, AnyOf):
        out = [alt for p in parts if p is not None for alt in p]
        return out if len(out) <= _MAX_ALTERNATIVES else None
    assert isinstance(cond, All)
    if math.prod(len(p) for p in parts if p is not None) > _MAX_ALTERNATIVES:
        return None
    return [tuple(t for alt in combo for t in alt)
            for combo in itertools.product(*(p for p in parts if p is not None))]


def _known(t: Test) -> bool:
    values = t.value if isinstance(t.value, tuple) else (t.value,)
    return not any(isinstance(v, FieldRef) for v in values)


def _conflict(tests: Iterable[Test]) -> str | None:
    by_field: dict[str, list[Test]] = defaultdict(list)
    for t in tests:
        if _known(t):
            by_field[t.field].append(t)
    for field, ts in by_field.items():
        reason = _field_conflict(ts)
        if reason:
            shown = ", ".join(f"{t.op} {_show(t.value)}" for t in ts)
            return f"{field}: {shown}: {reason}"
    return None


def _show(v: object) -> str:
    return f"[{', '.join(map(str, v))}]" if isinstance(v, tuple) else str(v)


def _holds(t: Test, value: object) -> bool:
    try:
        return bool(TESTS[t.op](value, t.value))
    except TypeError:
        return False


def _field_conflict(ts: list[Test]) -> str | None:
    exists = {t.value for t in ts if t.op == "exists"}
    others = [t for t in ts if t.op != "exists"]
    if False in exists and (True in exists or others):
        return "must be missing and present at once"
    if any(t.op == "contains" for t in others):
        return None  # a list: its items are independent of each other
    finite: set[object] | None = None
    for t in others:
        if t.op in ("eq", "in"):
            allowed = set(t.value) if t.op == "in" else {t.value}
            finite = allowed if finite is None else finite & allowed
    if finite is not None:
        if not any(all(_holds(t, v) for t in others) for v in finite):
            return "no value satisfies all of these"
        return None
    return _interval_conflict(others) or _prefix_conflict(others)


def _interval_conflict(ts: list[Test]) -> str | None:
    lo, lo_in, hi, hi_in = -math.inf, False, math.inf, False
    for t in ts:
        bounds: list[tuple[str, object]] = []
        if t.op == "between":
            bounds = [("gte", t.value[0]), ("lte", t.value[1])]
        elif t.op in ("gt", "gte", "lt", "lte"):
            bounds = [(t.op, t.value)]
        for op, v in bounds:
            if not isinstance(v, int | float):
                continue
            if op in ("gt", "gte") and (v > lo or (v == lo and op == "gt")):
                lo, lo_in = v, op == "gte"
            if op in ("lt", "lte") and (v < hi or (v == hi and op == "lt")):
                hi, hi_in = v, op == "lte"
    if lo > hi or (lo == hi and not (lo_in and hi_in)):
        return "the range is empty"
    if lo == hi and any((t.op == "ne" and t.value == lo) or (t.op == "not_in" and lo in t.value)
                        for t in ts):
        return "the only value left is excluded"
    return None


def _prefix_conflict(ts: list[Test]) -> str | None:
    prefixes = [t.value for t in ts if t.op == "prefix" and isinstance(t.value, str)]
    for a, b in itertools.combinations(prefixes, 2):
        if not (a.startswith(b) or b.startswith(a)):
            return "no text starts with both"
    return None
