"""The condition language shared by trigger rules, image rules and history counters.

A condition is written in YAML as a mapping of `field: test` entries (all must hold) or with
`all:`, `any:` and `not:` keys, e.g.

    when:
      transaction.code: {in: [CASH_WITHDRAWAL]}
      transaction.amount: {gte: $large_cash}

It is parsed once into a small tree, then either compiled to durable_rules JSON (rules) or
evaluated directly (history counter filters, which run before the rules see the facts).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

NUMBER = "number"
TEXT = "text"
LIST = "list"
BOOLEAN = "boolean"
DATE = "date"  # compared as the number YYYYMMDD, so that order is calendar order

# Every fact a channel request can carry; history.* and extra.* are added per rule set.
FIELDS: dict[str, str] = {
    "channel": TEXT,
    "operator.id": TEXT,
    "outlet.id": TEXT,
    "terminal.id": TEXT,
    "device.id": TEXT,
    "device.location": TEXT,
    "app.id": TEXT,
    "session.id": TEXT,
    "transaction.code": TEXT,
    "transaction.amount": NUMBER,
    "transaction.currency": TEXT,
    "transaction.account": TEXT,
    "transaction.account_status": TEXT,
    "transaction.product_risk_level": NUMBER,
    "customer.id": TEXT,
    "customer.age": NUMBER,
    "customer.risk_level": NUMBER,
    "customer.segment": TEXT,
    "trigger_codes": LIST,
    # the evidence checks (gateway/evidence.py), known once images are uploaded: rules may
    # raise the level or reject on them before a case that waits for its images is queued
    "evidence.reused": BOOLEAN,
    "evidence.stale": BOOLEAN,
}

OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "between", "prefix", "matches",
       "exists", "contains")
_NEGATION = {"eq": "ne", "ne": "eq", "lt": "gte", "gte": "lt", "lte": "gt", "gt": "lte",
             "in": "not_in", "not_in": "in"}
_SCALAR_OPS = ("eq", "ne", "lt", "lte", "gt", "gte")
_PREFIX_OK = re.compile(r"^[A-Za-z0-9_\-]*$")


class ConditionError(Exception):
    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(message)


class ConditionErrors(Exception):
    """Every problem of one condition, each at the line of its own entry."""

    def __init__(self, errors: list[ConditionError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


@dataclass(frozen=True)
class FieldRef:
    field: str


@dataclass(frozen=True)
class Test:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


Condition = Test | All | AnyOf
ALWAYS = All(())  # e.g. a decision-table row whose cells are all `-`


def line_of(node: Any, default: int) -> int:
    return int(getattr(node, "line", default))


def key_line(node: Any, key: Any, default: int) -> int:
    """The line of one key of a mapping read by files.read_yaml (else `default`)."""
    return int(getattr(node, "key_lines", {}).get(key, default))


def parse(
    node: Any, fields: Mapping[str, str], params: Mapping[str, Any], line: int,
    overridden: Collection[str] = (), enums: Mapping[str, Collection[str]] | None = None,
) -> Condition:
    """Parse YAML into a condition tree, resolving `$param` references and checking fields.

    A parameter in `overridden` differs by organisation unit, so it cannot be folded into a
    constant: it becomes a reference to the fact `param.<name>`, which RuleBook supplies.
    `enums` lists the values a text field can take; a value outside them is refused.
    Raises ConditionErrors with every problem, not just the first.
    """
    errors: list[ConditionError] = []
    cond = _Parser(fields, params, overridden, enums or {}, errors).parse(node, line)
    if errors:
        raise ConditionErrors(errors)
    return cond


@dataclass
class _Parser:
    fields: Mapping[str, str]
    params: Mapping[str, Any]
    overridden: Collection[str]
    enums: Mapping[str, Collection[str]]
    errors: list[ConditionError]

    def parse(self, node: Any, line: int) -> Condition:
        line = line_of(node, line)
        if isinstance(node, list):
            return All(tuple(self.parse(item, line) for item in node))
        if not isinstance(node, dict) or not node:
            raise ConditionError(line, "a condition must be a non-empty mapping or list")
        items: list[Condition] = []
        for key, value in node.items():
            at = key_line(node, key, line)
            try:
                if key == "all":
                    items.append(All(tuple(self.parse(v, at) for v in _as_list(value, at))))
                elif key == "any":
                    items.append(AnyOf(tuple(self.parse(v, at) for v in _as_list(value, at))))
                elif key == "not":
                    items.append(negate(self.parse(value, at), at))
                else:
                    items.extend(self.tests(str(key), value, at))
            except ConditionError as e:  # go on: the author wants every problem at once
                self.errors.append(e)
        return items[0] if len(items) == 1 else All(tuple(items))

    def tests(self, name: str, spec: Any, line: int) -> list[Condition]:
        kind = self.fields.get(name)
        if kind is None:
            raise ConditionError(line, f"unknown field {name!r}")
        if not isinstance(spec, dict):
            spec = {"contains" if kind == LIST else "eq": spec}
        tests: list[Condition] = []
        for op, raw in spec.items():
            if op not in OPS:
                raise ConditionError(line, f"unknown operator {op!r} on {name} "
                                           f"(use one of {', '.join(OPS)})")
            value = _resolve(raw, self.params, self.fields, line)
            if kind == DATE:
                value = _dates(name, value, line)
            # against the default: overrides share its type
            _check_value(name, NUMBER if kind == DATE else kind, op, value, line)
            _check_enum(name, self.enums.get(name), op, value, line)
            late = _overridden_in(raw, self.overridden)
            if late and op not in _SCALAR_OPS:
                raise ConditionError(line, f"{name}: ${late} has overrides, so it can only be used "
                                           f"with {', '.join(_SCALAR_OPS)}")
            tests.append(Test(name, op, FieldRef(f"param.{late}") if late else value))
        return tests


def _as_list(value: Any, line: int) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise ConditionError(line, "all/any take a non-empty list")
    return value


def _overridden_in(raw: Any, overridden: Collection[str]) -> str:
    items = raw if isinstance(raw, list) else [raw]
    for item in items:
        if isinstance(item, str) and item.startswith("$") and item[1:] in overridden:
            return item[1:]
    return ""


def _resolve(raw: Any, params: Mapping[str, Any], fields: Mapping[str, str], line: int) -> Any:
    if isinstance(raw, list):
        return tuple(_resolve(v, params, fields, line) for v in raw)
    if isinstance(raw, dict) and set(raw) == {"field"}:
        ref = str(raw["field"])
        if ref not in fields:
            raise ConditionError(line, f"unknown field {ref!r}")
        return FieldRef(ref)
    if isinstance(raw, str) and raw.startswith("$"):
        if raw[1:] not in params:
            raise ConditionError(line, f"unknown parameter {raw!r}")
        return params[raw[1:]]
    return raw


def date_number(value: Any) -> int | None:
    """A date (YAML date, or text YYYY-MM-DD) as the number YYYYMMDD; None if it is not one."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, dt.date):
        return value.year * 10000 + value.month * 100 + value.day
    return None


