"""Whether the images a case holds satisfy its requirement tree, and what it still lacks.

The tree is the image model's requirement as a case keeps it (ImageNode.to_dict()): leaves
`{kind, type?}`, combinations `all_of`, `any_of`, `at_least` + `of`. An image satisfies a
leaf of its kind whose type is empty or its own. One image may count for several leaves (a
passport for both "an ID document" and "a passport"): the model names what must be seen, not
how many files carry it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

Have = Collection[tuple[str, str]]  # (kind, type) of each image the case holds


def leaf_name(node: dict[str, Any]) -> str:
    return f"{node['kind']}/{node['type']}" if node.get("type") else str(node["kind"])


def _children(node: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """A combination's children and how many of them must hold."""
    if "at_least" in node:
        return list(node["of"]), int(node["at_least"])
    if "all_of" in node:
        return list(node["all_of"]), len(node["all_of"])
    return list(node["any_of"]), 1


def satisfied(node: dict[str, Any] | None, have: Have) -> bool:
    if node is None:
        return True
    if "kind" in node:
        return any(k == node["kind"] and (not node.get("type") or t == node["type"])
                   for k, t in have)
    children, need = _children(node)
    return sum(satisfied(c, have) for c in children) >= need


def lacking(node: dict[str, Any] | None, have: Have) -> list[str]:
    """What is still missing, one line per unmet part, e.g. `cash_voucher/withdrawal_slip`,
    `one of: id_document/id_card_front, id_document/passport`, `2 more of: ...`."""
    if node is None or satisfied(node, have):
        return []
    if "kind" in node:
        return [leaf_name(node)]
    children, need = _children(node)
    if "all_of" in node:
        return [line for c in children for line in lacking(c, have)]
    unmet = [c for c in children if not satisfied(c, have)]
    short = need - (len(children) - len(unmet))
    names = ", ".join(_name(c) for c in unmet)
    return [f"one of: {names}" if short == 1 else f"{short} more of: {names}"]


def _name(node: dict[str, Any]) -> str:
    if "kind" in node:
        return leaf_name(node)
    children, need = _children(node)
    word = "all of" if "all_of" in node else "one of" if "any_of" in node else f"{need} of"
    return f"({word} {', '.join(_name(c) for c in children)})"


def answers(entry: str, kind: str, type_: str) -> bool:
    """Whether an image of (kind, type) answers a seat's `missing` entry, when the entry names
    an image as `kind` or `kind/type` (free text answers nothing)."""
    want_kind, _, want_type = entry.partition("/")
    return want_kind == kind and (not want_type or want_type == type_)
