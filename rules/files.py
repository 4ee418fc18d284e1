"""Load and validate a directory of rule files into a RuleSet.

Every file is YAML and may hold any of these sections: `facts`, `organisation`, `parameters`,
`history`, `image_kinds`, `scenes`, `triggers`, `tables`. Files ending in `_test.yaml` are test
cases, not rules. All problems are collected and reported together as `file:line: rule-id:
message`, each at the line of the entry it is about; what is suspect but allowed (a gap in a
decision table that asks only for warnings) is kept as a warning beside the rule set.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from foureyes.errors import RuleError, RuleSetError
from foureyes.rules import conditions, facts, satisfiable, tables
from foureyes.rules.conditions import All, Condition, ConditionError, ConditionErrors, key_line
from foureyes.rules.facts import CHANNELS, DeclaredFact
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

SECTIONS = ("facts", "organisation", "parameters", "history", "image_kinds", "scenes", "triggers",
            "tables")
_OUTCOMES = {"none": Outcome.NONE, "onsite": Outcome.ONSITE, "remote": Outcome.REMOTE,
             "reject": Outcome.REJECT}
_TRIGGER_KEYS = {"id", "description", "when", "outcome", "level", "approvers", "priority",
                 "sla_seconds", "scene", "reason"}
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")  # as RuleBook renders them
_SCENE_KEYS = {"id", "name", "category", "business_type", "channels", "images", "image_rules",
               "review_points", "reject_reasons"}
REASON_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


class _LineDict(dict[str, Any]):
    line = 0
    key_lines: dict[Any, int] = {}  # noqa: RUF012 - replaced per instance by the loader


class _LineList(list[Any]):
    line = 0


class _Loader(yaml.SafeLoader):
    """Keeps each mapping's and list's line so that errors can point into the file."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        d = _LineDict(super().construct_mapping(node, deep=True))  # type: ignore[arg-type]
        d.line = node.start_mark.line + 1
        d.key_lines = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str | int | float | bool) or key is None:
                d.key_lines.setdefault(key, key_node.start_mark.line + 1)
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
    facts: dict[str, DeclaredFact] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)  # every field a rule or test may name
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tables: dict[str, tables.Table] = field(default_factory=dict)
    row_of: dict[str, tuple[str, int]] = field(default_factory=dict)  # rule id -> table, row index
    warnings: list[RuleError] = field(default_factory=list)

    @property
    def personal(self) -> frozenset[str]:
        return facts.BUILTIN_PERSONAL | {n for n, f in self.facts.items() if f.personal}


def units_of(rs: RuleSet, outlet: str) -> list[str]:
    """The outlet and every unit above it, most specific first (empty if unknown)."""
    chain = []
    unit = rs.organisation.get(outlet)
    while unit is not None and unit.id not in chain:
        chain.append(unit.id)
        unit = rs.organisation.get(unit.parent)
    return chain


def parameters_at(rs: RuleSet, outlet: str) -> dict[str, Any]:
    """The `param.<name>` facts of the overridden parameters at `outlet`: the value set on the
    most specific unit on its way up to the head office, else the default."""
    chain = units_of(rs, outlet)
    return {f"param.{pid}": next((by_unit[u] for u in chain if u in by_unit), rs.parameters[pid])
            for pid, by_unit in rs.overrides.items()}


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
    rs.warnings.sort(key=lambda w: (w.file, w.line))
    if problems:
        raise RuleSetError(problems)
    return rs


