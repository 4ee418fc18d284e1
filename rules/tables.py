"""Decision tables: input columns, rows of cell conditions, output columns, a DMN hit policy.

    tables:
      - id: cash-bands
        hit: unique            # unique | first | priority | collect
        gaps: error            # warn (the default) | error | ignore
        when: {transaction.code: CASH_WITHDRAWAL}
        inputs: [transaction.amount]
        outputs: [id, outcome, level, scene, reason]
        rows:
          - ["< $large_cash", none, 1, cash-withdrawal, under the threshold]
          - ["[$large_cash..$very_large_cash)", remote, 1, cash-withdrawal, large]
          - [">= $very_large_cash", remote, 2, cash-withdrawal, very large]

Each row is compiled to durable_rules like any trigger rule (files.py builds it); the hit policy
is applied to the rows that matched (RuleBook). `check` enumerates the input space cut at every
value a cell names, once per set of parameter values in force somewhere in the organisation,
and reports rows that overlap (under `unique`) and input ranges no row covers, like the Drools
verifier. Values a cell compares with another field are unknown until a request comes, so such
a table is not analysed.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from foureyes.rules import conditions
from foureyes.rules.conditions import All, AnyOf, Condition, FieldRef, Test

HIT_POLICIES = ("unique", "first", "priority", "collect")
GAP_POLICIES = ("warn", "error", "ignore")
KEYS = {"id", "description", "hit", "gaps", "when", "inputs", "outputs", "defaults", "rows"}
OUTPUTS = ("id", "outcome", "level", "approvers", "priority", "sla_seconds", "scene", "reason",
           "description")
MAX_COMBINATIONS = 20_000  # beyond this the input space is not enumerated
_RANGE = re.compile(r"^\s*([\[\(])\s*(\S+?)\s*\.\.\s*(\S+?)\s*([\]\)])\s*$")
_COMPARISON = re.compile(r"^\s*(<=|>=|<|>|!=|=)\s*(\S+)\s*$")
_OPS = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte", "!=": "ne", "=": "eq"}


@dataclass(frozen=True)
class Row:
    id: str
    number: int  # 1-based, as an author counts them
    line: int
    cells: tuple[Condition | None, ...]  # None: `-`, any value


@dataclass(frozen=True)
class Table:
    id: str
    file: str
    line: int
    hit: str
    gaps: str
    inputs: tuple[str, ...]
    when: Condition | None
    rows: tuple[Row, ...]

    def condition(self, row: Row) -> Condition:
        parts = ([self.when] if self.when else []) + [c for c in row.cells if c is not None]
        return parts[0] if len(parts) == 1 else All(tuple(parts))


def cell_spec(cell: Any) -> Any:
    """A cell as a condition test in the rule language, or None for `-` (any value).

    Besides the language's own forms (a value, a list for `in`, a mapping of operators), a
    cell may be a range `[a..b)` or a comparison `>= a`, as in DMN."""
    if cell is None or cell == "-":
        return None
    if isinstance(cell, list):
        return {"in": cell}
    if isinstance(cell, str):
        m = _RANGE.match(cell)
        if m:
            low, high = _number(m.group(2)), _number(m.group(3))
            return {"gte" if m.group(1) == "[" else "gt": low, "lte" if m.group(4) == "]" else "lt": high}
        m = _COMPARISON.match(cell)
        if m:
            return {_OPS[m.group(1)]: _number(m.group(2))}
    return cell


def _number(text: str) -> Any:
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text  # a $parameter, or the language refuses it


def winners(table: Table, matched: Sequence[tuple[int, Any]]) -> list[int]:
    """Which of the matched rows (index, strictness key) the hit policy keeps."""
    if not matched:
        return []
    if table.hit == "collect":
        return sorted(i for i, _ in matched)
    if table.hit == "priority":
        return [max(matched, key=lambda m: (m[1], -m[0]))[0]]
    return [min(i for i, _ in matched)]  # unique (check refused overlaps) and first


# ------------------------------------------------------------------ analysis


@dataclass(frozen=True)
class Finding:
    line: int
    message: str
    is_gap: bool


def analyse(table: Table, kinds: Mapping[str, str], enums: Mapping[str, Sequence[str]],
            bounds: Mapping[str, tuple[float | None, float | None]],
            assignments: Sequence[tuple[str, Mapping[str, Any]]]) -> list[Finding]:
    """Overlaps (under `unique`) and gaps, for each set of parameter values (`where`, values of
    `param.<name>`); a finding that holds everywhere is reported once."""
    findings: dict[tuple[int, str, bool], list[str]] = {}
    for where, values in assignments:
        bound = Table(table.id, table.file, table.line, table.hit, table.gaps, table.inputs,
                      _bind(table.when, values) if table.when else None,
                      tuple(Row(r.id, r.number, r.line, tuple(_bind(c, values) if c else None
                                                              for c in r.cells))
                            for r in table.rows))
        for f in _analyse_once(bound, kinds, enums, bounds):
            findings.setdefault((f.line, f.message, f.is_gap), []).append(where)
    out = []
    for (line, message, is_gap), wheres in findings.items():
        places = [w for w in wheres if w]
        if len(wheres) < len(assignments) and places:
            message += f" (with the parameters at {', '.join(places)})"
        out.append(Finding(line, message, is_gap))
    return out


def _bind(cond: Condition, values: Mapping[str, Any]) -> Condition:
    if isinstance(cond, All):
        return All(tuple(_bind(c, values) for c in cond.items))
    if isinstance(cond, AnyOf):
        return AnyOf(tuple(_bind(c, values) for c in cond.items))
    if isinstance(cond.value, FieldRef) and cond.value.field in values:
        return Test(cond.field, cond.op, values[cond.value.field])
    return cond


@dataclass(frozen=True)
class _Region:
    sample: Any
    text: str
    low: float = -math.inf  # for number regions: where it starts and ends
    high: float = math.inf
    low_in: bool = False
    high_in: bool = False


def _analyse_once(table: Table, kinds: Mapping[str, str], enums: Mapping[str, Sequence[str]],
                  bounds: Mapping[str, tuple[float | None, float | None]]) -> list[Finding]:
    columns = []
    numeric = [kinds.get(f) in (conditions.NUMBER, conditions.DATE) for f in table.inputs]
    for i, field in enumerate(table.inputs):
        tests = [t for r in table.rows for c in r.cells[i:i + 1] if c is not None for t in _tests(c)]
        if table.when:
            tests += [t for t in _tests(table.when) if t.field == field]
        if any(isinstance(v, FieldRef) for t in tests for v in _values(t)):
            return [Finding(table.line, f"not checked for gaps or overlaps: a cell of {field} "
                                        "compares with another field", True)]
        columns.append(_regions(field, kinds.get(field, conditions.TEXT), tests, enums.get(field),
                                bounds.get(field, (None, None))))
    if math.prod(len(c) for c in columns) > MAX_COMBINATIONS:
        return [Finding(table.line, f"not checked for gaps or overlaps: more than "
                                    f"{MAX_COMBINATIONS} combinations of input values", True)]
    gaps: list[tuple[int, ...]] = []
    hits: dict[tuple[int, ...], list[int]] = {}  # the rows each combination matches
    overlaps: dict[tuple[int, int], str] = {}
    for combo in itertools.product(*(range(len(c)) for c in columns)):
        sample = {f: columns[i][k].sample for i, (f, k) in enumerate(zip(table.inputs, combo, strict=True))}
        if table.when and not _may_hold(table.when, sample):
            continue
        matched = [r for r in table.rows
                   if all(c is None or conditions.evaluate(c, sample) for c in r.cells)]
        hits[combo] = [r.number for r in matched]
        if not matched:
            gaps.append(combo)
        elif table.hit == "unique":
            for a, b in itertools.combinations(matched, 2):
                overlaps.setdefault((a.number, b.number), _describe(table.inputs, columns, combo))
    rows = {r.number: r for r in table.rows}
    findings = [Finding(rows[b].line, f"rows {a} and {b} overlap (lines {rows[a].line} and {rows[b].line}), "
                                      f"e.g. both match {example}; a unique table needs exactly one row "
                                      "to match", False)
                for (a, b), example in sorted(overlaps.items())]
    if table.gaps != "ignore":
        findings += [Finding(table.line, f"gap: no row covers {text}", True)
                     for text in _merge_gaps(table.inputs, columns, numeric, gaps, hits)]
    return findings


def _tests(cond: Condition) -> list[Test]:
    if isinstance(cond, Test):
        return [cond]
    return [t for c in cond.items for t in _tests(c)]


def _values(t: Test) -> tuple[Any, ...]:
    return t.value if isinstance(t.value, tuple) else (t.value,)


def _may_hold(cond: Condition, sample: Mapping[str, Any]) -> bool:
    """`cond` evaluated on the inputs only: a test of any other field might hold."""
    if isinstance(cond, All):
        return all(_may_hold(c, sample) for c in cond.items)
    if isinstance(cond, AnyOf):
        return any(_may_hold(c, sample) for c in cond.items)
    return cond.field not in sample or conditions.evaluate(cond, sample)


def _regions(field: str, kind: str, tests: list[Test], enum: Sequence[str] | None,
             bound: tuple[float | None, float | None]) -> list[_Region]:
    if kind == conditions.BOOLEAN:
        return [_Region(True, f"{field} = true"), _Region(False, f"{field} = false")]
    if kind == conditions.LIST:
        items = sorted({str(t.value) for t in tests if t.op == "contains"})
        return [_Region([v], f"{field} contains {v}") for v in items] + [_Region([], f"{field} is empty")]
    if kind in (conditions.NUMBER, conditions.DATE):
        return _number_regions(field, tests, bound)
    if enum:
        return [_Region(v, f"{field} = {v}") for v in enum]
    named = sorted({str(v) for t in tests if t.op in ("eq", "ne", "in", "not_in") for v in _values(t)})
    prefixes = sorted({f"{t.value}~" for t in tests if t.op == "prefix"})
    return ([_Region(v, f"{field} = {v}") for v in named]
            + [_Region(p, f"{field} starting {p[:-1]}") for p in prefixes]
            + [_Region("\x00other", f"{field} any other value")])


def _number_regions(field: str, tests: list[Test], bound: tuple[float | None, float | None]
                    ) -> list[_Region]:
    low, high = bound
    points = sorted({float(v) for t in tests for v in _values(t)
                     if isinstance(v, int | float) and not isinstance(v, bool)
                     and (low is None or v >= low) and (high is None or v <= high)})
    lo = -math.inf if low is None else float(low)
    hi = math.inf if high is None else float(high)
    regions: list[_Region] = []

    def between(a: float, a_in: bool, b: float, b_in: bool) -> None:
        if a > b or (a == b and not (a_in and b_in)):
            return
        if a == b:
            regions.append(_Region(a, "", a, b, True, True))
            return
        sample = a if a_in else b if b_in else (a + b) / 2 if math.isfinite(a) and math.isfinite(b) \
            else (b - 1 if math.isfinite(b) else a + 1 if math.isfinite(a) else 0.0)
        regions.append(_Region(sample, "", a, b, a_in, b_in))

    edge, edge_in = lo, low is not None
    for p in points:
        between(edge, edge_in, p, False)
        regions.append(_Region(p, "", p, p, True, True))
        edge, edge_in = p, False
    between(edge, edge_in, hi, high is not None)
    return [_Region(r.sample, _interval(field, r), r.low, r.high, r.low_in, r.high_in) for r in regions]


def _interval(field: str, r: _Region) -> str:
    def show(v: float) -> str:
        return f"{v:,.0f}" if float(v).is_integer() else f"{v:,}"

    if r.low == r.high:
        return f"{field} = {show(r.low)}"
    if not math.isfinite(r.low):
        return f"{field} {'<=' if r.high_in else '<'} {show(r.high)}"
    if not math.isfinite(r.high):
        return f"{field} {'>=' if r.low_in else '>'} {show(r.low)}"
    return f"{field} in {'[' if r.low_in else '('}{show(r.low)}, {show(r.high)}{']' if r.high_in else ')'}"


def _describe(inputs: Sequence[str], columns: Sequence[list[_Region]], combo: Sequence[int]) -> str:
    parts = []
    for i, k in enumerate(combo):
        r = columns[i][k]
        sample = r.sample
        if isinstance(sample, float) and sample.is_integer():
            sample = int(sample)
        parts.append(f"{inputs[i]} = {sample}" if r.low == r.high or not isinstance(sample, float | int)
                     or isinstance(sample, bool) else f"{inputs[i]} = {sample:,}")
    return ", ".join(parts)


def _merge_gaps(inputs: Sequence[str], columns: Sequence[list[_Region]], numeric: Sequence[bool],
                gaps: list[tuple[int, ...]], hits: Mapping[tuple[int, ...], list[int]]) -> list[str]:
    """Adjacent gaps along the first number column become one range, named with the rows
    that cover the values just below and just above it."""
    axis = next((i for i, n in enumerate(numeric) if n), None)
    if axis is None:
        return [", ".join(columns[i][k].text for i, k in enumerate(g)) for g in gaps]
    runs: dict[tuple[int, ...], list[list[int]]] = {}
    for g in gaps:  # product order: along the last columns first, so sort by the rest then the axis
        rest = g[:axis] + g[axis + 1:]
        found = runs.setdefault(rest, [])
        if found and found[-1][-1] == g[axis] - 1:
            found[-1].append(g[axis])
        else:
            found.append([g[axis]])
    out = []
    for rest, seqs in runs.items():
        for run in seqs:
            first, last = columns[axis][run[0]], columns[axis][run[-1]]
            merged = _Region(first.sample, "", first.low, last.high, first.low_in, last.high_in)
            parts = [columns[i][k].text for i, k in enumerate(rest[:axis])]
            parts.append(_interval(inputs[axis], merged))
            parts += [columns[i + 1][k].text for i, k in enumerate(rest[axis:], start=axis)]
            below = hits.get((*rest[:axis], run[0] - 1, *rest[axis:]), []) if run[0] else []
            above = hits.get((*rest[:axis], run[-1] + 1, *rest[axis:]), [])
            sides = [f"{where} row {', '.join(map(str, rows))}"
                     for where, rows in (("after", below), ("before", above)) if rows]
            out.append(", ".join(parts) + (f" ({' and '.join(sides)})" if sides else ""))
    return out
