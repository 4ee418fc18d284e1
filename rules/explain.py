"""Why a decision came out as it did: every rule, fired or not, test by test."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from foureyes.rules import conditions
from foureyes.rules import facts as declared
from foureyes.rules.book import RuleBook
from foureyes.rules.conditions import All, AnyOf, Condition, FieldRef, Test
from foureyes.rules.model import Combination, ImageNode


def explain(book: RuleBook, facts: Mapping[str, Any]) -> list[str]:
    rs = book.ruleset
    facts = book.coerce(dict(facts))  # as the gateway: declared attributes from text to their types
    d = book.evaluate(facts)
    seen = book.facts_for(facts)
    lines = [f"decision: {d.outcome.name}" + (
        f"  level {d.level}  approvers {d.approvers}  priority {d.priority}  "
        f"sla {d.sla_seconds}s  scene {d.scene.id}" if d.scene else ""),
        f"rule set: {rs.source} (version {d.rules_version})"]
    if d.images:
        lines.append("images:")
        lines.extend(image_tree(d.images, "  "))
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
            if rule.id in rs.row_of:
                table, row = rs.row_of[rule.id]
                where += f", table {table} row {row + 1}, hit policy {rs.tables[table].hit}"
            holds = conditions.evaluate(rule.condition, seen)
            mark = "FIRED" if rule.id in fired else ("holds" if holds else "no")
            # an image rule that holds adds images only when its scene is the case's
            head = f"  [{mark}] {rule.id} ({where})"
            lines.append(head + (f": {reasons[rule.id]}" if rule.id in reasons else ""))
            lines.extend(_tests(rule.condition, seen, "      ", rs.personal))
    return lines


def image_tree(node: ImageNode, indent: str) -> list[str]:
    """The requirement as an indented tree, one leaf (kind / type) per line."""
    if node.combination is Combination.LEAF:
        return [f"{indent}{node.kind}" + (f" / {node.type}" if node.type else "")]
    head = (f"at least {node.at_least} of" if node.combination is Combination.AT_LEAST
            else node.combination.value.replace("_", " "))
    children: list[ImageNode] = []
    for c in node.of:  # all of (all of (a, b), c) reads as all of (a, b, c)
        same = c.combination is node.combination and c.combination is not Combination.AT_LEAST
        children.extend(c.of if same else (c,))
    return [f"{indent}{head}:"] + [line for c in children for line in image_tree(c, indent + "  ")]


def _tests(cond: Condition, facts: Mapping[str, Any], indent: str, personal: frozenset[str],
           top: bool = True) -> list[str]:
    if isinstance(cond, All | AnyOf):
        # `top`: already inside "all of" (a rule's own `when`), where a nested all-of adds nothing
        header = not (top and isinstance(cond, All))
        out = [f"{indent}{'all of' if isinstance(cond, All) else 'any of'}:"] if header else []
        for c in cond.items:
            out.extend(_tests(c, facts, indent + ("  " if header else ""), personal,
                              top=isinstance(cond, All)))
        return out
    mark = "✓" if conditions.evaluate(cond, facts) else "✗"
    return [f"{indent}{mark} {_describe(cond, facts, personal)}"]


def _describe(t: Test, facts: Mapping[str, Any], personal: frozenset[str]) -> str:
    def shown(name: str) -> Any:
        if name not in facts:
            return "(missing)"
        return declared.mask(facts[name]) if name in personal else facts[name]

    actual = shown(t.field)
    value: Any = t.value
    if t.field in personal and t.op in ("eq", "ne", "in", "not_in", "prefix", "matches"):
        value = "(personal)"  # the rule's own value can be the data itself, e.g. a card number
    elif isinstance(value, FieldRef):
        value = f"{value.field} = {shown(value.field)}"
    elif isinstance(value, tuple):
        value = f"[{', '.join(map(str, value))}]"
    return f"{t.field} {t.op} {value}  (is {actual})"