class _Builder:
    def __init__(self, rs: RuleSet, problems: list[RuleError]) -> None:
        self.rs = rs
        self.problems = problems
        self.fields = rs.fields
        self.fields.update(conditions.FIELDS)
        self.enums = rs.enums
        self.enums.update(facts.BUILTIN_ENUMS)
        # Triggers, table rows and image rules fire under one name space; other sections have
        # their own. Each id remembers where it was first given.
        self.ids: dict[str, dict[str, tuple[str, int]]] = {}
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

    def _claim(self, file: str, node: Any, section: str, rid: str) -> bool:
        """Take `rid` in its name space; a duplicate is refused naming the first."""
        space = "rules" if section in ("triggers", "image_rules", "tables") else section
        seen = self.ids.setdefault(space, {})
        if rid in seen:
            first_file, first_line = seen[rid]
            where = f"line {first_line}" if first_file == file else f"{first_file}:{first_line}"
            self.error(file, node, rid, f"duplicate id (first defined at {where})")
            return False
        seen[rid] = (file, conditions.line_of(node, 0))
        return True

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
            if self._claim(file, item, section, item["id"]):
                good.append(item)
        return good

    def _unknown_keys(self, file: str, item: dict[str, Any], allowed: set[str]) -> bool:
        unknown = sorted(set(item) - allowed, key=str)
        for key in unknown:
            self.error(file, item, item["id"], f"unknown field {key} (use {', '.join(sorted(allowed))})",
                       key_line(item, key, 0))
        return bool(unknown)

    def _facts(self, file: str, entries: Any) -> None:
        for item in self._items(file, entries, "facts"):
            name = item["id"]
            self._unknown_keys(file, item, facts.KEYS)
            type_ = item.get("type")
            builtin = conditions.FIELDS.get(name)
            if type_ not in facts.TYPES:
                self.error(file, item, name, f"type must be one of {', '.join(facts.TYPES)}")
                continue
            if builtin is not None:
                if facts.TYPES[type_] != builtin or name in facts.BUILTIN_ENUMS:
                    self.error(file, item, name, f"{name} is built in as {builtin}; only a built-in "
                                                 "text field can be declared, as an enum")
                    continue
            elif not facts.valid_name(name):
                self.error(file, item, name, "a declared fact is extra.<name> or customer.<name> "
                                             "(lower case, digits and _)")
                continue
            values = item.get("values")
            if (type_ == "enum") != (values is not None):
                self.error(file, item, name, "an enum needs `values: [...]`, and only an enum has them")
                continue
            if values is not None and (not isinstance(values, list) or not values
                                       or not all(isinstance(v, str) for v in values)):
                self.error(file, item, name, "values must be a list of text (quote numbers)")
                continue
            limits = {k: item.get(k) for k in ("min", "max") if k in item}
            if limits and (type_ not in ("number", "decimal") or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in limits.values())):
                self.error(file, item, name, "min and max are numbers, for a number or decimal")
                continue
            places = item.get("places", 2)
            if not isinstance(places, int) or isinstance(places, bool) or not 0 <= places <= 8 \
                    or ("places" in item and type_ != "decimal"):
                self.error(file, item, name, "places (for a decimal) is a whole number from 0 to 8")
                continue
            if not isinstance(item.get("personal", False), bool):
                self.error(file, item, name, "personal is true or false")
                continue
            self.rs.facts[name] = DeclaredFact(
                name, type_, tuple(values or ()), bool(item.get("personal", False)),
                limits.get("min"), limits.get("max"), places, builtin is not None)
            self.fields[name] = facts.TYPES[type_]
            if values:
                self.enums[name] = tuple(values)

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
            self._unknown_keys(file, item, {"id", "default", "description", "overrides"})
            if "default" not in item:
                self.error(file, item, pid, "a parameter needs a default")
                continue
            default = item["default"]
            self.rs.parameters[pid] = default
            overrides = item.get("overrides")
            if overrides is None:
                continue
            at = key_line(item, "overrides", 0)
            if not isinstance(overrides, dict) or not overrides:
                self.error(file, item, pid, "overrides must map organisation units to values", at)
                continue
            if _kind(default) not in ("number", "text"):
                self.error(file, item, pid, "only a number or text parameter can be overridden", at)
                continue
            good = {}
            for unit, value in overrides.items():
                line = key_line(overrides, unit, at)
                if unit not in self.rs.organisation:
                    self.error(file, overrides, pid, f"override for unknown organisation unit {unit!r}", line)
                elif _kind(value) != _kind(default):
                    self.error(file, overrides, pid, f"override for {unit} is {value!r}, "
                                                     f"but the default is a {_kind(default)}", line)
                else:
                    good[str(unit)] = value
            self.rs.overrides[pid] = good

    def _history(self, file: str, entries: Any) -> None:
        for item in self._items(file, entries, "history"):
            cid = item["id"]
            ok = not self._unknown_keys(file, item, {"id", "sum", "count", "when", "window"})
            sum_field = item.get("sum", "")
            if bool(sum_field) == bool(item.get("count")):
                self.error(file, item, cid, "a counter needs either `sum: <field>` or `count: true`")
                ok = False
            elif sum_field and self.fields.get(sum_field) != conditions.NUMBER:
                self.error(file, item, cid, f"sum needs a number field, not {sum_field!r}",
                           key_line(item, "sum", 0))
                ok = False
            window = window_seconds(item.get("window", "today"))
            if window is None:
                self.error(file, item, cid, "window must be `today` or a duration like 30m, "
                                            "4h or 7d (at most 7 days)", key_line(item, "window", 0))
            cond = self._condition(file, item)
            if cond is None or window is None or not ok:
                continue
            counter = Counter(cid, sum_field, window, file, conditions.line_of(item, 0))
            self.rs.counters[cid] = (counter, cond)
            self.fields[f"history.{cid}"] = conditions.NUMBER

    def _image_kinds(self, file: str, entries: Any) -> None:
        for item in self._items(file, entries, "image_kinds"):
            bad_keys = self._unknown_keys(file, item, {"id", "types", "name", "description"})
            types = item.get("types", [])
            if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
                self.error(file, item, item["id"], "types must be a list of names")
                continue
            if not bad_keys:
                self.rs.image_kinds[item["id"]] = frozenset(types)

    def _scenes(self, file: str, entries: Any) -> None:
        for item in self._items(file, entries, "scenes"):
            sid = item["id"]
            self._unknown_keys(file, item, _SCENE_KEYS)
            channels = item.get("channels", list(CHANNELS))
            bad = sorted(set(channels) - set(CHANNELS)) if isinstance(channels, list) else ["?"]
            if bad:
                self.error(file, item, sid, f"unknown channel(s) {', '.join(bad)} — one of "
                                            f"{', '.join(CHANNELS)}", key_line(item, "channels", 0))
            images = self._image_node(file, item, sid, item["images"]) if "images" in item else None
            points = item.get("review_points", [])
            if not isinstance(points, list) or not all(isinstance(p, str) for p in points):
                self.error(file, item, sid, "review_points must be a list of text",
                           key_line(item, "review_points", 0))
                points = []
            if not isinstance(item.get("category"), str):
                self.error(file, item, sid, "a scene needs a category (the seat skill it routes to)")
            reasons = item.get("reject_reasons", {})
            if not isinstance(reasons, dict) or not all(
                    isinstance(c, str) and REASON_CODE.fullmatch(c) and isinstance(t, str)
                    for c, t in reasons.items()):
                self.error(file, item, sid, "reject_reasons maps reason codes (capitals, digits, _) "
                                            "to the text a seat is shown",
                           key_line(item, "reject_reasons", 0))
                reasons = {}
            self.rs.scenes[sid] = Scene(
                id=sid, name=str(item.get("name", sid)), category=str(item.get("category", "")),
                business_type=str(item.get("business_type", "")),
                channels=frozenset(channels if isinstance(channels, list) else ()) - frozenset(bad),
                images=images, review_points=tuple(points),
                reject_reasons=tuple(reasons.items()),
            )
            for rule in self._items(file, item.get("image_rules", []), "image_rules"):
                bad_keys = self._unknown_keys(file, rule, {"id", "when", "require"})
                node = self._image_node(file, rule, rule["id"], rule.get("require"))
                cond = self._condition(file, rule)
                if node is None or cond is None or bad_keys:
                    continue
                self.rs.image_rules[rule["id"]] = ImageRule(rule["id"], sid, node, file,
                                                            conditions.line_of(rule, 0))
                self.rs.rules.append(CompiledRule(rule["id"], "image", cond))

    def _image_node(self, file: str, parent: Any, rid: str, node: Any) -> ImageNode | None:
        problems = []
        result = image_node(self.rs.image_kinds, node, conditions.line_of(parent, 0),
                            lambda line, message: problems.append((line, message)))
        for line, message in problems:
            self.error(file, parent, rid, message, line)
        return result

    def _triggers(self, file: str, entries: Any) -> None:
        for item in self._items(file, entries, "triggers"):
            bad_keys = self._unknown_keys(file, item, _TRIGGER_KEYS)
            cond = self._condition(file, item)
            trigger = self._trigger(file, item, item["id"], item, cond)
            if trigger is not None and cond is not None and not bad_keys:
                self.rs.triggers[trigger.id] = trigger
                self.rs.rules.append(CompiledRule(trigger.id, "trigger", cond))

    def _trigger(self, file: str, node: Any, tid: str, item: dict[str, Any], cond: Condition | None,
                 line_of: Any = None) -> Trigger | None:
        """A trigger's outputs, every problem reported; None if any. `item` holds the outputs
        (a trigger's own mapping, or a table row's cells by column); `line_of(key)` says where
        each is written."""
        def at(key: str) -> int:
            return int(line_of(key)) if line_of else key_line(node, key, conditions.line_of(node, 0))

        ok = True
        outcome = _OUTCOMES.get(str(item.get("outcome", "")))
        if outcome is None:
            self.error(file, node, tid, f"outcome must be one of {', '.join(_OUTCOMES)}", at("outcome"))
            ok = False
        scene = str(item.get("scene", "") or "")
        if outcome in (Outcome.REMOTE, Outcome.ONSITE) and scene not in self.rs.scenes:
            self.error(file, node, tid, f"unknown scene {scene!r}" if scene else "needs a scene",
                       at("scene") if scene else 0)
            ok = False
        elif scene and scene not in self.rs.scenes:
            self.error(file, node, tid, f"unknown scene {scene!r}", at("scene"))
            ok = False
        numbers = {}
        for key, default, low, high in (("level", 1, 1, 9), ("approvers", 1, 1, 2),
                                        ("priority", 0, 0, 100), ("sla_seconds", 300, 1, 86400)):
            value = item.get(key, default)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                self.error(file, node, tid, f"{key} must be a whole number from {low} to {high}", at(key))
                ok = False
            numbers[key] = value
        reason = str(item.get("reason", item.get("description", tid)))
        ok = self._check_reason(file, node, tid, reason, item.get("when"), at("reason")) and ok
        if not ok or outcome is None or cond is None:
            return None
        return Trigger(
            id=tid, description=str(item.get("description", "")), outcome=outcome,
            level=numbers["level"], approvers=numbers["approvers"], priority=numbers["priority"],
            sla_seconds=numbers["sla_seconds"], scene=scene, reason=reason, file=file,
            line=conditions.line_of(node, 0))

    def _check_reason(self, file: str, node: Any, rid: str, reason: str, when: Any, line: int) -> bool:
        """A placeholder that names nothing would reach the teller with its braces."""
        ok = True
        for name in PLACEHOLDER.findall(reason):
            if name.startswith("param."):
                known = name[6:] in self.rs.parameters
            else:
                known = name in self.fields or name in _extra_fields(when)
            if not known:
                self.error(file, node, rid, f"reason: unknown placeholder {{{name}}}", line)
                ok = False
        return ok

    def _tables(self, file: str, entries: Any) -> None:
        for item in self._items(file, entries, "tables"):
            table = self._table(file, item)
            if table is not None:
                self._analyse(table)

    def _table(self, file: str, item: dict[str, Any]) -> tables.Table | None:
        tid = item["id"]
        ok = not self._unknown_keys(file, item, tables.KEYS)
        hit, gaps = item.get("hit", "unique"), item.get("gaps", "warn")
        if hit not in tables.HIT_POLICIES:
            self.error(file, item, tid, f"hit must be one of {', '.join(tables.HIT_POLICIES)}",
                       key_line(item, "hit", 0))
            ok = False
        if gaps not in tables.GAP_POLICIES:
            self.error(file, item, tid, f"gaps must be one of {', '.join(tables.GAP_POLICIES)}",
                       key_line(item, "gaps", 0))
            ok = False
        inputs, outputs = item.get("inputs"), item.get("outputs")
        if not (isinstance(inputs, list) and inputs and all(isinstance(i, str) for i in inputs)):
            self.error(file, item, tid, "inputs must be a list of fields", key_line(item, "inputs", 0))
            return None
        for name in inputs:
            if name not in self.fields and not name.startswith("extra."):
                self.error(file, item, tid, f"unknown input field {name!r}", key_line(item, "inputs", 0))
                ok = False
        if not (isinstance(outputs, list) and all(o in tables.OUTPUTS for o in outputs)
                and "outcome" in [*outputs, *(item.get("defaults") or {})]):
            self.error(file, item, tid, f"outputs must be a list of {', '.join(tables.OUTPUTS)} "
                                        "(with outcome, here or in defaults)", key_line(item, "outputs", 0))
            return None
        defaults = item.get("defaults") or {}
        if not isinstance(defaults, dict) or any(k not in tables.OUTPUTS or k == "id" for k in defaults):
            self.error(file, item, tid, "defaults map output columns (not id) to values",
                       key_line(item, "defaults", 0))
            return None
        when = None
        if "when" in item:
            when = self._condition(file, item)
            ok = ok and when is not None
        rows = item.get("rows")
        if not isinstance(rows, list) or not rows:
            self.error(file, item, tid, "a table needs rows", key_line(item, "rows", 0))
            return None
        columns = [*inputs, *outputs]
        fields = {**self.fields, **{f: conditions.TEXT for f in inputs if f.startswith("extra.")}}
        built = []
        for n, row in enumerate(rows, start=1):
            line = conditions.line_of(row, key_line(item, "rows", 0) + n)
            if isinstance(row, dict):
                unknown = sorted(set(row) - set(columns), key=str)
                if unknown:
                    self.error(file, row, tid, f"row {n}: unknown column(s) {', '.join(map(str, unknown))}")
                    ok = False
                    continue
                values = dict(row)
            elif isinstance(row, list) and len(row) == len(columns):
                values = dict(zip(columns, row, strict=True))
            else:
                self.error(file, row, tid, f"row {n} needs {len(columns)} cells "
                                           f"({', '.join(columns)})", line)
                ok = False
                continue
            rid = str(values.get("id") or f"{tid}#{n}")
            if not self._claim(file, row, "tables", rid):
                ok = False
                continue
            cells: list[Condition | None] = []
            for name in inputs:
                spec = tables.cell_spec(values.get(name, "-"))
                cells.append(None if spec is None else
                             self._parse(file, rid, {name: spec}, line, fields))
            if any(c is None for c, name in zip(cells, inputs, strict=True)
                   if tables.cell_spec(values.get(name, "-")) is not None):
                ok = False
                continue
            outs = {**defaults, **{k: v for k, v in values.items() if k in outputs and v not in ("-", None)}}
            parts = tuple(c for c in [when, *cells] if c is not None)
            cond: Condition = parts[0] if len(parts) == 1 else All(parts)
            trigger = self._trigger(file, row, rid, {**outs, "when": item.get("when")},
                                    cond, lambda key, line=line: line)
            if trigger is None:
                ok = False
                continue
            built.append((tables.Row(rid, n, line, tuple(cells)), trigger, cond))
        if not ok:
            return None
        table = tables.Table(tid, file, conditions.line_of(item, 0), hit, gaps, tuple(inputs), when,
                             tuple(r for r, _, _ in built))
        self.rs.tables[tid] = table
        for i, (row, trigger, cond) in enumerate(built):
            self.rs.triggers[row.id] = trigger
            self.rs.row_of[row.id] = (tid, i)
            self.rs.rules.append(CompiledRule(row.id, "trigger", cond))
        return table

    def _analyse(self, table: tables.Table) -> None:
        bounds: dict[str, tuple[float | None, float | None]] = {
            f: (0, None) for f, k in self.fields.items()
            if k == conditions.NUMBER and (f in conditions.FIELDS or f.startswith("history."))}
        bounds.update({n: (f.minimum, f.maximum) for n, f in self.rs.facts.items()
                       if f.kind == conditions.NUMBER})
        assignments: dict[tuple[Any, ...], tuple[str, dict[str, Any]]] = {
            (): ("", {f"param.{p}": self.rs.parameters[p] for p in self.rs.overrides})}
        for unit in self.rs.organisation:
            values = parameters_at(self.rs, unit)
            key = tuple(sorted(values.items()))
            if key != tuple(sorted(assignments[()][1].items())):
                assignments.setdefault(key, (unit, values))
        for finding in tables.analyse(table, self.fields, self.enums, bounds, list(assignments.values())):
            problem = RuleError(table.file, finding.line, table.id, finding.message)
            if finding.is_gap and table.gaps != "error":
                self.rs.warnings.append(problem)
            else:
                self.problems.append(problem)

    def _condition(self, file: str, item: dict[str, Any]) -> Condition | None:
        if "when" not in item:
            self.error(file, item, item["id"], "needs a `when` condition")
            return None
        for name in _extra_fields(item["when"]):  # undeclared: text, as a channel sends it
            self.fields.setdefault(name, conditions.TEXT)
        fields = self.fields
        line = key_line(item, "when", conditions.line_of(item, 0))
        return self._parse(file, item["id"], item["when"], line, fields)

    def _parse(self, file: str, rid: str, node: Any, line: int, fields: dict[str, str]) -> Condition | None:
        try:
            cond = conditions.parse(node, fields, self.rs.parameters, line, self.rs.overrides, self.enums)
        except ConditionError as e:
            self.error(file, None, rid, str(e), e.line)
            return None
        except ConditionErrors as e:
            for one in e.errors:
                self.error(file, None, rid, str(one), one.line)
            return None
        why = satisfiable.never_holds(cond)
        if why:
            self.error(file, None, rid, f"can never fire: {why}", conditions.line_of(node, line))
            return None
        return cond


