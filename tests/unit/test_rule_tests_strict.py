"""The rule test runner: strict test files, exact image trees and review points,
parameterised rows, and history given as earlier transactions fed through the real window."""

import shutil
import textwrap
from pathlib import Path

import pytest
from foureyes.errors import RuleSetError
from foureyes.rules import testing
from foureyes.rules.book import DEFAULT_RULES, RuleBook


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES, target)
    (target / "triggers_test.yaml").unlink()
    return target


def run(rules: Path, text: str) -> testing.TestReport:
    (rules / "x_test.yaml").write_text(textwrap.dedent(text))
    book = RuleBook.load(rules)
    return testing.run_tests(book, testing.load_tests(rules, book))


def refused(rules: Path, text: str) -> list[str]:
    with pytest.raises(RuleSetError) as e:
        run(rules, text)
    return [str(p).replace(f"{rules}/x_test.yaml:", "") for p in e.value.problems]


def failures(report: testing.TestReport) -> dict[str, list[str]]:
    return {t.name: problems for t, problems in report.failed}


def test_a_test_that_would_test_nothing_is_refused_with_every_reason(rules):
    found = refused(rules, """
        defaults: {channel: teller, trigger_codes: []}
        tests:
          - name: typos
            facts: {transaction.code: CASH_WITHDRAWAL, transaction.amout: 80000, extra.new_limit: lots}
            expect:
              outcome: remote-ish
              scene: cash-withdrawl
              fired: [cash-withdrawal-larg]
              reasons: {nope: x}
              images: [selfie]
          - name: types
            facts: {channel: mobil, transaction.amount: "80000", extra.purpose: 5, customer.age: old}
            expect: {outcome: none}
            colour: red
        """)
    assert found == [
        "5: typos: unknown fact 'transaction.amout': no rule reads it, so this test would test nothing",
        "5: typos: extra.new_limit: 'lots' is not a number (digits, optionally a point and decimals)",
        "7: typos: unknown outcome 'remote-ish' — one of none, onsite, remote, reject",
        "8: typos: unknown scene 'cash-withdrawl'",
        "9: typos: fired: unknown rule 'cash-withdrawal-larg'",
        "10: typos: reasons: unknown rule 'nope'",
        "11: typos: images: unknown image kind 'selfie'",
        "15: types: unknown key colour (use name, description, facts, expect, at, history, columns, rows)",
        "13: types: channel: unknown value 'mobil' — one of teller, self_service, mobile",
        "13: types: transaction.amount: '80000' is not a number",
        "13: types: unknown fact 'extra.purpose': no rule reads it, so this test would test nothing",
        "13: types: customer.age: 'old' is not a number",
    ]


def test_images_as_an_exact_tree_and_review_points_exactly(rules):
    report = run(rules, """
        defaults: {channel: teller, trigger_codes: []}
        tests:
          - name: right tree, written in another order and nesting
            facts: {transaction.code: CASH_WITHDRAWAL, transaction.amount: 250000}
            expect:
              images:
                all_of:
                  - {kind: onsite_media, type: counter_video}
                  - {all_of: [{kind: cash_voucher, type: withdrawal_slip}]}
                  - any_of: [{kind: id_document, type: passport}, {kind: id_document, type: id_card_front}]
          - name: any-of is not all-of
            facts: {transaction.code: CASH_WITHDRAWAL, transaction.amount: 80000}
            expect:
              images:
                all_of:
                  - all_of: [{kind: id_document, type: id_card_front}, {kind: id_document, type: passport}]
                  - {kind: cash_voucher, type: withdrawal_slip}
              review_points: {exactly: [ID document matches the account holder]}
        """)
    assert [t.name for t in report.passed] == ["right tree, written in another order and nesting"]
    [(_, problems)] = report.failed
    assert problems == [
        "images: expected all of (all of (id_document/id_card_front, id_document/passport), "
        "cash_voucher/withdrawal_slip), got all of (any of (id_document/id_card_front, "
        "id_document/passport), cash_voucher/withdrawal_slip)",
        "review_points: expected exactly ['ID document matches the account holder'], got "
        "['ID document matches the account holder', 'Signature on the withdrawal slip matches the "
        "specimen', 'Purpose of the cash is plausible for the amount']",
    ]


