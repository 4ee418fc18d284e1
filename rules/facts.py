"""Declared facts: the custom attributes a rule set reads, with their types.

A channel sends custom attributes as text (`Transaction.extra` is a `map<string, string>`), so
a rule comparing `extra.new_limit` with a number would never match unless the value is
converted. The `facts:` section says what each attribute is:

    facts:
      - {id: extra.new_limit, type: number, min: 0}
      - {id: customer.status, type: enum, values: [active, dormant, deceased]}
      - {id: extra.birth_date, type: date, personal: true}
      - {id: transaction.code, type: enum, values: [CASH_WITHDRAWAL, TRANSFER]}

RuleBook.coerce converts a request's text into these types before the rules see it, refusing
a value that is not one (InvalidRequest names the attribute). A declared `customer.<name>`
arrives in `extra` under its own name (`extra["customer.status"]`). A built-in text field may
be declared an enum: conditions are then checked against its values (a typo is refused), but
requests are not, so that a new transaction code does not stop the service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from foureyes.errors import InvalidRequest
from foureyes.rules import conditions

TYPES = {"number": conditions.NUMBER, "decimal": conditions.NUMBER, "text": conditions.TEXT,
         "enum": conditions.TEXT, "date": conditions.DATE, "boolean": conditions.BOOLEAN}
CHANNELS = ("teller", "self_service", "mobile")
BUILTIN_ENUMS: dict[str, tuple[str, ...]] = {"channel": CHANNELS}
BUILTIN_PERSONAL = frozenset({"transaction.account"})
KEYS = {"id", "type", "values", "personal", "min", "max", "places", "description"}
_NAME = re.compile(r"^(extra|customer)\.[a-z][a-z0-9_]*$")
_NUMBER = re.compile(r"-?[0-9]{1,18}(\.[0-9]{1,18})?")
_BOOLEANS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}


@dataclass(frozen=True)
class DeclaredFact:
    name: str
    type: str
    values: tuple[str, ...] = ()  # an enum's values
    personal: bool = False  # masked wherever it is shown
    minimum: float | None = None
    maximum: float | None = None
    places: int = 2  # a decimal's most digits after the point
    builtin: bool = False  # a field every request may carry; declared only to narrow it

    @property
    def kind(self) -> str:
        return TYPES[self.type]


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def convert(fact: DeclaredFact, raw: Any) -> Any:
    """`raw` (text from a channel, or an already typed value from a test) as `fact`'s type;
    ValueError saying why not."""
    t = fact.type
    if t in ("text", "enum"):
        if not isinstance(raw, str):
            raise ValueError(f"{raw!r} is not text")
        if t == "enum" and raw not in fact.values:
            raise ValueError(f"{raw!r} is not one of {', '.join(fact.values)}")
        return raw
    if t == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in _BOOLEANS:
            return _BOOLEANS[raw.lower()]
        raise ValueError(f"{raw!r} is not true or false")
    if t == "date":
        number = conditions.date_number(raw)
        if number is None:
            raise ValueError(f"{raw!r} is not a date like 2026-11-23")
        return number
    return _number(fact, raw)


def _number(fact: DeclaredFact, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError(f"{raw!r} is not a number")
    if isinstance(raw, str):
        if not _NUMBER.fullmatch(raw):
            raise ValueError(f"{raw[:40]!r} is not a number (digits, optionally a point and decimals)")
        if fact.type == "decimal":
            try:
                exponent = Decimal(raw).as_tuple().exponent
            except InvalidOperation:
                raise ValueError(f"{raw!r} is not a decimal") from None
            if isinstance(exponent, int) and -exponent > fact.places:
                raise ValueError(f"{raw!r} has more than {fact.places} decimals")
    value = float(raw)
    if fact.minimum is not None and value < fact.minimum:
        raise ValueError(f"{raw} is below the least allowed, {fact.minimum:g}")
    if fact.maximum is not None and value > fact.maximum:
        raise ValueError(f"{raw} is above the most allowed, {fact.maximum:g}")
    return value


def coerce(declared: Mapping[str, DeclaredFact], facts: dict[str, Any]) -> dict[str, Any]:
    """The request's facts with every declared custom attribute converted to its type."""
    out: dict[str, Any] | None = None
    for name, fact in declared.items():
        if fact.builtin:
            continue
        source = name if name.startswith("extra.") else f"extra.{name}"
        key = name if name in facts else source if source in facts else None
        if key is None:
            continue
        try:
            value = convert(fact, facts[key])
        except ValueError as e:
            raise InvalidRequest(f"{name}: {e}") from None
        if out is None:
            out = dict(facts)
        out.pop(key)
        out[name] = value
    return facts if out is None else out


def mask(value: Any) -> str:
    """Only the last four characters of personal data are shown (none of a short value)."""
    text = str(value)
    return "****" if len(text) <= 4 else "*" * (len(text) - 4) + text[-4:]
