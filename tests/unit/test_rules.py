"""The bundled rule set and the rule language, evaluated for real through durable_rules."""

from pathlib import Path

import pytest
from foureyes.errors import RuleSetError
from foureyes.rules.book import RuleBook
from foureyes.rules.model import Combination, Outcome


@pytest.fixture(scope="module")
def book() -> RuleBook:
    return RuleBook.load()


def teller(**facts):
    return {"channel": "teller", "trigger_codes": [], **facts}


def test_bundled_rules_have_at_least_twelve_triggers(book):
    assert len(book.ruleset.triggers) >= 12


def test_small_withdrawal_needs_nothing(book):
    d = book.evaluate(teller(**{"transaction.code": "CASH_WITHDRAWAL", "transaction.amount": 3000.0}))
    assert d.outcome is Outcome.NONE
    assert [(f.id, f.reason) for f in d.fired] == [
        ("cash-withdrawal-small", "cash withdrawal 3,000 < 50,000")]
    assert d.scene is None and d.images is None
    assert d.rules_version == book.version


def test_large_withdrawal_goes_remote_with_images_and_reason(book):
    d = book.evaluate(teller(**{"transaction.code": "CASH_WITHDRAWAL", "transaction.amount": 80000.0}))
    assert d.outcome is Outcome.REMOTE
    assert (d.level, d.approvers, d.scene.id) == (1, 1, "cash-withdrawal")
    assert [f.id for f in d.fired] == ["cash-withdrawal-large"]
    assert d.fired[0].reason == "cash withdrawal 80,000 ≥ 50,000"
    assert d.images.combination is Combination.ALL_OF
    assert "ID document matches the account holder" in d.review_points


def test_strictest_outcome_and_highest_level_win(book):
    d = book.evaluate(teller(**{"transaction.code": "CASH_WITHDRAWAL", "transaction.amount": 250000.0,
                                "customer.age": 75}))
    assert d.outcome is Outcome.REMOTE
    assert d.level == 2 and d.approvers == 2
    # the cash table is `unique`: of its bands only the very large one holds
    assert {f.id for f in d.fired} == {"cash-withdrawal-very-large", "elderly-customer"}
    # the conditional image rule added the counter video
    kinds = str(d.images.to_dict())
    assert "counter_video" in kinds and "customer_photo" in kinds
    assert d.sla_seconds == 300  # the shortest SLA of the fired rules


def test_reject_beats_everything(book):
    d = book.evaluate(teller(**{"transaction.code": "CASH_WITHDRAWAL", "transaction.amount": 90000.0,
                                "transaction.account_status": "BLOCKED"}))
    assert d.outcome is Outcome.REJECT
    assert d.fired[0].id == "blocked-account"


def test_field_to_field_comparison(book):
    facts = {"channel": "mobile", "transaction.code": "WEALTH_PURCHASE",
             "transaction.product_risk_level": 4, "customer.risk_level": 2}
    assert book.evaluate(facts).outcome is Outcome.REMOTE
    facts["customer.risk_level"] = 4
    assert book.evaluate(facts).outcome is Outcome.NONE


def test_upstream_trigger_code(book):
    d = book.evaluate(teller(**{"transaction.code": "TRANSFER", "transaction.amount": 10.0,
                                "trigger_codes": ["OVER_OPERATOR_LIMIT"]}))
    assert [f.id for f in d.fired] == ["over-operator-limit"]


def test_password_reset_is_onsite(book):
    assert book.evaluate(teller(**{"transaction.code": "PASSWORD_RESET"})).outcome is Outcome.ONSITE


def test_scene_not_offered_on_channel_rejects(book):
    d = book.evaluate({"channel": "mobile", "transaction.code": "ACCOUNT_FREEZE", "trigger_codes": []})
    assert d.outcome is Outcome.REJECT
    assert d.fired[-1].id == "scene:account-maintenance"


def test_history_counters(book):
    facts = teller(**{"transaction.code": "CASH_WITHDRAWAL", "transaction.amount": 40000.0})
    assert book.counter_contributions(facts) == {"cash_today": 40000.0}
    facts["history.cash_today"] = 120000.0
    assert [f.id for f in book.evaluate(facts).fired] == ["cash-daily-cumulative", "cash-withdrawal-small"]
    assert book.counter_contributions(teller(**{"transaction.code": "BALANCE"})) == {}


