"""Test cases that sit beside the rule files, as `opa test` does for policies.

A `*_test.yaml` file holds `defaults:` (facts every case starts from) and `tests:`, each with
a `name`, the `facts` of one request (the same field names the rules use) and what the
decision must be:

    defaults: {channel: teller, trigger_codes: []}
    tests:
      - name: a large cash withdrawal goes to a remote authorizer
        facts: {transaction.code: CASH_WITHDRAWAL, transaction.amount: 80000}
        expect: {outcome: remote, level: 1, scene: cash-withdrawal, fired: [cash-withdrawal-large]}

`fired` is the exact set of trigger rules that fire; `reasons` maps a rule id to the exact
line a channel would show; `images` lists image kinds that must be required, or gives the
whole requirement tree (`{all_of: [...]}`) to be matched exactly; `review_points` lists points
that must be shown, or `{exactly: [...]}` all of them in order.

A test may give `history:`, the customer's earlier transactions with their times, instead of
typing the counters' totals: they go through the customer's real window (rules/history.py),
as the service would count them. `columns:` and `rows:` make one test of many fact rows.

Tests are strict: an unknown fact, rule id, outcome, scene or image kind, or a value of the
wrong type for its fact, refuses the test file, since such a test would pass testing nothing.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foureyes.errors import InvalidRequest, RuleError, RuleSetError
from foureyes.rules import conditions, facts, files
from foureyes.rules.book import RuleBook
from foureyes.rules.files import RuleSet
from foureyes.rules.history import CustomerWindow
from foureyes.rules.model import Combination, Decision, ImageNode

EXPECT_KEYS = ("outcome", "level", "approvers", "priority", "sla_seconds", "scene", "fired",
               "reasons", "images", "review_points")
TEST_KEYS = ("name", "description", "facts", "expect", "at", "history", "columns", "rows")
OUTCOMES = ("none", "onsite", "remote", "reject")
DEFAULT_AT = "2026-11-23 12:00:00"  # a Monday noon, far from midnight, unless a test says when
_DURATION = re.compile(r"(\d+)([dhms])")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True)
class Earlier:
    """One of the customer's earlier transactions in a sequence test."""

    at: float
    key: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class RuleTest:
    name: str
    file: str
    line: int
    facts: dict[str, Any]
    expect: dict[str, Any]
    at: float = 0.0
    history: tuple[Earlier, ...] | None = None  # None: the facts give history.* themselves

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class TestReport:
    __test__ = False  # not a pytest class

    passed: list[RuleTest] = field(default_factory=list)
    failed: list[tuple[RuleTest, list[str]]] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)  # rule ids no test made fire

    @property
    def ok(self) -> bool:
        return not self.failed


def load_tests(directory: str | Path, book: RuleBook) -> list[RuleTest]:
    """Every test case under `directory`, checked against `book`'s rule set; raise
    RuleSetError listing every malformed one."""
    tests: list[RuleTest] = []
    problems: list[RuleError] = []
    for path in files.test_files(Path(directory)):
        try:
            doc = files.read_yaml(path) or {}
        except RuleError as e:
            problems.append(e)
            continue
        tests.extend(_Reader(str(path), book.ruleset, problems).read(doc))
    if problems:
        raise RuleSetError(problems)
    return tests


