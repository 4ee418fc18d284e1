"""Decision tables: hit policies evaluated through durable_rules, overlap and gap checks."""

import textwrap
from pathlib import Path

import pytest
from foureyes.errors import RuleSetError
from foureyes.rules.book import RuleBook
from foureyes.rules.model import Outcome
from foureyes.service import cli

BASE = """
organisation:
  - {id: HQ, level: head_office}
  - {id: LE, level: legal_entity, parent: HQ}
  - {id: BR, level: branch, parent: LE}
  - {id: OUT1, level: outlet, parent: BR}
scenes:
  - {id: cash, category: cash}
parameters:
  - id: low
    default: 50000
    overrides: {BR: 250000}
  - {id: high, default: 200000}
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "base.yaml").write_text(textwrap.dedent(BASE))
    (tmp_path / "table.yaml").write_text(textwrap.dedent(text))
    return tmp_path


def table(hit: str, rows: str, gaps: str = "ignore") -> str:
    return f"""
tables:
  - id: bands
    hit: {hit}
    gaps: {gaps}
    when: {{transaction.code: CASH_WITHDRAWAL}}
    inputs: [transaction.amount]
    outputs: [id, outcome, level, scene, reason]
    rows:
{textwrap.indent(textwrap.dedent(rows).strip(), "      ")}
"""


def fired(book: RuleBook, amount: float, outlet: str = "") -> list[str]:
    d = book.evaluate({"channel": "teller", "outlet.id": outlet, "transaction.code": "CASH_WITHDRAWAL",
                       "transaction.amount": amount})
    return sorted(f.id for f in d.fired)


OVERLAPPING = """
- [">= 10000", r1, remote, 1, cash, from ten thousand]
- [">= 50000", r2, remote, 3, cash, from fifty thousand]
- ["-", r3, onsite, 2, cash, any amount]
"""


@pytest.mark.parametrize(("hit", "at_60000", "at_20000"), [
    ("first", ["r1"], ["r1"]),  # the first row that matches, in order
    ("priority", ["r2"], ["r1"]),  # the strictest output: remote level 3, then remote over onsite
    ("collect", ["r1", "r2", "r3"], ["r1", "r3"]),  # every row that matches
])
def test_hit_policies_choose_among_the_rows_that_match(tmp_path, hit, at_60000, at_20000):
    book = RuleBook.load(write(tmp_path, table(hit, OVERLAPPING)))
    assert fired(book, 60000) == at_60000
    assert fired(book, 20000) == at_20000
    assert fired(book, 5000) == ["r3"]  # a `-` cell matches any amount
    assert book.evaluate({"channel": "teller", "transaction.code": "TRANSFER",
                          "transaction.amount": 60000}).outcome is Outcome.NONE  # the table's `when`


def test_a_unique_table_with_an_overlap_and_a_gap_is_refused_naming_lines_and_rows(tmp_path, capsys):
    write(tmp_path, table("unique", """
        - ["[0..50000)", small, none, 1, "-", small]
        - ["[40000..200000]", large, remote, 1, cash, large]
        - ["> 300000", huge, remote, 2, cash, huge]
        """, gaps="error"))
    assert cli.main(["rules", "check", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    where = f"{tmp_path}/table.yaml"
    assert (f"{where}:11: bands: rows 1 and 2 overlap (lines 10 and 11), e.g. both match "
            "transaction.amount = 40000; a unique table needs exactly one row to match") in err
    assert (f"{where}:3: bands: gap: no row covers transaction.amount in (200,000, 300,000] "
            "(after row 2 and before row 3)") in err
    assert err[-1] == "2 problem(s); the rule set was refused"


def test_gaps_are_warnings_unless_the_table_asks_for_errors(tmp_path, capsys):
    write(tmp_path, table("unique", """
        - ["< 50000", small, none, 1, "-", small]
        - [">= 60000", large, remote, 1, cash, large]
        """, gaps="warn"))
    assert cli.main(["rules", "check", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    gap = (f"{tmp_path}/table.yaml:3: bands: gap: no row covers transaction.amount in [50,000, 60,000) "
           "(after row 1 and before row 2)")
    assert f"warning: {gap}" in err
    assert [str(w) for w in RuleBook.load(tmp_path).ruleset.warnings] == [gap]


def test_overlaps_are_looked_for_at_every_outlet_s_parameters(tmp_path):
    rows = """
        - ["< $low", small, none, 1, "-", small]
        - ["[$low..$high)", large, remote, 1, cash, large]
        - [">= $high", huge, remote, 2, cash, huge]
        """
    with pytest.raises(RuleSetError) as e:
        RuleBook.load(write(tmp_path, table("unique", rows, gaps="error")))
    [problem] = e.value.problems  # BR raises `low` above `high`: rows 1 and 3 overlap there only
    assert "rows 1 and 3 overlap" in problem.message and "transaction.amount = 200000" in problem.message
    assert problem.message.endswith("(with the parameters at BR)")
    # the same rows under `first` are fine: the first match wins
    book = RuleBook.load(write(tmp_path, table("first", rows, gaps="error")))
    assert fired(book, 220000, outlet="OUT1") == ["small"] and fired(book, 220000) == ["huge"]


def test_two_input_columns_and_cell_forms(tmp_path):
    text = """