def test_evaluation_leaves_no_state_behind(book):
    facts = teller(**{"transaction.code": "CASH_WITHDRAWAL", "transaction.amount": 80000.0})
    first = book.evaluate(facts)
    for _ in range(2000):  # far past durable_rules' 1024-session limit
        book.evaluate(facts)
    assert book.evaluate(facts) == first


def write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path


BASE = """
image_kinds:
  - id: id_document
    types: [id_card_front]
scenes:
  - id: s1
    category: cash
"""


def refused(tmp_path: Path, triggers: str) -> str:
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "triggers.yaml", triggers)
    with pytest.raises(RuleSetError) as e:
        RuleBook.load(tmp_path)
    return str(e.value)


def test_unknown_field_is_refused_with_file_line_and_rule(tmp_path):
    msg = refused(tmp_path, "triggers:\n  - id: t1\n    outcome: remote\n    scene: s1\n"
                            "    when: {transaction.amout: {gte: 5}}\n")
    assert f"{tmp_path}/triggers.yaml:5: t1: unknown field 'transaction.amout'" in msg


def test_unknown_scene_and_duplicate_id_are_all_listed(tmp_path):
    msg = refused(tmp_path, "triggers:\n"
                            "  - id: t1\n    outcome: remote\n    scene: nope\n"
                            "    when: {transaction.code: X}\n"
                            "  - id: t1\n    outcome: reject\n    when: {transaction.code: Y}\n")
    assert "triggers.yaml:4: t1: unknown scene 'nope'" in msg  # the line of `scene:`
    assert "triggers.yaml:6: t1: duplicate id (first defined at line 2)" in msg


def test_wrong_types_and_unknown_parameters_are_refused(tmp_path):
    msg = refused(tmp_path, "triggers:\n"
                            "  - id: t1\n    outcome: remote\n    scene: s1\n"
                            "    when: {transaction.amount: {gte: ten}}\n"
                            "  - id: t2\n    outcome: remote\n    scene: s1\n"
                            "    when: {transaction.amount: {gte: $nope}}\n"
                            "  - id: t3\n    outcome: maybe\n    when: {transaction.code: Z}\n")
    assert "t1: transaction.amount: gte compares numbers" in msg
    assert "t2: unknown parameter '$nope'" in msg
    assert "t3: outcome must be one of" in msg


def test_bad_yaml_names_the_line(tmp_path):
    msg = refused(tmp_path, "triggers:\n  - id: t1\n   bad: [\n")
    assert "triggers.yaml:3" in msg and "bad YAML" in msg


def test_unknown_image_kind_in_scene(tmp_path):
    write(tmp_path, "base.yaml", BASE.replace("category: cash", "category: cash\n"
                                              "    images: {kind: selfie}"))
    with pytest.raises(RuleSetError) as e:
        RuleBook.load(tmp_path)
    assert "base.yaml:8: s1: unknown image kind 'selfie'" in str(e.value)


def test_not_is_pushed_down(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "t.yaml", "triggers:\n  - id: t1\n    outcome: remote\n    scene: s1\n"
                              "    when:\n      not: {transaction.amount: {between: [10, 20]}}\n")
    book = RuleBook.load(tmp_path)
    assert book.evaluate({"channel": "teller", "transaction.amount": 5.0}).outcome is Outcome.REMOTE
    assert book.evaluate({"channel": "teller", "transaction.amount": 15.0}).outcome is Outcome.NONE


def test_a_counter_filter_with_an_overridden_parameter_counts_at_the_outlet_s_value(book):
    # large_today counts amounts from $large_cash on, which Shanghai (BR-SH) raises to 80,000
    base = {"transaction.code": "TRANSFER", "transaction.amount": 60000.0}
    assert book.counter_contributions(teller(**base)).get("large_today") == 1.0
    assert "large_today" not in book.counter_contributions(teller(**base, **{"outlet.id": "OUT-SH-001"}))
