"""Replay recorded decisions through a candidate rule set and report what would change.

This is how a rule author sees the effect of, say, lowering a threshold before publishing it:
how many more or fewer cases, per scene and per hour, and which requests flip.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from foureyes.rules.book import RuleBook

CASE_OUTCOMES = ("remote", "onsite")


@dataclass(frozen=True)
class Flip:
    at: float
    channel: str
    request_key: str
    before: str  # outcome[/scene]
    after: str
    fired_after: tuple[str, ...]


@dataclass
class ReplayReport:
    candidate_version: str
    requests: int = 0
    before: Counter[str] = field(default_factory=Counter)  # outcome -> count
    after: Counter[str] = field(default_factory=Counter)
    scenes: dict[str, list[int]] = field(default_factory=dict)  # scene -> [cases before, after]
    hours: dict[str, list[int]] = field(default_factory=dict)  # hour -> [cases before, after]
    versions: Counter[str] = field(default_factory=Counter)  # versions that made the originals
    flips: list[Flip] = field(default_factory=list)

    @property
    def cases_before(self) -> int:
        return sum(self.before[o] for o in CASE_OUTCOMES)

    @property
    def cases_after(self) -> int:
        return sum(self.after[o] for o in CASE_OUTCOMES)


def _label(outcome: str, scene: str) -> str:
    return f"{outcome}/{scene}" if outcome in CASE_OUTCOMES and scene else outcome


def replay(book: RuleBook, records: Iterable[Mapping[str, Any]]) -> ReplayReport:
    """Each record is one stored decision: at, channel, request_key, outcome, scene, facts."""
    report = ReplayReport(book.version)
    for r in records:
        d = book.evaluate(r["facts"])
        outcome, scene = d.outcome.name.lower(), d.scene.id if d.scene else ""
        report.requests += 1
        report.versions[r.get("rules_version", "")] += 1
        report.before[r["outcome"]] += 1
        report.after[outcome] += 1
        hour = dt.datetime.fromtimestamp(r["at"]).strftime("%Y-%m-%d %H:00")
        for i, (o, s) in enumerate(((r["outcome"], r["scene"]), (outcome, scene))):
            if o in CASE_OUTCOMES:
                report.scenes.setdefault(s, [0, 0])[i] += 1
                report.hours.setdefault(hour, [0, 0])[i] += 1
        old, new = _label(r["outcome"], r["scene"]), _label(outcome, scene)
        if old != new:
            report.flips.append(Flip(r["at"], r["channel"], r["request_key"], old, new,
                                     tuple(f.id for f in d.fired)))
    return report


def format_report(report: ReplayReport, show: int = 20) -> list[str]:
    def delta(before: int, after: int) -> str:
        return f"{before:>7} {after:>7} {after - before:>+7}"

    lines = [f"replayed {report.requests} decisions through version {report.candidate_version} "
             f"(originally made by {', '.join(f'{v} ×{n}' for v, n in report.versions.items()) or '-'})",
             "",
             f"{'':<28}{'before':>7} {'after':>7} {'change':>7}",
             f"{'cases':<28}{delta(report.cases_before, report.cases_after)}"]
    for outcome in ("none", "onsite", "remote", "reject"):
        lines.append(f"{'  ' + outcome:<28}{delta(report.before[outcome], report.after[outcome])}")
    if report.scenes:
        lines += ["", "cases by scene:"]
        lines += [f"{'  ' + s:<28}{delta(b, a)}" for s, (b, a) in sorted(report.scenes.items())]
    if report.hours:
        lines += ["", "cases by hour:"]
        lines += [f"{'  ' + h:<28}{delta(b, a)}" for h, (b, a) in sorted(report.hours.items())]
    lines += ["", f"{len(report.flips)} request(s) would flip"]
    for f in report.flips[:show]:
        at = dt.datetime.fromtimestamp(f.at).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"  {at} {f.channel} {f.request_key}: {f.before} -> {f.after}"
                     + (f" ({', '.join(f.fired_after)})" if f.fired_after else ""))
    if len(report.flips) > show:
        lines.append(f"  ... and {len(report.flips) - show} more (--show N to list them)")
    return lines
