"""Load and validate a directory of rule files into a RuleSet.

Every file is YAML and may hold any of these sections: `organisation`, `parameters`, `history`,
`image_kinds`, `scenes`, `triggers`. Files ending in `_test.yaml` are test cases, not rules. All problems are
collected and reported together as `file:line: rule-id: message`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from foureyes.errors import RuleError, RuleSetError
from foureyes.rules import conditions, satisfiable
from foureyes.rules.conditions import Condition, ConditionError
from foureyes.rules.model import (
    ORG_LEVELS,
    Combination,
    Counter,
    ImageNode,
    ImageRule,
    OrgUnit,
    Outcome,
    Scene,
    Trigger,
)

SECTIONS = ("organisation", "parameters", "history", "image_kinds", "scenes", "triggers")
CHANNELS = frozenset({"teller", "self_service", "mobile"})
_OUTCOMES = {"none": Outcome.NONE, "onsite": Outcome.ONSITE, "remote": Outcome.REMOTE,
             "reject": Outcome.REJECT}
_TRIGGER_KEYS = {"id", "description", "when", "outcome", "level", "approvers", "priority",
                 "sla_seconds", "scene", "reason"}
_SCENE_KEYS = {"id", "name", "category", "business_type", "channels", "images", "image_rules",
               "review_points"}


class _LineDict(dict[str, Any]):
    line = 0


class _LineList(list[Any]):
    line = 0


class _Loader(yaml.SafeLoader):
    """Keeps each mapping's and list's line so that errors can point into the file."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        d = _LineDict(super().construct_mapping(node, deep=True))  # type: ignore[arg-type]
        d.line = node.start_mark.line + 1
        return d

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> list[Any]:
        seq = _LineList(super().construct_sequence(node, deep=True))
        seq.line = node.start_mark.line + 1
        return seq


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _Loader.construct_sequence)


@dataclass
class CompiledRule:
    """A rule as durable_rules will see it: its id, what it does when it fires, its condition."""

    id: str
    kind: str  # "trigger" | "image"
    condition: Condition


@dataclass
class RuleSet:
    version: str
    source: str
    organisation: dict[str, OrgUnit] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)  # the defaults
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # param -> unit -> value
    counters: dict[str, tuple[Counter, Condition]] = field(default_factory=dict)
    image_kinds: dict[str, frozenset[str]] = field(default_factory=dict)
    scenes: dict[str, Scene] = field(default_factory=dict)
    triggers: dict[str, Trigger] = field(default_factory=dict)
    image_rules: dict[str, ImageRule] = field(default_factory=dict)
    rules: list[CompiledRule] = field(default_factory=list)


def rule_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.yaml") if not p.name.endswith("_test.yaml"))


def test_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*_test.yaml"))


