"""Rule evaluation per request: RuleBook.evaluate next to raw durable_rules posting the same
facts (assert, collect, retract) with the same compiled rules, in the same process; and the
same banded logic written once as a decision table and once as single rules.

`python -m foureyes.benchmarks.rules [--rounds N]`; also part of `bash run.sh bench`.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import textwrap
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from durable import engine as durable
from foureyes.rules import testing
from foureyes.rules.book import DEFAULT_RULES, RuleBook
from foureyes.rules.conditions import to_durable

CODES = [f"CODE_{i:02d}" for i in range(50)]


def generated_rules(directory: Path, n: int = 500) -> Path:
    """n trigger rules over 50 transaction codes, thresholds, segments and trigger codes."""
    rules = []
    for i in range(n):
        code = CODES[i % len(CODES)]
        threshold = 10_000 * (1 + i // len(CODES))
        extra = ("customer.segment: {in: [private, vip]}" if i % 3 == 0 else
                 f"trigger_codes: {{contains: UP_{i % 7}}}" if i % 3 == 1 else
                 "customer.age: {gte: 65}")
        rules.append(textwrap.dedent(f"""\
            - id: gen-{i:03d}
              when:
                transaction.code: {code}
                transaction.amount: {{gte: {threshold}}}
                {extra}
              outcome: remote
              level: {1 + i % 3}
              scene: generic
              reason: "{code} {{transaction.amount}} ≥ {threshold}"
            """))
    (directory / "generated.yaml").write_text(
        "scenes:\n  - {id: generic, name: Generic, category: general}\ntriggers:\n"
        + textwrap.indent("".join(rules), "  "))
    return directory


BANDS = (0, 10_000, 50_000, 100_000, 200_000)  # each code's amounts cut into five bands


def banded_rules(directory: Path, as_table: bool) -> Path:
    """50 codes x 5 amount bands, each band its own outcome and level: one `unique` decision
    table, or the same 250 conditions as single trigger rules."""
    scene = ("scenes:\n  - {id: generic, name: Generic, category: general}\nfacts:\n"
             f"  - {{id: transaction.code, type: enum, values: [{', '.join(CODES)}]}}\n")
    cells = []
    for code in CODES:
        for b, low in enumerate(BANDS):
            high = BANDS[b + 1] if b + 1 < len(BANDS) else None
            outcome = "none" if b == 0 else "remote"
            cells.append((code, low, high, outcome, 1 + b % 3, f"{code.lower()}-{b}"))
    if as_table:
        rows = "".join(
            f"      - [{code}, \"{f'[{low}..{high})' if high else f'>= {low}'}\", {rid}, {outcome}, {level}, "
            f"{'generic' if outcome != 'none' else '-'}, \"{code} band {{transaction.amount}}\"]\n"
            for code, low, high, outcome, level, rid in cells)
        text = (scene + "tables:\n  - id: bands\n    hit: unique\n    gaps: error\n"
                "    inputs: [transaction.code, transaction.amount]\n"
                "    outputs: [id, outcome, level, scene, reason]\n    rows:\n" + rows)
    else:
        text = scene + "triggers:\n" + "".join(
            f"  - id: {rid}\n    when:\n      transaction.code: {code}\n"
            f"      transaction.amount: {{gte: {low}{f', lt: {high}' if high else ''}}}\n"
            f"    outcome: {outcome}\n    level: {level}\n"
            + ("    scene: generic\n" if outcome != "none" else "")
            + f"    reason: \"{code} band {{transaction.amount}}\"\n"
            for code, low, high, outcome, level, rid in cells)
    (directory / "banded.yaml").write_text(text)
    return directory


def generated_facts(n: int = 200) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        out.append({"channel": "teller", "transaction.code": CODES[(i * 7) % len(CODES)],
                    "transaction.amount": float((i * 7919) % 120_000), "customer.age": 40 + i % 40,
                    "customer.segment": ["retail", "private", "vip"][i % 3],
                    "trigger_codes": [f"UP_{i % 9}"]})
    return out


class RawDurable:
    """The baseline: durable_rules with the same compiled conditions and a recording action."""

    class _Host(durable.Host):
        def __init__(self, action: Callable[[Any], None]) -> None:
            self._action = action
            super().__init__()

        def _run(self) -> None:  # the background thread crashes the process (DESIGN.md)
            pass

        def get_action(self, action_name: str) -> Callable[[Any], None]:
            return self._action

    def __init__(self, book: RuleBook, name: str) -> None:
        self.fired: list[Any] = []
        self.host = self._Host(lambda c: self.fired.append(c))
        self.name = name
        self.host.set_rulesets({name: {f"r{i}": {"all": [{"m": to_durable(r.condition)}], "run": "a"}
                                       for i, r in enumerate(book.ruleset.rules)}})
        self.ids = itertools.count(1)

    def post(self, fact: dict[str, Any]) -> None:
        fact["id"] = next(self.ids)
        self.fired.clear()
        try:
            self.host.assert_fact(self.name, fact)
        except durable.MessageNotHandledException:
            pass
        try:
            self.host.retract_fact(self.name, fact)
        except durable.MessageNotHandledException:
            pass


def per_request_us(fn: Callable[[Mapping[str, Any]], Any], facts: list[dict[str, Any]],
                   repeat: int) -> float:
    # CPU time of this process, not the wall clock: on 2 shared cores the other processes'
    # turns landed in one side's rounds and moved the ratio by ±15 points between runs
    started = time.process_time()
    for _ in range(repeat):
        for f in facts:
            fn(f)
    return (time.process_time() - started) / (repeat * len(facts)) * 1e6


def compare(label: str, book: RuleBook, facts: list[dict[str, Any]], rounds: int) -> str:
    raw = RawDurable(book, f"raw-{label}")
    seen = [dict(book.facts_for(f)) for f in facts]  # the raw engine gets the params merged in
    repeat = max(1, 2000 // len(facts))
    ours, theirs = [], []
    for _ in range(rounds):  # interleaved, so that noise on a shared machine hits both
        theirs.append(per_request_us(lambda f: raw.post(dict(f)), seen, repeat))
        ours.append(per_request_us(book.evaluate, facts, repeat))
    # the fastest round of each: what the code costs when nothing else gets in (timeit's rule)
    a, b = min(ours), min(theirs)
    return (f"{label:<28} {len(book.ruleset.rules):>5} {b:>10.1f} µs {a:>10.1f} µs "
            f"{(a - b) / b:>+9.0%}")


def main(rounds: int = 9) -> None:
    print(f"rule evaluation per request, CPU time, fastest of {rounds} interleaved rounds")
    print(f"{'rule set':<28} {'rules':>5} {'raw durable':>13} {'foureyes':>13} {'overhead':>9}")
    bundled = RuleBook.load(DEFAULT_RULES)
    facts = [t.facts for t in testing.load_tests(DEFAULT_RULES, bundled)]
    print(compare("bundled (rules/default)", bundled, facts, rounds), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        big = RuleBook.load(generated_rules(Path(tmp)))
    print(compare("generated", big, generated_facts(), rounds), flush=True)
    books = {}
    for as_table in (True, False):
        with tempfile.TemporaryDirectory() as tmp:
            books[as_table] = RuleBook.load(banded_rules(Path(tmp), as_table))
    facts = generated_facts()
    same = all(_shape(books[True].evaluate(f)) == _shape(books[False].evaluate(f)) for f in facts)
    print(compare("banded, one decision table", books[True], facts, rounds), flush=True)
    print(compare("banded, as single rules", books[False], facts, rounds), flush=True)
    print(f"  the table and the single rules decide alike on all {len(facts)} requests: "
          f"{'yes' if same else 'NO'}")


def _shape(d: Any) -> tuple[Any, ...]:
    return d.outcome, d.level, tuple(sorted((f.id, f.reason) for f in d.fired))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    main(parser.parse_args().rounds)