def _dates(name: str, value: Any, line: int) -> Any:
    if isinstance(value, tuple):
        return tuple(_dates(name, v, line) for v in value)
    if isinstance(value, bool | FieldRef):
        return value  # `exists: true`, or a comparison with another date field
    number = date_number(value)
    if number is None:
        raise ConditionError(line, f"{name}: {value!r} is not a date (write 2026-11-23)")
    return number


def _check_enum(name: str, allowed: Collection[str] | None, op: str, value: Any, line: int) -> None:
    if allowed is None or op not in ("eq", "ne", "in", "not_in"):
        return
    for v in value if isinstance(value, tuple) else (value,):
        if isinstance(v, str) and v not in allowed:
            raise ConditionError(line, f"unknown {name} {v!r} — one of {', '.join(allowed)}")


def _check_value(name: str, kind: str, op: str, value: Any, line: int) -> None:
    def number(v: Any) -> bool:
        return isinstance(v, FieldRef) or (isinstance(v, int | float) and not isinstance(v, bool))

    if op == "exists":
        if not isinstance(value, bool):
            raise ConditionError(line, f"{name}: exists takes true or false")
    elif op in ("in", "not_in"):
        if not isinstance(value, tuple) or not value:
            raise ConditionError(line, f"{name}: {op} takes a non-empty list")
        if kind == NUMBER and not all(number(v) for v in value):
            raise ConditionError(line, f"{name}: {op} takes numbers")
        if kind == TEXT and not all(isinstance(v, str | FieldRef) for v in value):
            raise ConditionError(line, f"{name} is text: {op} takes text (quote numbers)")
    elif op == "between":
        if kind != NUMBER:
            raise ConditionError(line, f"{name}: between compares numbers, but {name} is {kind}")
        if not (isinstance(value, tuple) and len(value) == 2 and all(number(v) for v in value)):
            raise ConditionError(line, f"{name}: between takes [low, high] numbers")
        if value[0] > value[1]:
            raise ConditionError(line, f"{name}: between {value[0]} and {value[1]} can never hold")
    elif op in ("lt", "lte", "gt", "gte"):
        if kind != NUMBER or not number(value):
            raise ConditionError(line, f"{name}: {op} compares numbers")
    elif op == "prefix":
        if kind != TEXT or not isinstance(value, str) or not _PREFIX_OK.match(value):
            raise ConditionError(line, f"{name}: prefix takes letters, digits, '_' and '-'")
    elif op == "matches":
        if kind != TEXT or not isinstance(value, str):
            raise ConditionError(line, f"{name}: matches takes a pattern")
        try:
            re.compile(value)
        except re.error as e:
            raise ConditionError(line, f"{name}: bad pattern {value!r}: {e}") from None
    elif op == "contains":
        if kind != LIST:
            raise ConditionError(line, f"{name}: contains applies to lists only")
    elif kind == NUMBER and not number(value):
        raise ConditionError(line, f"{name}: {op} compares numbers, got {value!r}")
    elif kind == TEXT and not isinstance(value, str | FieldRef):
        raise ConditionError(line, f"{name}: {op} compares text, got {value!r} (quote it)")
    elif kind == BOOLEAN and not isinstance(value, bool | FieldRef):
        raise ConditionError(line, f"{name}: {op} compares true or false, got {value!r}")


