"""What rule authors run: tests beside the rules, explain, replay."""

import shutil
import textwrap
from pathlib import Path

import pytest
from foureyes.errors import RuleSetError
from foureyes.rules import testing
from foureyes.rules.book import DEFAULT_RULES, RuleBook
from foureyes.rules.explain import explain
from foureyes.rules.replay import format_report, replay
from foureyes.service import cli


def test_bundled_rules_pass_their_tests_with_every_rule_exercised(capsys):
    assert cli.main(["rules", "test", str(DEFAULT_RULES), "--require-coverage"]) == 0
    out = capsys.readouterr().out
    assert " 0 failed" in out and "every rule is exercised" in out


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES, target)
    return target


def test_a_wrong_expectation_fails_and_says_what_differs(rules_copy, capsys):
    (rules_copy / "extra_test.yaml").write_text(textwrap.dedent("""
        tests:
          - name: wrong on purpose
            facts: {channel: teller, transaction.code: CASH_WITHDRAWAL, transaction.amount: 80000}
            expect: {outcome: none, level: 2, fired: [transfer-large], images: [onsite_media]}
    """))
    assert cli.main(["rules", "test", str(rules_copy)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL {rules_copy}/extra_test.yaml:3: wrong on purpose" in out
    assert "outcome: expected none, got remote" in out
    assert "level: expected 2, got 1" in out
    assert "fired: also fired cash-withdrawal-large; did not fire transfer-large" in out
    assert "images: onsite_media not required" in out


def test_uncovered_rules_are_listed(rules_copy, capsys):
    (rules_copy / "triggers_test.yaml").write_text(textwrap.dedent("""
        tests:
          - name: only one rule
            facts: {channel: teller, transaction.code: ACCOUNT_FREEZE}
            expect: {outcome: remote, fired: [account-freeze]}
    """))
    assert cli.main(["rules", "test", str(rules_copy)]) == 0
    assert cli.main(["rules", "test", str(rules_copy), "--require-coverage"]) == 1
    out = capsys.readouterr().out
    assert "rule(s) no test makes fire: cash-withdrawal-video, blocked-account," in out
    assert "account-freeze," not in out.split("no test makes fire:")[1]


def test_malformed_test_files_are_refused(rules_copy):
    (rules_copy / "bad_test.yaml").write_text(
        "tests:\n  - name: x\n    facts: {}\n    expect: {colour: red}\n")
    with pytest.raises(RuleSetError, match=r"bad_test.yaml:4: x: unknown expectation\(s\) colour"):
        testing.load_tests(rules_copy, RuleBook.load(rules_copy))


def test_explain_shows_each_test_of_each_rule():
    book = RuleBook.load()
    lines = explain(book, {"channel": "teller", "outlet.id": "OUT-SH-001",
                           "transaction.code": "CASH_WITHDRAWAL", "transaction.amount": 90000})
    text = "\n".join(lines)
    assert lines[0].startswith("decision: REMOTE  level 1  approvers 1")
    assert "[FIRED] cash-withdrawal-large (triggers.yaml:" in text
    assert "✓ transaction.amount gte param.large_cash = 80000  (is 90000)" in text
    assert "[no] blocked-account" in text
    assert "✗ transaction.account_status in [BLOCKED, CLOSED]  (is (missing))" in text


def test_replay_reports_more_cases_per_scene_and_hour_and_the_flips(rules_copy):
    triggers = rules_copy / "triggers.yaml"
    triggers.write_text(triggers.read_text().replace("    default: 50000\n", "    default: 40000\n"))
    candidate = RuleBook.load(rules_copy)
    current = RuleBook.load()
    records = []
    for i, amount in enumerate([1000, 45000, 45000, 60000, 200]):
        facts = {"channel": "teller", "trigger_codes": [], "transaction.code": "CASH_WITHDRAWAL",
                 "transaction.amount": amount}
        d = current.evaluate(facts)
        records.append({"at": 1_800_000_000 + i * 60, "channel": "teller", "request_key": f"k{i}",
                        "outcome": d.outcome.name.lower(), "scene": d.scene.id if d.scene else "",
                        "rules_version": d.rules_version, "facts": facts})
    report = replay(candidate, records)
    assert (report.cases_before, report.cases_after) == (1, 3)
    assert report.scenes["cash-withdrawal"] == [1, 3]
    assert [f.request_key for f in report.flips] == ["k1", "k2"]
    assert report.flips[0].before == "none" and report.flips[0].after == "remote/cash-withdrawal"
    text = "\n".join(format_report(report))
    assert "2 request(s) would flip" in text
    assert f"originally made by {current.version} ×5" in text
