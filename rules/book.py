"""RuleBook: evaluate the trigger, scene and image models for one request's facts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from foureyes.rules import conditions, files
from foureyes.rules.engine import DurableRules
from foureyes.rules.files import RuleSet
from foureyes.rules.model import Decision, FiredRule, ImageNode, Outcome, Trigger

DEFAULT_RULES = Path(__file__).resolve().parent / "default"
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")


class RuleBook:
    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.version = ruleset.version
        self._engine = DurableRules(
            f"rules@{ruleset.version}", [(r.id, r.condition) for r in ruleset.rules]
        )
        self._params_by_outlet: dict[str, dict[str, Any]] = {}
        self.windows = {cid: c.window_seconds for cid, (c, _) in ruleset.counters.items()}

    @classmethod
    def load(cls, directory: str | Path = DEFAULT_RULES) -> RuleBook:
        return cls(files.load(directory))

    @property
    def tracks_history(self) -> bool:
        return bool(self.ruleset.counters)

    def counter_contributions(self, facts: Mapping[str, Any]) -> dict[str, float]:
        """What this transaction adds to each history counter whose filter it matches."""
        out: dict[str, float] = {}
        for cid, (counter, cond) in self.ruleset.counters.items():
            if conditions.evaluate(cond, facts):
                if not counter.sum_field:
                    out[cid] = 1.0
                elif isinstance(facts.get(counter.sum_field), int | float):
                    out[cid] = float(facts[counter.sum_field])
        return out

    def parameters_for(self, outlet: str) -> dict[str, Any]:
        """The `param.<name>` facts of the overridden parameters at `outlet`: the value set on
        the most specific unit on its way up to the head office, else the default."""
        cached = self._params_by_outlet.get(outlet)
        if cached is not None:
            return cached
        rs = self.ruleset
        chain = []
        unit = rs.organisation.get(outlet)
        while unit is not None:
            chain.append(unit.id)
            unit = rs.organisation.get(unit.parent)
        values = {}
        for pid, by_unit in rs.overrides.items():
            found = next((by_unit[u] for u in chain if u in by_unit), rs.parameters[pid])
            values[f"param.{pid}"] = found
        if len(self._params_by_outlet) < 100_000:  # unknown outlets must not grow it forever
            self._params_by_outlet[outlet] = values
        return values

    def facts_for(self, facts: Mapping[str, Any]) -> Mapping[str, Any]:
        """The facts as the rules see them: with the parameters in force at the outlet."""
        if not self.ruleset.overrides:
            return facts
        return {**facts, **self.parameters_for(str(facts.get("outlet.id", "")))}

    def evaluate(self, facts: Mapping[str, Any]) -> Decision:
        rs = self.ruleset
        facts = self.facts_for(facts)
        fired = self._engine.matches(facts)
        triggers = sorted((rs.triggers[f] for f in fired if f in rs.triggers),
                          key=lambda t: (t.outcome, t.level, t.priority), reverse=True)
        if not triggers:
            return Decision(Outcome.NONE, rules_version=self.version)
        reasons = [FiredRule(t.id, render(t.reason, facts, rs.parameters)) for t in triggers]
        outcome = triggers[0].outcome
        channel = facts.get("channel", "")
        case_triggers = [t for t in triggers if t.outcome in (Outcome.REMOTE, Outcome.ONSITE)]
        for t in case_triggers:
            if channel not in rs.scenes[t.scene].channels:
                outcome = Outcome.REJECT
                reasons.append(FiredRule(f"scene:{t.scene}",
                                         f"{rs.scenes[t.scene].name} is not offered on {channel}"))
        if outcome is Outcome.REJECT:
            return Decision(Outcome.REJECT, fired=tuple(reasons), rules_version=self.version)
        return self._case_decision(outcome, case_triggers, fired, tuple(reasons))

    def _case_decision(
        self, outcome: Outcome, triggers: list[Trigger], fired: list[str],
        reasons: tuple[FiredRule, ...],
    ) -> Decision:
        rs = self.ruleset
        scene_ids = list(dict.fromkeys(t.scene for t in triggers))
        scenes = [rs.scenes[s] for s in scene_ids]
        images = [s.images for s in scenes if s.images is not None]
        image_rules = [f for f in fired if f in rs.image_rules and rs.image_rules[f].scene in scene_ids]
        images += [rs.image_rules[f].require for f in image_rules]
        return Decision(
            outcome=outcome,
            level=max(t.level for t in triggers),
            approvers=max(t.approvers for t in triggers),
            priority=max(t.priority for t in triggers),
            sla_seconds=min(t.sla_seconds for t in triggers),
            scene=scenes[0],
            images=ImageNode.all_of(images),
            review_points=tuple(dict.fromkeys(p for s in scenes for p in s.review_points)),
            fired=reasons,
            image_rules=tuple(image_rules),
            rules_version=self.version,
        )


def render(template: str, facts: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    """Fill `{field}` and `{param.name}` placeholders of a rule's reason."""

    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        v = facts.get(name)
        if v is None and name.startswith("param."):
            v = params.get(name[6:])
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return f"{v:,}"
        return m.group(0) if v is None else str(v)

    return _PLACEHOLDER.sub(value, template)
