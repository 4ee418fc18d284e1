"""Declared facts: types, conversion of a channel's text, enum values checked in conditions,
every problem listed at its own line, personal data masked."""

import textwrap
from pathlib import Path

import pytest
from foureyes.errors import InvalidRequest, RuleSetError
from foureyes.rules.book import RuleBook
from foureyes.rules.explain import explain
from foureyes.rules.model import Outcome

FACTS = """
facts:
  - {id: extra.new_limit, type: number, min: 0}
  - {id: extra.fee, type: decimal, places: 2}
  - {id: customer.status, type: enum, values: [active, dormant]}
  - {id: extra.opened, type: date}
  - {id: extra.verified, type: boolean}
  - {id: extra.id_number, type: text, personal: true}
scenes:
  - {id: s, category: general}
triggers:
  - id: raise
    when:
      extra.new_limit: {between: [50000, 500000]}
      customer.status: dormant
    outcome: remote
    scene: s
    reason: "raise to {extra.new_limit} for {extra.id_number}"
  - id: old-unverified
    when: {extra.opened: {lt: 2020-01-01}, extra.verified: false}
    outcome: remote
    scene: s
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "rules.yaml").write_text(textwrap.dedent(text))
    return tmp_path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(RuleSetError) as e:
        RuleBook.load(write(tmp_path, text))
    return [str(p).replace(f"{tmp_path}/rules.yaml:", "") for p in e.value.problems]


def test_a_channel_s_text_is_converted_to_the_declared_type_and_then_matches(tmp_path):
    book = RuleBook.load(write(tmp_path, FACTS))
    request = {"channel": "teller", "extra.new_limit": "100000", "extra.customer.status": "dormant",
               "extra.id_number": "310101199001011234"}
    facts = book.coerce(request)
    assert facts["extra.new_limit"] == 100000.0 and facts["customer.status"] == "dormant"
    assert "extra.customer.status" not in facts  # a customer attribute arrives in extra
    d = book.evaluate(facts)
    assert [f.id for f in d.fired] == ["raise"]
    assert d.fired[0].reason == "raise to 100,000 for **************1234"  # personal: masked
    assert book.evaluate(request).outcome is Outcome.NONE  # unconverted text never matches
    dates = book.coerce({"channel": "teller", "extra.opened": "2019-05-01", "extra.verified": "false"})
    assert dates["extra.opened"] == 20190501 and dates["extra.verified"] is False
    assert [f.id for f in book.evaluate(dates).fired] == ["old-unverified"]
    assert book.masked(facts)["extra.id_number"] == "**************1234"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("extra.new_limit", "lots",
     "extra.new_limit: 'lots' is not a number (digits, optionally a point and decimals)"),
    ("extra.new_limit", "-5", "extra.new_limit: -5 is below the least allowed, 0"),
    ("extra.fee", "1.234", "extra.fee: '1.234' has more than 2 decimals"),
    ("extra.customer.status", "gone", "customer.status: 'gone' is not one of active, dormant"),
    ("extra.opened", "yesterday", "extra.opened: 'yesterday' is not a date like 2026-11-23"),
    ("extra.verified", "maybe", "extra.verified: 'maybe' is not true or false"),
])
def test_a_value_not_of_its_declared_type_is_an_invalid_request_naming_the_attribute(
        tmp_path, name, value, message):
    book = RuleBook.load(write(tmp_path, FACTS))
    with pytest.raises(InvalidRequest) as e:
        book.coerce({"channel": "teller", name: value})
    assert str(e.value) == message


def test_undeclared_extra_is_text_and_a_numeric_test_on_it_is_refused(tmp_path):
    found = problems(tmp_path, FACTS.replace("  - {id: extra.new_limit, type: number, min: 0}\n", ""))
    assert "13: raise: extra.new_limit: between compares numbers, but extra.new_limit is text" in found


def test_enum_values_are_checked_in_conditions_one_problem_per_line(tmp_path):
    found = problems(tmp_path, """
        facts:
          - {id: transaction.code, type: enum, values: [CASH_WITHDRAWAL, TRANSFER]}
        scenes:
          - {id: s, category: general, channels: [teller, kiosk]}
        triggers:
          - id: t
            when:
              channel: mobil
              transaction.code: {in: [TRANSFER, CASH_WITHDRAWL]}
              transaction.amount: {gte: lots}
            outcome: remote
            scene: s
            reason: "{transaction.amout} over {param.limt}"
        """)
    assert found == [
        "5: s: unknown channel(s) kiosk — one of teller, self_service, mobile",
        "9: t: unknown channel 'mobil' — one of teller, self_service, mobile",
        "10: t: unknown transaction.code 'CASH_WITHDRAWL' — one of CASH_WITHDRAWAL, TRANSFER",
        "11: t: transaction.amount: gte compares numbers",
        "14: t: reason: unknown placeholder {transaction.amout}",
        "14: t: reason: unknown placeholder {param.limt}",
    ]


def test_bad_declarations_image_kinds_and_duplicates_across_files(tmp_path):
    (tmp_path / "first.yaml").write_text("image_kinds:\n  - {id: id_document, types: [passport]}\n")
    found = problems(tmp_path, """
        facts:
          - {id: extra.size, type: huge}
          - {id: extra.colour, type: enum}
          - {id: transaction.amount, type: text}
          - {id: Extra-Thing, type: text}
        image_kinds:
          - {id: id_document, types: [id_card_front]}
          - {id: photo, types: [face], colour: red}
        """)
    assert "3: extra.size: type must be one of number, decimal, text, enum, date, boolean" in found
    assert "4: extra.colour: an enum needs `values: [...]`, and only an enum has them" in found
    assert ("5: transaction.amount: transaction.amount is built in as number; only a built-in text field "
            "can be declared, as an enum") in found
    assert ("6: Extra-Thing: a declared fact is extra.<name> or customer.<name> (lower case, digits "
            "and _)") in found
    assert f"8: id_document: duplicate id (first defined at {tmp_path}/first.yaml:2)" in found
    assert "9: photo: unknown field colour (use description, id, name, types)" in found


def test_explain_masks_personal_data_and_prints_the_image_tree(tmp_path):
    book = RuleBook.load(write(tmp_path, """
        image_kinds:
          - {id: id_document, types: [id_card_front, passport]}
          - {id: voucher}
        scenes:
          - id: s
            category: general
            images: {all_of: [{at_least: 1, of: [{kind: id_document, type: passport}, {kind: voucher}]},
                              {kind: voucher}]}
        triggers:
          - id: card
            when: {transaction.account: {prefix: "6222"}}
            outcome: remote
            scene: s
        """))
    lines = explain(book, {"channel": "teller", "transaction.account": "6222000011112222"})
    text = "\n".join(lines)
    assert "6222000011112222" not in text
    assert "✓ transaction.account prefix (personal)  (is ************2222)" in text
    start = lines.index("images:")
    assert lines[start:start + 5] == ["images:", "  all of:", "    at least 1 of:",
                                      "      id_document / passport", "      voucher"]
