"""Test cases that sit beside the rule files, as `opa test` does for policies.

A `*_test.yaml` file holds `defaults:` (facts every case starts from) and `tests:`, each with
a `name`, the `facts` of one request (the same field names the rules use, history included)
and what the decision must be:

    defaults: {channel: teller, trigger_codes: []}
    tests:
      - name: a large cash withdrawal goes to a remote authorizer
        facts: {transaction.code: CASH_WITHDRAWAL, transaction.amount: 80000}
        expect: {outcome: remote, level: 1, scene: cash-withdrawal, fired: [cash-withdrawal-large]}

`fired` is the exact set of trigger rules that fire; `images` lists image kinds that must be
required; `reasons` maps a rule id to the exact line a channel would show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foureyes.errors import RuleError, RuleSetError
from foureyes.rules import conditions, files
from foureyes.rules.book import RuleBook
from foureyes.rules.model import Decision, ImageNode

EXPECT_KEYS = ("outcome", "level", "approvers", "priority", "sla_seconds", "scene", "fired",
               "reasons", "images", "review_points")


@dataclass(frozen=True)
class RuleTest:
    name: str
    file: str
    line: int
    facts: dict[str, Any]
    expect: dict[str, Any]

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


def load_tests(directory: str | Path) -> list[RuleTest]:
    """Every test case under `directory`; raise RuleSetError listing every malformed one."""
    tests: list[RuleTest] = []
    problems: list[RuleError] = []
    for path in files.test_files(Path(directory)):
        try:
            doc = files.read_yaml(path) or {}
        except RuleError as e:
            problems.append(e)
            continue
        tests.extend(_parse_file(str(path), doc, problems))
    if problems:
        raise RuleSetError(problems)
    return tests


def _parse_file(file: str, doc: Any, problems: list[RuleError]) -> list[RuleTest]:
    def problem(node: Any, name: str, message: str) -> None:
        problems.append(RuleError(file, conditions.line_of(node, 1), name, message))

    if not isinstance(doc, dict) or not isinstance(doc.get("tests"), list):
        problem(doc, "", "a test file needs a `tests:` list")
        return []
    unknown = sorted(set(doc) - {"defaults", "tests"})
    if unknown:
        problem(doc, "", f"unknown section(s) {', '.join(unknown)} (use defaults, tests)")
    defaults = doc.get("defaults", {})
    if not isinstance(defaults, dict):
        problem(doc, "", "defaults must be a mapping of facts")
        defaults = {}
    out = []
    for item in doc["tests"]:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            problem(item, "", "every test needs a name")
            continue
        facts, expect = item.get("facts", {}), item.get("expect")
        if not isinstance(facts, dict) or not isinstance(expect, dict) or not expect:
            problem(item, name, "a test needs `facts:` (a mapping) and `expect:` (a mapping)")
            continue
        bad = sorted(set(expect) - set(EXPECT_KEYS))
        if bad:
            problem(expect, name, f"unknown expectation(s) {', '.join(bad)} "
                                  f"(use {', '.join(EXPECT_KEYS)})")
            continue
        out.append(RuleTest(name, file, conditions.line_of(item, 0),
                            {**defaults, **facts}, dict(expect)))
    return out


def run_tests(book: RuleBook, tests: list[RuleTest]) -> TestReport:
    report = TestReport()
    exercised: set[str] = set()
    for test in tests:
        decision = book.evaluate(test.facts)
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
    kinds = _kinds(d.images)
    missing_kinds = [k for k in expect.get("images") or [] if k not in kinds]
    if missing_kinds:
        problems.append(f"images: {', '.join(missing_kinds)} not required "
                        f"(required: {', '.join(sorted(kinds)) or 'none'})")
    missing_points = [p for p in expect.get("review_points") or [] if p not in d.review_points]
    if missing_points:
        problems.append(f"review_points: missing {missing_points}")
    return problems


def _kinds(node: ImageNode | None) -> set[str]:
    if node is None:
        return set()
    return {node.kind} if node.kind else set().union(*(_kinds(n) for n in node.of))
