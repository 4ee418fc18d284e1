"""`foureyes stats --data-dir`: every flag explained, the formats, bad questions exit 2 with
nothing written."""

import asyncio
import csv
import io
import json

import pytest
from foureyes.service import cli
from foureyes.tests import stats_history as h


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    asyncio.run(h.write(d, h.plan(200, seed=5)))
    return d


ARGS = ["--since", "2026-11-02", "--until", "2026-11-05"]


def test_help_explains_every_flag(capsys):
    with pytest.raises(SystemExit):
        cli.main(["stats", "--help"])
    out = capsys.readouterr().out
    for flag in ("--data-dir", "--target", "--since", "--until", "--by", "--group", "--top",
                 "--format", "--chart"):
        assert flag in out


def test_json_csv_and_table(data, capsys):
    assert cli.main(["stats", "--data-dir", str(data), *ARGS, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["totals"][0]["created"] == 200
    assert [r["period"] for r in report["rows"]] == ["2026-11-02", "2026-11-03", "2026-11-04"]
    assert cli.main(["stats", "--data-dir", str(data), *ARGS, "--format", "csv", "--by", "hour",
                     "--group", "branch"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["group"] for r in rows} == {"BR-SH", "BR-HZ", "BR-CD"}
    assert sum(int(r["created"]) for r in rows) == sum(p.outlet != "" for p in h.plan(200, seed=5))
    assert cli.main(["stats", "--data-dir", str(data), *ARGS, "--group", "seat"]) == 0
    table = capsys.readouterr().out
    assert "handling p50/p90/max/mean" in table and "seat-0" in table


@pytest.mark.parametrize("argv, says", [
    (["--since", "2026-11-05", "--until", "2026-11-02"], "since must be before until"),
    (["--since", "yesterday"], "is not a date or time"),
    (["--top", "0"], "--top must be 1 or more"),
    (["--chart", "out.svg"], "must name a .png file"),
])
def test_bad_questions_exit_2_with_nothing_written(tmp_path, data, capsys, argv, says):
    before = sorted(p.name for p in data.iterdir())
    assert cli.main(["stats", "--data-dir", str(data), *argv]) == 2
    out, err = capsys.readouterr()
    assert says in err and out == ""
    assert sorted(p.name for p in data.iterdir()) == before


def test_a_directory_without_journals_is_refused(tmp_path, capsys):
    assert cli.main(["stats", "--data-dir", str(tmp_path / "none")]) == 2
    assert "holds no case journals" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_chart(data, tmp_path, capsys):
    pytest.importorskip("matplotlib")  # the optional `bench` extras
    png = tmp_path / "stats.png"
    assert cli.main(["stats", "--data-dir", str(data), *ARGS, "--by", "hour", "--chart",
                     str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
