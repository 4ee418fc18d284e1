"""The rule language's checks: every error class names file, line and rule id; overrides."""

import textwrap
from pathlib import Path

import pytest
from foureyes.errors import RuleSetError
from foureyes.rules.book import RuleBook
from foureyes.rules.model import Outcome

BASE = """
image_kinds:
  - {id: id_document, types: [id_card_front]}
scenes:
  - id: cash
    category: cash
    images: {kind: id_document}
parameters:
  - {id: limit, default: 50000}
"""


def write(tmp_path: Path, text: str, base: str = BASE) -> Path:
    (tmp_path / "base.yaml").write_text(textwrap.dedent(base))
    (tmp_path / "rules.yaml").write_text(textwrap.dedent(text))
    return tmp_path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(RuleSetError) as e:
        RuleBook.load(write(tmp_path, text))
    return [str(p) for p in e.value.problems]


def trigger(when: str, **extra: str) -> str:
    more = "".join(f"\n    {k}: {v}" for k, v in extra.items())
    return f"""
triggers:
  - id: r1
    when: {when}
    outcome: remote
    scene: cash{more}
"""


@pytest.mark.parametrize(("when", "message"), [
    ("{transaction.amout: {gte: 1}}", "unknown field 'transaction.amout'"),
    ("{transaction.amount: {gte: ten}}", "transaction.amount: gte compares numbers"),
    ("{transaction.code: {gte: 5}}", "transaction.code: gte compares numbers"),
    ("{transaction.amount: {gte: $limt}}", "unknown parameter '$limt'"),
    ("{transaction.amount: {around: 5}}", "unknown operator 'around'"),
    ("{transaction.amount: {gte: 100, lt: 50}}", "can never fire: transaction.amount: gte 100, lt 50"),
    ("{transaction.code: {eq: A, in: [B, C]}}", "can never fire"),
    ("{transaction.code: {prefix: CASH_, eq: TRANSFER}}", "can never fire"),
    ("{transaction.code: {prefix: CASH_, matches: 'WEALTH_.*'}}", None),
    ("{transaction.amount: {between: [10, 20], gt: 20}}", "can never fire"),
    ("{customer.age: {exists: false, gte: 70}}", "must be missing and present at once"),
    ("{all: [{transaction.amount: {lt: 5}}, {any: [{transaction.amount: {gt: 9}}, "
     "{transaction.amount: {gt: 7}}]}]}", "can never fire"),
])
def test_condition_errors_name_file_line_and_rule(tmp_path, when, message):
    if message is None:  # a pair the checker must not call contradictory
        RuleBook.load(write(tmp_path, trigger(when)))
        return
    found = problems(tmp_path, trigger(when))
    assert len(found) == 1, found
    assert found[0].startswith(f"{tmp_path}/rules.yaml:4: r1: "), found  # the `when` line
    assert message in found[0]


def test_a_satisfiable_alternative_keeps_the_rule(tmp_path):
    when = "{any: [{transaction.amount: {gt: 9, lt: 5}}, {transaction.amount: {gt: 100}}]}"
    book = RuleBook.load(write(tmp_path, trigger(when)))
    assert book.evaluate({"channel": "teller", "transaction.amount": 101}).outcome is Outcome.REMOTE


def test_unknown_references_and_duplicates_are_all_listed(tmp_path):
    found = problems(tmp_path, """
triggers:
  - id: a
    when: {transaction.code: X}
    outcome: remote
    scene: nowhere
  - id: a
    when: {transaction.code: Y}
    outcome: remote
    scene: cash
  - id: b
    when: {transaction.code: Z}
    outcome: sometimes
  - id: c
    when: {transaction.code: Z}
    outcome: remote
    scene: cash
    level: two
    colour: red
scenes:
  - id: s2
    category: x
    images: {kind: selfie}
""")
    text = "\n".join(found)
    assert f"{tmp_path}/rules.yaml:6: a: unknown scene 'nowhere'" in text
    assert f"{tmp_path}/rules.yaml:7: a: duplicate id (first defined at line 3)" in text
    assert f"{tmp_path}/rules.yaml:13: b: outcome must be one of" in text
    # every problem of one rule, each at its own line
    assert f"{tmp_path}/rules.yaml:18: c: level must be a whole number from 1 to 9" in text
    assert f"{tmp_path}/rules.yaml:19: c: unknown field colour" in text
    assert f"{tmp_path}/rules.yaml:23: s2: unknown image kind 'selfie'" in text
    assert len(found) == 6, found


ORG = """
organisation:
  - {id: HQ, level: head_office}
  - {id: LE, level: legal_entity, parent: HQ}
  - {id: BR, level: branch, parent: LE}
  - {id: OUT1, level: outlet, parent: BR}
  - {id: OUT2, level: outlet, parent: BR}
image_kinds:
  - {id: id_document}
scenes:
  - {id: cash, category: cash}
parameters:
  - id: limit
    default: 50000
    overrides: {LE: 40000, BR: 30000, OUT2: 20000}
triggers:
  - id: big
    when: {transaction.amount: {gte: $limit}}
    outcome: remote
    scene: cash
    reason: "{transaction.amount} ≥ {param.limit}"
"""


@pytest.mark.parametrize(("outlet", "threshold"), [
    ("OUT1", 30000),  # the branch's value: OUT1 sets none
    ("OUT2", 20000),  # the outlet's own value beats its branch's
    ("LE", 40000),
    ("ELSEWHERE", 50000),  # not in the organisation: the default
    ("", 50000),
])
def test_the_most_specific_override_wins(tmp_path, outlet, threshold):
    book = RuleBook.load(write(tmp_path, ORG, base=""))
    below = book.evaluate({"channel": "teller", "outlet.id": outlet, "transaction.amount": threshold - 1})
    at = book.evaluate({"channel": "teller", "outlet.id": outlet, "transaction.amount": threshold})
    assert below.outcome is Outcome.NONE
    assert at.outcome is Outcome.REMOTE
    assert at.fired[0].reason == f"{threshold:,} ≥ {threshold:,}"


def test_bad_overrides_and_organisation_are_refused(tmp_path):
    found = problems(tmp_path, """
organisation:
  - {id: HQ, level: head_office}
  - {id: BR, level: branch, parent: HQ}
  - {id: X, level: region, parent: HQ}
parameters:
  - id: p
    default: 10
    overrides: {NOPE: 5, HQ: ten}
  - id: codes
    default: [A, B]
    overrides: {HQ: [C]}
""")
    text = "\n".join(found)
    assert "BR: a branch needs a parent that is a legal_entity; 'HQ' is not one" in text
    assert "X: level must be one of head_office" in text
    assert "p: override for unknown organisation unit 'NOPE'" in text
    assert "p: override for HQ is 'ten', but the default is a number" in text
    assert "codes: only a number or text parameter can be overridden" in text


def test_an_overridden_parameter_cannot_be_used_in_a_list(tmp_path):
    rules = ORG.replace("{transaction.amount: {gte: $limit}}",
                        "{transaction.amount: {in: [$limit, 5]}}")
    with pytest.raises(RuleSetError, match=r"big: transaction.amount: \$limit has overrides"):
        RuleBook.load(write(tmp_path, rules, base=""))


def test_history_window_must_be_a_duration(tmp_path):
    found = problems(tmp_path, """
history:
  - {id: n, count: true, window: 3 weeks, when: {transaction.code: X}}
  - {id: m, count: true, window: 8d, when: {transaction.code: X}}
""")
    assert len(found) == 2 and all("window must be `today` or a duration" in p for p in found)