def image_node(kinds: dict[str, frozenset[str]], node: Any, line: int,
               problem: Any, check_kinds: bool = True) -> ImageNode | None:
    """An image requirement (kind/type leaves under all_of, any_of, at_least + of) checked
    against the image kinds; `problem(line, message)` hears of each thing wrong."""
    where = conditions.line_of(node, line)
    if not isinstance(node, dict):
        problem(where, "an image requirement is a mapping")
        return None
    if "kind" in node:
        kind, typ = node["kind"], node.get("type", "")
        extra = sorted(set(node) - {"kind", "type"}, key=str)
        if extra:
            problem(where, f"an image leaf has kind and type, not {', '.join(map(str, extra))}")
            return None
        if check_kinds and kind not in kinds:
            problem(where, f"unknown image kind {kind!r}")
            return None
        if check_kinds and typ and typ not in kinds[kind]:
            problem(where, f"image kind {kind!r} has no type {typ!r}")
            return None
        return ImageNode(Combination.LEAF, kind=kind, type=typ)
    for comb in (Combination.ALL_OF, Combination.ANY_OF, Combination.AT_LEAST):
        key = "of" if comb is Combination.AT_LEAST else comb.value
        if comb.value in node and isinstance(node.get(key), list) and node[key]:
            children = [image_node(kinds, c, where, problem, check_kinds) for c in node[key]]
            if any(c is None for c in children):
                return None
            n = node.get("at_least", 0)
            if comb is Combination.AT_LEAST and not (isinstance(n, int) and 1 <= n <= len(children)):
                problem(where, f"at_least must be between 1 and {len(children)}")
                return None
            return ImageNode(comb, at_least=n if comb is Combination.AT_LEAST else 0,
                             of=tuple(c for c in children if c is not None))
    problem(where, "use kind/type, all_of: [...], any_of: [...] or at_least: N, of: [...]")
    return None


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