def negate(cond: Condition, line: int) -> Condition:
    """Push `not` down to the tests; durable_rules has no negation operator of its own."""
    if isinstance(cond, All):
        return AnyOf(tuple(negate(c, line) for c in cond.items))
    if isinstance(cond, AnyOf):
        return All(tuple(negate(c, line) for c in cond.items))
    if cond.op in _NEGATION:
        return Test(cond.field, _NEGATION[cond.op], cond.value)
    if cond.op == "exists":
        return Test(cond.field, "exists", not cond.value)
    if cond.op == "between":
        low, high = cond.value
        return AnyOf((Test(cond.field, "lt", low), Test(cond.field, "gt", high)))
    raise ConditionError(line, f"{cond.field}: 'not' cannot be applied to {cond.op}")


# ------------------------------------------------------------------ compile to durable_rules


# durable_rules also matches a rule against its session's own state object; a rule that
# needs no field present (only `exists: false`, or a table row of `-` cells) then fires on
# its own state change, again and again, for ever. The engine marks every fact it posts and
# makes such a rule require the mark (engine.py).
FACT_MARK = "fact.posted"


def anchored(cond: Condition) -> bool:
    """Whether `cond` can only hold for a value that is present (not for the session state)."""
    if isinstance(cond, All):
        return any(anchored(c) for c in cond.items)
    if isinstance(cond, AnyOf):
        return all(anchored(c) for c in cond.items)
    return not (cond.op == "exists" and cond.value is False)


def to_durable(cond: Condition) -> dict[str, Any]:
    if cond == ALWAYS:
        return {"$ex": {FACT_MARK: 1}}
    if isinstance(cond, All):
        return {"$and": [to_durable(c) for c in cond.items]}
    if isinstance(cond, AnyOf):
        return {"$or": [to_durable(c) for c in cond.items]}
    f, op, v = cond.field, cond.op, cond.value
    if op == "eq":
        return {f: _ref(v)}
    if op in ("ne", "lt", "lte", "gt", "gte"):
        return {"$neq" if op == "ne" else f"${op}": {f: _ref(v)}}
    if op == "in":
        return {"$or": [{f: _ref(x)} for x in v]}
    if op == "not_in":
        return {"$and": [{"$neq": {f: _ref(x)}} for x in v]}
    if op == "between":
        return {"$and": [{"$gte": {f: _ref(v[0])}}, {"$lte": {f: _ref(v[1])}}]}
    if op == "exists":
        return {"$ex" if v else "$nex": {f: 1}}
    if op == "contains":
        return {"$iany": {f: {"$i": v}}}
    if op == "prefix":
        return {"$mt": {f: f"{v}.*"}}
    return {"$mt": {f: v}}  # matches: durable_rules matches the whole text


def _ref(v: Any) -> Any:
    return {"$m": v.field} if isinstance(v, FieldRef) else v


# ------------------------------------------------------------------ direct evaluation


def evaluate(cond: Condition, facts: Mapping[str, Any]) -> bool:
    """The same semantics as the compiled form, for filters evaluated outside durable_rules:
    a test on a missing field is false (except `exists: false`)."""
    if isinstance(cond, All):
        return all(evaluate(c, facts) for c in cond.items)
    if isinstance(cond, AnyOf):
        return any(evaluate(c, facts) for c in cond.items)
    if cond.op == "exists":
        return (cond.field in facts) == cond.value
    if cond.field not in facts:
        return False
    actual = facts[cond.field]
    value = cond.value
    if isinstance(value, FieldRef):
        if value.field not in facts:
            return False
        value = facts[value.field]
    try:
        return bool(TESTS[cond.op](actual, value))
    except TypeError:
        return False


TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, v: a == v,
    "ne": lambda a, v: a != v,
    "lt": lambda a, v: a < v,
    "lte": lambda a, v: a <= v,
    "gt": lambda a, v: a > v,
    "gte": lambda a, v: a >= v,
    "in": lambda a, v: a in v,
    "not_in": lambda a, v: a not in v,
    "between": lambda a, v: v[0] <= a <= v[1],
    "contains": lambda a, v: v in a,
    "prefix": lambda a, v: str(a).startswith(v),
    "matches": lambda a, v: re.fullmatch(v, str(a)) is not None,
}


def fields_of(cond: Condition) -> set[str]:
    if isinstance(cond, All | AnyOf):
        return set().union(*(fields_of(c) for c in cond.items))
    refs = {cond.field}
    if isinstance(cond.value, FieldRef):
        refs.add(cond.value.field)
    return refs
