"""What a rule set is made of, once loaded: plain frozen dataclasses, no YAML, no durable_rules."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Outcome(enum.IntEnum):
    """Ordered by strictness so that combining fired rules is `max`."""

    NONE = 0
    ONSITE = 1
    REMOTE = 2
    REJECT = 3


class Combination(enum.Enum):
    LEAF = "leaf"
    ALL_OF = "all_of"
    ANY_OF = "any_of"
    AT_LEAST = "at_least"


@dataclass(frozen=True)
class ImageNode:
    """One node of an image requirement: a leaf (kind, optional type) or a combination."""

    combination: Combination
    kind: str = ""
    type: str = ""
    at_least: int = 0
    of: tuple[ImageNode, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        if self.combination is Combination.LEAF:
            return {"kind": self.kind, "type": self.type} if self.type else {"kind": self.kind}
        d: dict[str, Any] = {self.combination.value: [n.to_dict() for n in self.of]}
        if self.combination is Combination.AT_LEAST:
            d = {"at_least": self.at_least, "of": d["at_least"]}
        return d

    @staticmethod
    def all_of(nodes: list[ImageNode]) -> ImageNode | None:
        unique = list(dict.fromkeys(nodes))
        if not unique:
            return None
        return unique[0] if len(unique) == 1 else ImageNode(Combination.ALL_OF, of=tuple(unique))


@dataclass(frozen=True)
class Scene:
    id: str
    name: str
    category: str
    business_type: str
    channels: frozenset[str]
    images: ImageNode | None
    review_points: tuple[str, ...]
    # (code, text): the reasons a seat may reject with, offered as a list
    reject_reasons: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Trigger:
    id: str
    description: str
    outcome: Outcome
    level: int
    approvers: int
    priority: int
    sla_seconds: int
    scene: str
    reason: str
    file: str
    line: int


@dataclass(frozen=True)
class ImageRule:
    """An extra image a scene requires when a condition holds (e.g. video above 200,000)."""

    id: str
    scene: str
    require: ImageNode
    file: str
    line: int


@dataclass(frozen=True)
class Counter:
    """A per-customer history counter: the sum of a field, or a count, over the customer's
    transactions that match its condition within a window."""

    id: str
    sum_field: str  # empty: count
    window_seconds: int  # 0: today, since local midnight
    file: str
    line: int


ORG_LEVELS = ("head_office", "legal_entity", "branch", "outlet")


@dataclass(frozen=True)
class OrgUnit:
    """A node of the bank's organisation; parameters may be overridden at any node."""

    id: str
    level: str
    parent: str


@dataclass(frozen=True)
class FiredRule:
    id: str
    reason: str


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    level: int = 0
    approvers: int = 0
    priority: int = 0
    sla_seconds: int = 0
    scene: Scene | None = None
    images: ImageNode | None = None
    review_points: tuple[str, ...] = ()
    fired: tuple[FiredRule, ...] = ()
    image_rules: tuple[str, ...] = ()  # the image rules that added to `images`
    rules_version: str = ""