def test_parameterised_rows_are_one_test_each_at_their_own_line(rules):
    report = run(rules, """
        defaults: {channel: teller, trigger_codes: []}
        tests:
          - name: bands
            facts: {transaction.code: CASH_WITHDRAWAL}
            expect: {scene: cash-withdrawal}
            columns: [transaction.amount, outcome, level]
            rows:
              - [50000, remote, 1]
              - [200000, remote, 1]
        """)
    assert [(t.name, t.line) for t in report.passed] == [("bands [transaction.amount=50000]", 9)]
    [(test, problems)] = report.failed
    assert (test.name, test.line, problems) == ("bands [transaction.amount=200000]", 10,
                                                ["level: expected 1, got 2"])


SEQUENCE = """
defaults: {channel: teller, trigger_codes: []}
tests:
  - name: five transfers within the hour
    at: "2026-11-23 09:00"
    history:
      - {ago: %s, transaction.code: TRANSFER, transaction.amount: 5000}
      - {at: "08:20", transaction.code: TRANSFER, transaction.amount: 6000}
      - {at: "08:30", transaction.code: TRANSFER, transaction.amount: 7000, key: same}
      - {at: "08:31", transaction.code: TRANSFER, transaction.amount: 7000, key: same}
      - {at: "08:40", transaction.code: TRANSFER, transaction.amount: 8000}
    facts: {transaction.code: TRANSFER, transaction.amount: 5000}
    expect: {outcome: remote, fired: [rapid-transfers]}
"""


@pytest.mark.parametrize(("first", "passes"), [("59m59s", True), ("1h", False), ("61m", False)])
def test_a_sequence_goes_through_the_customer_window_up_to_its_boundary(rules, first, passes):
    report = run(rules, SEQUENCE % first)
    assert report.ok is passes
    [test] = report.passed or [t for t, _ in report.failed]
    seen = testing.facts_of(RuleBook.load(rules), test)
    # a retry with the same key counts once; the first one is inside the hour only at 59m59s
    assert seen["history.transfers_1h"] == (5 if passes else 4)


def test_today_starts_at_local_midnight(rules):
    report = run(rules, """
        defaults: {channel: teller, trigger_codes: []}
        tests:
          - name: yesterday 23:59:59 is not today
            at: "2026-11-23 00:00"
            history:
              - {at: "2026-11-22 23:59:59", transaction.code: CASH_WITHDRAWAL, transaction.amount: 90000}
            facts: {transaction.code: CASH_WITHDRAWAL, transaction.amount: 20000}
            expect: {fired: [cash-withdrawal-small, cash-daily-cumulative]}
        """)
    assert failures(report) == {"yesterday 23:59:59 is not today":
                                ["fired: did not fire cash-daily-cumulative"]}


def test_malformed_sequences_are_refused(rules):
    found = refused(rules, """
        defaults: {channel: teller, trigger_codes: []}
        tests:
          - name: seq
            history:
              - {at: 10:30, transaction.code: TRANSFER}
              - {ago: soon, transaction.code: TRANSFER}
              - {at: "11:00", ago: 5m}
              - {at: "13:00", transaction.code: TRANSFER}
            facts: {transaction.code: TRANSFER, history.transfers_1h: 3}
            expect: {outcome: none}
        """)
    assert found == [
        '6: seq: at: 630 is not a time; write "2026-11-23 09:30", or "09:30" in a history entry '
        "(in quotes: YAML reads 10:30 as a number)",
        "7: seq: ago: 'soon' is not a duration like 30m or 1h5s",
        "8: seq: each earlier transaction gives `at:` or `ago:` (e.g. 30m) and its facts",
        "9: seq: earlier transactions come in time order, before the test's own",
        "4: seq: give either `history:` or the totals (history.transfers_1h), not both",
    ]
