"""Why a decision came out as it did: every rule, fired or not, test by test."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from foureyes.rules import conditions
from foureyes.rules.book import RuleBook
from foureyes.rules.conditions import All, AnyOf, Condition, FieldRef, Test


def explain(book: RuleBook, facts: Mapping[str, Any]) -> list[str]:
    rs = book.ruleset
    d = book.evaluate(facts)
    seen = book.facts_for(facts)
    lines = [f"decision: {d.outcome.name}" + (
        f"  level {d.level}  approvers {d.approvers}  priority {d.priority}  "
        f"sla {d.sla_seconds}s  scene {d.scene.id}" if d.scene else ""),
        f"rule set: {rs.source} (version {d.rules_version})"]
    if d.images:
        lines.append(f"images: {d.images.to_dict()}")
    for point in d.review_points:
        lines.append(f"review: {point}")
    reasons = {f.id: f.reason for f in d.fired}
    for f in d.fired:
        if f.id not in rs.triggers:  # e.g. scene:<id>, a scene not offered on this channel
            lines.append(f"! {f.id}: {f.reason}")
    fired = set(reasons) | set(d.image_rules)
    for kind, title in (("trigger", "trigger rules"), ("image", "image rules")):
        lines.append(f"{title}:")
        for rule in (r for r in rs.rules if r.kind == kind):
            src = rs.triggers.get(rule.id) or rs.image_rules[rule.id]
            where = f"{Path(src.file).name}:{src.line}"
            holds = conditions.evaluate(rule.condition, seen)
            mark = "FIRED" if rule.id in fired else ("holds" if holds else "no")
            # an image rule that holds adds images only when its scene is the case's
            head = f"  [{mark}] {rule.id} ({where})"
            lines.append(head + (f": {reasons[rule.id]}" if rule.id in reasons else ""))
            lines.extend(_tests(rule.condition, seen, "      "))
    return lines


def _tests(cond: Condition, facts: Mapping[str, Any], indent: str, top: bool = True) -> list[str]:
    if isinstance(cond, All | AnyOf):
        # a rule's own `when` is already "all of"; say so only for nested groups
        header = not (top and isinstance(cond, All))
        out = [f"{indent}{'all of' if isinstance(cond, All) else 'any of'}:"] if header else []
        for c in cond.items:
            out.extend(_tests(c, facts, indent + ("  " if header else ""), top=False))
        return out
    return [f"{indent}{'✓' if conditions.evaluate(cond, facts) else '✗'} {_describe(cond, facts)}"]


def _describe(t: Test, facts: Mapping[str, Any]) -> str:
    actual = facts.get(t.field, "(missing)")
    value: Any = t.value
    if isinstance(value, FieldRef):
        value = f"{value.field} = {facts.get(value.field, '(missing)')}"
    elif isinstance(value, tuple):
        value = f"[{', '.join(map(str, value))}]"
    return f"{t.field} {t.op} {value}  (is {actual})"