class _Reader:
    def __init__(self, file: str, rs: RuleSet, problems: list[RuleError]) -> None:
        self.file, self.rs, self.problems = file, rs, problems
        self.ok = True

    def problem(self, node: Any, name: str, message: str, line: int = 0) -> None:
        self.problems.append(RuleError(self.file, line or conditions.line_of(node, 1), name, message))
        self.ok = False

    def read(self, doc: Any) -> list[RuleTest]:
        if not isinstance(doc, dict) or not isinstance(doc.get("tests"), list):
            self.problem(doc, "", "a test file needs a `tests:` list")
            return []
        unknown = sorted(set(doc) - {"defaults", "tests"})
        if unknown:
            self.problem(doc, "", f"unknown section(s) {', '.join(unknown)} (use defaults, tests)")
        defaults = doc.get("defaults", {})
        if not isinstance(defaults, dict):
            self.problem(doc, "", "defaults must be a mapping of facts")
            defaults = {}
        self.facts(defaults, "defaults")
        out = []
        for item in doc["tests"]:
            out += self.test(item, defaults)
        return out

    def test(self, item: Any, defaults: dict[str, Any]) -> list[RuleTest]:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            self.problem(item, "", "every test needs a name")
            return []
        self.ok = True
        for key in sorted(set(item) - set(TEST_KEYS), key=str):
            self.problem(item, name, f"unknown key {key} (use {', '.join(TEST_KEYS)})",
                         conditions.key_line(item, key, 0))
        given, expect = item.get("facts", {}), item.get("expect", {})
        if not isinstance(given, dict) or not isinstance(expect, dict) or not (expect or "rows" in item):
            self.problem(item, name, "a test needs `facts:` (a mapping) and `expect:` (a mapping)")
            return []
        self.facts(given, name)
        self.expectation(expect, name)
        at = self.moment(item.get("at", DEFAULT_AT), None, name, item)
        history = None
        if "history" in item:
            history = self.history(item["history"], defaults, at, name)
            typed = sorted(k for k in given if k.startswith("history."))
            if typed:
                self.problem(item, name, f"give either `history:` or the totals ({', '.join(typed)}), "
                                         "not both")
        line = conditions.line_of(item, 0)
        cases = [(name, line, given, expect)]
        if "rows" in item or "columns" in item:
            cases = self.rows(item, name, given, expect)
        if not self.ok:
            return []
        return [RuleTest(n, self.file, ln, {**defaults, **f}, dict(e), at, history)
                for n, ln, f, e in cases]

    def rows(self, item: dict[str, Any], name: str, given: dict[str, Any], expect: dict[str, Any]
             ) -> list[tuple[str, int, dict[str, Any], dict[str, Any]]]:
        columns, rows = item.get("columns"), item.get("rows")
        if not (isinstance(columns, list) and columns and isinstance(rows, list) and rows):
            self.problem(item, name, "a parameterised test needs `columns: [...]` and `rows: [[...], ...]`")
            return []
        out = []
        for row in rows:
            if not isinstance(row, list) or len(row) != len(columns):
                self.problem(row, name, f"each row has {len(columns)} cells ({', '.join(map(str, columns))})",
                             conditions.line_of(row, conditions.line_of(rows, 0)))
                continue
            cells = dict(zip(columns, row, strict=True))
            row_facts = {k: v for k, v in cells.items() if k not in EXPECT_KEYS}
            row_expect = {k: v for k, v in cells.items() if k in EXPECT_KEYS}
            self.facts(row_facts, name, conditions.line_of(row, 0))
            self.expectation(row_expect, name)
            label = ", ".join(f"{k}={v}" for k, v in row_facts.items())
            out.append((f"{name} [{label}]", conditions.line_of(row, 0), {**given, **row_facts},
                        {**expect, **row_expect}))
        return out

    def facts(self, given: dict[str, Any], name: str, line: int = 0) -> None:
        """Every key a field the rules know, every value of the type a request would carry."""
        for key, value in given.items():
            at = line or conditions.key_line(given, key, conditions.line_of(given, 0))
            kind = self.rs.fields.get(key)
            if kind is None:
                self.problem(given, name, f"unknown fact {key!r}: no rule reads it, so this test "
                                          "would test nothing", at)
                continue
            why = self._wrong_type(key, kind, value)
            if why:
                self.problem(given, name, f"{key}: {why}", at)

    def _wrong_type(self, key: str, kind: str, value: Any) -> str:
        declared = self.rs.facts.get(key)
        if declared is not None and not declared.builtin:
            try:
                facts.convert(declared, value)
            except ValueError as e:
                return str(e)
            return ""
        if kind == conditions.NUMBER and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"{value!r} is not a number"
        if kind == conditions.LIST and not isinstance(value, list):
            return f"{value!r} is not a list"
        if kind == conditions.TEXT:
            if not isinstance(value, str):
                hint = ("; a request carries it as text — declare it in `facts:` with a type"
                        if key.startswith("extra.") else "")
                return f"{value!r} is not text{hint}"
            allowed = self.rs.enums.get(key)
            if allowed and value not in allowed:
                return f"unknown value {value!r} — one of {', '.join(allowed)}"
        return ""

    def expectation(self, expect: dict[str, Any], name: str) -> None:
        rs = self.rs

        def at(key: str) -> int:
            return conditions.key_line(expect, key, conditions.line_of(expect, 0))

        for key in sorted(set(expect) - set(EXPECT_KEYS), key=str):
            self.problem(expect, name, f"unknown expectation(s) {key} (use {', '.join(EXPECT_KEYS)})",
                         at(key))
        if "outcome" in expect and expect["outcome"] not in OUTCOMES:
            self.problem(expect, name, f"unknown outcome {expect['outcome']!r} — one of "
                                       f"{', '.join(OUTCOMES)}", at("outcome"))
        if expect.get("scene") and expect["scene"] not in rs.scenes:
            self.problem(expect, name, f"unknown scene {expect['scene']!r}", at("scene"))
        ids = set(rs.triggers) | {f"scene:{s}" for s in rs.scenes}
        for key, shape in (("fired", list), ("reasons", dict)):
            value = expect.get(key) or shape()
            if not isinstance(value, shape):
                self.problem(expect, name, f"{key} must be a {'list' if shape is list else 'mapping'}",
                             at(key))
                continue
            for rid in value:
                if rid not in ids:
                    self.problem(expect, name, f"{key}: unknown rule {rid!r}", at(key))
        images = expect.get("images")
        if isinstance(images, list):
            for kind in images:
                if kind not in rs.image_kinds:
                    self.problem(expect, name, f"images: unknown image kind {kind!r}", at("images"))
        elif isinstance(images, dict):
            files.image_node(rs.image_kinds, images, at("images"),
                             lambda line, message: self.problem(expect, name, f"images: {message}", line))
        elif images is not None:
            self.problem(expect, name, "images is a list of kinds or a requirement tree", at("images"))
        points = expect.get("review_points")
        exact = isinstance(points, dict) and set(points) == {"exactly"} \
            and isinstance(points["exactly"], list)
        if points is not None and not (isinstance(points, list) or exact):
            self.problem(expect, name, "review_points is a list, or {exactly: [...]}", at("review_points"))

    def moment(self, value: Any, day: dt.date | None, name: str, node: Any) -> float:
        """`2026-11-23 09:30`, or `09:30` on the test's day; local time, as the service counts."""
        if isinstance(value, dt.datetime):
            return value.timestamp()
        if isinstance(value, str):
            try:
                if day is not None and len(value) <= 8:
                    return dt.datetime.combine(day, dt.time.fromisoformat(value)).timestamp()
                return dt.datetime.fromisoformat(value).timestamp()
            except ValueError:
                pass
        self.problem(node, name, f"at: {value!r} is not a time; write \"2026-11-23 09:30\", or "
                                 "\"09:30\" in a history entry (in quotes: YAML reads 10:30 as a number)")
        return 0.0

    def history(self, entries: Any, defaults: dict[str, Any], now: float, name: str
                ) -> tuple[Earlier, ...]:
        if not isinstance(entries, list):
            self.problem(entries, name, "history is a list of earlier transactions")
            return ()
        day = dt.datetime.fromtimestamp(now).date()
        out: list[Earlier] = []
        last = -math.inf
        for i, entry in enumerate(entries, start=1):
            if not isinstance(entry, dict) or ("at" in entry) == ("ago" in entry):
                self.problem(entry, name, "each earlier transaction gives `at:` or `ago:` (e.g. 30m) "
                                          "and its facts")
                continue
            if "ago" in entry:
                ago = _seconds(entry["ago"])
                if ago is None:
                    self.problem(entry, name, f"ago: {entry['ago']!r} is not a duration like 30m or 1h5s")
                    continue
                at = now - ago
            else:
                at = self.moment(entry["at"], day, name, entry)
            if at < last or at > now:
                self.problem(entry, name, "earlier transactions come in time order, before the test's own")
            last = at
            given = {k: v for k, v in entry.items() if k not in ("at", "ago", "key")}
            self.facts(given, name, conditions.line_of(entry, 0))
            out.append(Earlier(at, str(entry.get("key", f"earlier-{i}")), {**defaults, **given}))
        return tuple(out)