tables:
  - id: codes
    hit: unique
    gaps: error
    inputs: [transaction.code, customer.age]
    outputs: [outcome, level, scene, reason]
    rows:
      - [[CASH_WITHDRAWAL, TRANSFER], {gte: 70}, remote, 1, cash, elderly]
      - [[CASH_WITHDRAWAL, TRANSFER], "[0..70)", none, 1, "-", younger]
      - [PASSWORD_RESET, "-", onsite, 1, cash, reset]
"""
    with pytest.raises(RuleSetError) as e:
        RuleBook.load(write(tmp_path, text))
    gaps = sorted(p.message for p in e.value.problems)
    assert gaps == ["gap: no row covers transaction.code any other value, customer.age >= 0"], gaps
    book = RuleBook.load(write(tmp_path, text.replace("gaps: error", "gaps: ignore")))
    assert [r.id for r in book.ruleset.tables["codes"].rows] == ["codes#1", "codes#2", "codes#3"]
    d = book.evaluate({"channel": "teller", "transaction.code": "TRANSFER", "customer.age": 75})
    assert [f.id for f in d.fired] == ["codes#1"] and d.outcome is Outcome.REMOTE


def test_malformed_tables_list_every_problem_at_its_row(tmp_path):
    with pytest.raises(RuleSetError) as e:
        RuleBook.load(write(tmp_path, table("sometimes", """
            - ["< 5", a, none, 1, "-", fine]
            - ["< 5", b, remote]
            - ["< ten", c, remote, 1, cash, bad amount]
            - [">= 5", a, remote, 1, nowhere, "amount {transaction.amout}"]
            """)))
    text = [str(p).replace(f"{tmp_path}/table.yaml:", "") for p in e.value.problems]
    assert "4: bands: hit must be one of unique, first, priority, collect" in text
    assert "11: bands: row 2 needs 6 cells (transaction.amount, id, outcome, level, scene, reason)" in text
    assert "12: c: transaction.amount: lt compares numbers" in text
    assert "13: a: duplicate id (first defined at line 10)" in text


def test_rules_that_need_no_field_present_fire_once_per_request(tmp_path):
    # durable_rules matches such a rule against its own state too, for ever, unless the engine
    # makes it require a posted fact: a catch-all row and a rule of `exists: false` alone
    book = RuleBook.load(write(tmp_path, """
tables:
  - id: t
    hit: first
    inputs: [transaction.amount]
    outputs: [outcome, scene, reason]
    rows:
      - [">= 10", remote, cash, big]
      - ["-", none, "-", anything else]
triggers:
  - id: no-age
    when: {customer.age: {exists: false}}
    outcome: none
"""))
    assert sorted(f.id for f in book.evaluate({"channel": "teller"}).fired) == ["no-age", "t#2"]
    assert [f.id for f in book.evaluate({"channel": "teller", "customer.age": 30,
                                         "transaction.amount": 20}).fired] == ["t#1"]