def contents(directory: Path) -> dict[str, str]:
    """Every YAML file of a rule directory, rules and tests, by name: what gets published."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.yaml"))}


def read_yaml(path: Path, text: str | None = None) -> Any:
    """Parse one YAML file, keeping line numbers on every mapping and list."""
    text = path.read_text(encoding="utf-8") if text is None else text
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise RuleError(str(path), mark.line + 1 if mark else 0, "", f"bad YAML: {e}") from None


def load(directory: str | Path) -> RuleSet:
    """Load every rule file under `directory`; raise RuleSetError listing every problem."""
    directory = Path(directory)
    if not directory.is_dir():
        raise RuleSetError([RuleError(str(directory), 0, "", "not a directory")])
    files = rule_files(directory)
    if not files:
        raise RuleSetError([RuleError(str(directory), 0, "", "no rule files (*.yaml) found")])
    digest = hashlib.sha256()
    docs: list[tuple[str, dict[str, Any]]] = []
    problems: list[RuleError] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        digest.update(path.name.encode() + b"\0" + text.encode() + b"\0")
        try:
            doc = read_yaml(path, text) or {}
        except RuleError as e:
            problems.append(e)
            continue
        if not isinstance(doc, dict):
            problems.append(RuleError(str(path), 1, "", "a rule file must be a mapping of sections"))
            continue
        for key in doc:
            if key not in SECTIONS:
                problems.append(RuleError(str(path), conditions.line_of(doc, 0), "",
                                          f"unknown section {key!r} (use {', '.join(SECTIONS)})"))
        docs.append((str(path), doc))
    rs = RuleSet(version=digest.hexdigest()[:12], source=str(directory))
    _Builder(rs, problems).build(docs)
    if problems:
        raise RuleSetError(problems)
    return rs


class _Builder:
    def __init__(self, rs: RuleSet, problems: list[RuleError]) -> None:
        self.rs = rs
        self.problems = problems
        self.fields = dict(conditions.FIELDS)
        # Triggers and image rules fire under one name space; other sections have their own.
        self.ids: dict[str, set[str]] = {}
        self._org_lines: dict[str, tuple[str, int]] = {}

    def error(self, file: str, node: Any, rule_id: str, message: str, line: int = 0) -> None:
        self.problems.append(RuleError(file, line or conditions.line_of(node, 0), rule_id, message))

    def build(self, docs: list[tuple[str, dict[str, Any]]]) -> None:
        # Sections depend on each other (scenes name image kinds, triggers name scenes and
        # parameters), so read them section by section across all files.
        for section in SECTIONS:
            for file, doc in docs:
                entries = doc.get(section)
                if entries is None:
                    continue
                getattr(self, f"_{section}")(file, entries)
            if section == "organisation":
                self._link_organisation()

    def _items(self, file: str, entries: Any, section: str) -> list[dict[str, Any]]:
        if not isinstance(entries, list):
            self.error(file, entries, "", f"{section} must be a list")
            return []
        good = []
        for item in entries:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
                self.error(file, item, "", f"every entry of {section} needs an id",
                           conditions.line_of(entries, 0))
                continue
            seen = self.ids.setdefault("rules" if section in ("triggers", "image_rules") else section,
                                       set())
            if item["id"] in seen:
                self.error(file, item, item["id"], "duplicate id")
                continue
            seen.add(item["id"])
            good.append(item)
        return good

    def _unknown_keys(self, file: str, item: dict[str, Any], allowed: set[str]) -> bool:
        unknown = sorted(set(item) - allowed)
        if unknown:
            self.error(file, item, item["id"], f"unknown field(s) {', '.join(unknown)}")
        return bool(unknown)

    def _organisation(self, file: str, entries: Any) -> None:
        for item in self._items(file, entries, "organisation"):
            if self._unknown_keys(file, item, {"id", "level", "parent", "name"}):
                continue
            level = item.get("level")
            if level not in ORG_LEVELS:
                self.error(file, item, item["id"], f"level must be one of {', '.join(ORG_LEVELS)}")
                continue
            self.rs.organisation[item["id"]] = OrgUnit(item["id"], level, str(item.get("parent", "")))
            self._org_lines[item["id"]] = (file, conditions.line_of(item, 0))

    def _link_organisation(self) -> None:
        """Each unit's parent must exist and sit exactly one level up (outlet → branch →
        legal entity → head office), so that every outlet has one chain to the top."""
        units = self.rs.organisation
        for unit in list(units.values()):
            file, line = self._org_lines[unit.id]
            depth = ORG_LEVELS.index(unit.level)
            if depth == 0:
                if unit.parent:
                    self.error(file, None, unit.id, "the head office has no parent", line)
                    del units[unit.id]
                continue
            parent = units.get(unit.parent)
            if parent is None or parent.level != ORG_LEVELS[depth - 1]:
                self.error(file, None, unit.id,
                           f"a {unit.level} needs a parent that is a {ORG_LEVELS[depth - 1]}"
                           + (f"; {unit.parent!r} is not one" if unit.parent else ""), line)
                del units[unit.id]

    def _parameters(self, file: str, entries: Any) -> None:
        for item in self._items(file, entries, "parameters"):
            pid = item["id"]
            if self._unknown_keys(file, item, {"id", "default", "description", "overrides"}):
                continue
            if "default" not in item:
                self.error(file, item, pid, "a parameter needs a default")
                continue
            default = item["default"]
            self.rs.parameters[pid] = default
            overrides = item.get("overrides")
            if overrides is None:
                continue
            if not isinstance(overrides, dict) or not overrides:
                self.error(file, item, pid, "overrides must map organisation units to values")
                continue
            if _kind(default) not in ("number", "text"):
                self.error(file, item, pid, "only a number or text parameter can be overridden")
                continue
            good = {}
            for unit, value in overrides.items():
                if unit not in self.rs.organisation:
                    self.error(file, overrides, pid, f"override for unknown organisation unit {unit!r}")
                elif _kind(value) != _kind(default):
                    self.error(file, overrides, pid, f"override for {unit} is {value!r}, "
                                                     f"but the default is a {_kind(default)}")
                else:
                    good[str(unit)] = value
            self.rs.overrides[pid] = good

    def _history(self, file: str, entries: Any) -> None:
        for item in self._items(file, entries, "history"):
            if self._unknown_keys(file, item, {"id", "sum", "count", "when", "window"}):
                continue
            sum_field = item.get("sum", "")
            if bool(sum_field) == bool(item.get("count")):
                self.error(file, item, item["id"], "a counter needs either `sum: <field>` or `count: true`")
                continue
            if sum_field and self.fields.get(sum_field) != conditions.NUMBER:
                self.error(file, item, item["id"], f"sum needs a number field, not {sum_field!r}")
                continue
            window = window_seconds(item.get("window", "today"))
            if window is None:
                self.error(file, item, item["id"], "window must be `today` or a duration like 30m, "
                                                   "4h or 7d (at most 7 days)")
                continue
            cond = self._condition(file, item)
            if cond is None:
                continue
            counter = Counter(item["id"], sum_field, window, file, conditions.line_of(item, 0))
            self.rs.counters[item["id"]] = (counter, cond)
            self.fields[f"history.{item['id']}"] = conditions.NUMBER

    def _image_kinds(self, file: str, entries: Any) -> None:
        for item in self._items(file, entries, "image_kinds"):
            types = item.get("types", [])
            if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
                self.error(file, item, item["id"], "types must be a list of names")
                continue
            self.rs.image_kinds[item["id"]] = frozenset(types)

    def _scenes(self, file: str, entries: Any) -> None:
        for item in self._items(file, entries, "scenes"):
            sid = item["id"]
            if self._unknown_keys(file, item, _SCENE_KEYS):
                continue
            channels = item.get("channels", sorted(CHANNELS))
            bad = sorted(set(channels) - CHANNELS) if isinstance(channels, list) else ["?"]
            if bad:
                self.error(file, item, sid, f"unknown channel(s) {', '.join(bad)}")
            images = self._image_node(file, item, sid, item["images"]) if "images" in item else None
            points = item.get("review_points", [])
            if not isinstance(points, list) or not all(isinstance(p, str) for p in points):
                self.error(file, item, sid, "review_points must be a list of text")
                points = []
            if not isinstance(item.get("category"), str):
                self.error(file, item, sid, "a scene needs a category (the seat skill it routes to)")
            self.rs.scenes[sid] = Scene(
                id=sid, name=str(item.get("name", sid)), category=str(item.get("category", "")),
                business_type=str(item.get("business_type", "")),
                channels=frozenset(channels) - frozenset(bad), images=images,
                review_points=tuple(points),
            )
            for rule in self._items(file, item.get("image_rules", []), "image_rules"):
                if self._unknown_keys(file, rule, {"id", "when", "require"}):
                    continue
                node = self._image_node(file, rule, rule["id"], rule.get("require"))
                cond = self._condition(file, rule)
                if node is None or cond is None:
                    continue
                self.rs.image_rules[rule["id"]] = ImageRule(rule["id"], sid, node, file,
                                                            conditions.line_of(rule, 0))
                self.rs.rules.append(CompiledRule(rule["id"], "image", cond))

    def _image_node(self, file: str, parent: Any, rid: str, node: Any) -> ImageNode | None:
        where = conditions.line_of(node, conditions.line_of(parent, 0))
        if not isinstance(node, dict):
            self.error(file, parent, rid, "an image requirement is a mapping", where)
            return None
        if "kind" in node:
            kind, typ = node["kind"], node.get("type", "")
            if kind not in self.rs.image_kinds:
                self.error(file, node, rid, f"unknown image kind {kind!r}")
                return None
            if typ and typ not in self.rs.image_kinds[kind]:
                self.error(file, node, rid, f"image kind {kind!r} has no type {typ!r}")
                return None
            return ImageNode(Combination.LEAF, kind=kind, type=typ)
        for comb in (Combination.ALL_OF, Combination.ANY_OF, Combination.AT_LEAST):
            key = "of" if comb is Combination.AT_LEAST else comb.value
            if comb.value in node and isinstance(node.get(key), list) and node[key]:
                children = [self._image_node(file, node, rid, c) for c in node[key]]
                if any(c is None for c in children):
                    return None
                n = node.get("at_least", 0)
                if comb is Combination.AT_LEAST and not (isinstance(n, int) and 1 <= n <= len(children)):
                    self.error(file, node, rid, f"at_least must be between 1 and {len(children)}")
                    return None
                return ImageNode(comb, at_least=n if comb is Combination.AT_LEAST else 0,
                                 of=tuple(c for c in children if c is not None))
        self.error(file, node, rid, "use kind/type, all_of: [...], any_of: [...] or at_least: N, of: [...]",
                   where)
        return None

    def _triggers(self, file: str, entries: Any) -> None:
        for item in self._items(file, entries, "triggers"):
            tid = item["id"]
            if self._unknown_keys(file, item, _TRIGGER_KEYS):
                continue
            outcome = _OUTCOMES.get(str(item.get("outcome", "")))
            if outcome is None:
                self.error(file, item, tid, f"outcome must be one of {', '.join(_OUTCOMES)}")
                continue
            scene = str(item.get("scene", ""))
            if outcome in (Outcome.REMOTE, Outcome.ONSITE) and scene not in self.rs.scenes:
                self.error(file, item, tid, f"unknown scene {scene!r}" if scene else "needs a scene")
                continue
            numbers = {}
            for key, default, low, high in (("level", 1, 1, 9), ("approvers", 1, 1, 2),
                                            ("priority", 0, 0, 100), ("sla_seconds", 300, 1, 86400)):
                value = item.get(key, default)
                if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                    self.error(file, item, tid, f"{key} must be a whole number from {low} to {high}")
                numbers[key] = value
            cond = self._condition(file, item)
            if cond is None or len(numbers) < 4:
                continue
            self.rs.triggers[tid] = Trigger(
                id=tid, description=str(item.get("description", "")), outcome=outcome,
                level=numbers["level"], approvers=numbers["approvers"], priority=numbers["priority"],
                sla_seconds=numbers["sla_seconds"], scene=scene,
                reason=str(item.get("reason", item.get("description", tid))), file=file,
                line=conditions.line_of(item, 0),
            )
            self.rs.rules.append(CompiledRule(tid, "trigger", cond))

    def _condition(self, file: str, item: dict[str, Any]) -> Condition | None:
        if "when" not in item:
            self.error(file, item, item["id"], "needs a `when` condition")
            return None
        fields = {**self.fields, **{k: conditions.TEXT for k in _extra_fields(item["when"])}}
        try:
            cond = conditions.parse(item["when"], fields, self.rs.parameters,
                                    conditions.line_of(item, 0), self.rs.overrides)
        except ConditionError as e:
            self.error(file, item, item["id"], str(e), e.line)
            return None
        why = satisfiable.never_holds(cond)
        if why:
            self.error(file, item, item["id"], f"can never fire: {why}",
                       conditions.line_of(item["when"], 0))
            return None
        return cond


def _extra_fields(node: Any) -> set[str]:
    """extra.<name> fields are free-form text the channel passes through."""
    found: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(k, str) and k.startswith("extra.") and len(k) > 6:
                found.add(k)
            found |= _extra_fields(v)
    elif isinstance(node, list):
        for v in node:
            found |= _extra_fields(v)
    return found


_DURATION = re.compile(r"^(\d+)([mhd])$")
MAX_WINDOW = 7 * 86400


def window_seconds(spec: Any) -> int | None:
    """`today` is 0 (since local midnight); `30m`, `4h`, `2d` are rolling windows."""
    if spec == "today":
        return 0
    m = _DURATION.match(str(spec))
    if not m:
        return None
    seconds = int(m.group(1)) * {"m": 60, "h": 3600, "d": 86400}[m.group(2)]
    return seconds if 0 < seconds <= MAX_WINDOW else None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "flag"
    if isinstance(value, int | float):
        return "number"
    return "text" if isinstance(value, str) else "list"