def _seconds(text: Any) -> int | None:
    text = str(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(n) * _UNITS[u] for n, u in parts)


def run_tests(book: RuleBook, tests: list[RuleTest]) -> TestReport:
    report = TestReport()
    exercised: set[str] = set()
    for test in tests:
        try:
            decision = book.evaluate(facts_of(book, test))
        except InvalidRequest as e:  # what the gateway would refuse
            report.failed.append((test, [f"the request would be refused: {e}"]))
            continue
        exercised.update(f.id for f in decision.fired)
        exercised.update(decision.image_rules)
        problems = check(decision, test.expect)
        if problems:
            report.failed.append((test, problems))
        else:
            report.passed.append(test)
    rs = book.ruleset
    report.uncovered = [r.id for r in rs.rules if r.id not in exercised]
    return report


def facts_of(book: RuleBook, test: RuleTest) -> Mapping[str, Any]:
    """The facts as the gateway would hand them to the rules: declared attributes converted,
    and with a `history:` the totals of the customer's window, counted by its own code."""
    seen = book.coerce(test.facts)
    if test.history is None:
        return seen
    window = CustomerWindow("test", -math.inf)
    for earlier in test.history:
        counts = book.counter_contributions(book.coerce(earlier.facts))
        if counts:
            window.observe(earlier.key, earlier.at, counts, book.windows)
    counts = book.counter_contributions(seen)
    if not counts:  # as the gateway: totals are looked up only for a transaction that counts
        return seen
    _, totals = window.observe("this test", test.at, counts, book.windows)
    return {**seen, **{f"history.{c}": v for c, v in totals.items()}}


def check(d: Decision, expect: Mapping[str, Any]) -> list[str]:
    """What differs between the decision and the expectation, one line per difference."""
    actual: dict[str, Any] = {
        "outcome": d.outcome.name.lower(), "level": d.level, "approvers": d.approvers,
        "priority": d.priority, "sla_seconds": d.sla_seconds,
        "scene": d.scene.id if d.scene else "",
    }
    problems = []
    for key in ("outcome", "level", "approvers", "priority", "sla_seconds", "scene"):
        if key in expect and str(expect[key]) != str(actual[key]):
            problems.append(f"{key}: expected {expect[key]}, got {actual[key] or '(none)'}")
    fired = {f.id for f in d.fired}
    if "fired" in expect:
        want = set(expect["fired"] or [])
        if want != fired:
            extra, missing = sorted(fired - want), sorted(want - fired)
            problems.append("fired: " + "; ".join(
                part for part in (f"also fired {', '.join(extra)}" if extra else "",
                                  f"did not fire {', '.join(missing)}" if missing else "") if part))
    reasons = {f.id: f.reason for f in d.fired}
    for rule, text in (expect.get("reasons") or {}).items():
        if reasons.get(rule) != text:
            problems.append(f"reason of {rule}: expected {text!r}, got {reasons.get(rule)!r}")
    images = expect.get("images")
    if isinstance(images, dict):
        want_tree = files.image_node({}, images, 0, lambda *_: None, check_kinds=False)
        if want_tree is None or normal(want_tree) != normal(d.images):
            problems.append(f"images: expected {describe(want_tree)}, got {describe(d.images)}")
    else:
        kinds = _kinds(d.images)
        missing_kinds = [k for k in images or [] if k not in kinds]
        if missing_kinds:
            problems.append(f"images: {', '.join(missing_kinds)} not required "
                            f"(required: {', '.join(sorted(kinds)) or 'none'})")
    points = expect.get("review_points")
    if isinstance(points, dict):
        if list(points["exactly"]) != list(d.review_points):
            problems.append(f"review_points: expected exactly {points['exactly']}, "
                            f"got {list(d.review_points)}")
    else:
        missing_points = [p for p in points or [] if p not in d.review_points]
        if missing_points:
            problems.append(f"review_points: missing {missing_points}")
    return problems


def normal(node: ImageNode | None) -> ImageNode | None:
    """The same requirement written one way: nested all_of (any_of) merged into their parent,
    children in a fixed order, one child unwrapped."""
    if node is None or node.combination is Combination.LEAF:
        return node
    children: list[ImageNode] = []
    for child in (normal(c) for c in node.of):
        if child is None:
            continue
        if child.combination is node.combination and node.combination is not Combination.AT_LEAST:
            children.extend(child.of)
        else:
            children.append(child)
    unique = sorted(set(children), key=repr)
    if len(unique) == 1 and node.combination is not Combination.AT_LEAST:
        return unique[0]
    return ImageNode(node.combination, at_least=node.at_least, of=tuple(unique))


def describe(node: ImageNode | None) -> str:
    """A requirement on one line, e.g. `all of (id_document/passport, cash_voucher)`."""
    if node is None:
        return "no images"
    if node.combination is Combination.LEAF:
        return f"{node.kind}/{node.type}" if node.type else node.kind
    head = f"at least {node.at_least} of" if node.combination is Combination.AT_LEAST else \
        node.combination.value.replace("_", " ")
    return f"{head} ({', '.join(describe(c) for c in node.of)})"


def _kinds(node: ImageNode | None) -> set[str]:
    if node is None:
        return set()
    return {node.kind} if node.kind else set().union(*(_kinds(n) for n in node.of))
