"""Statistics over a generated history with known answers: every figure against the value
worked out from the plan (tests/stats_history.py), on real SQLite files."""

import asyncio
import math

import pytest
from foureyes.errors import InvalidRequest
from foureyes.rules.book import DEFAULT_RULES, RuleBook
from foureyes.store.api_calls import ApiCalls
from foureyes.store.histogram import RESOLUTION, bucket_of, middle_of
from foureyes.store.rollup import COUNTS, MEASURES, RollUp
from foureyes.store.stats import Stats
from foureyes.tests import stats_history as h

END = h.START + h.DAYS * 86400
UNITS_OF = RuleBook.load(DEFAULT_RULES).units_of


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    cases = h.plan(1000)
    data = tmp_path_factory.mktemp("history")
    asyncio.run(h.write(data, cases, shards=2))
    return cases, data


def report(data, since=h.START, until=END, by="day", group="all", refresh=True):
    roll = RollUp(data, UNITS_OF)
    try:
        if refresh:
            roll.refresh()
        return Stats(roll.conn, sorted(data.glob("api-*.sqlite"))).report(since, until, by, group)
    finally:
        roll.close()


def nearest_rank(values, q):
    values = sorted(values)
    return values[max(1, math.ceil(q * len(values))) - 1]


def assert_timing(summary, durations, what):
    assert summary.n == len(durations), what
    if not durations:
        return
    assert summary.max == pytest.approx(max(durations)), what
    assert summary.mean == pytest.approx(sum(durations) / len(durations)), what
    for q, got in ((0.5, summary.p50), (0.9, summary.p90)):
        exact = nearest_rank(durations, q)
        # the bucket's middle, never above the maximum: within the resolution of the exact
        assert exact / (1 + RESOLUTION) * 0.999 <= got <= exact * (1 + RESOLUTION) * 1.001, (what, q)


def assert_rows_match(rep, exp, requests, group, periods):
    """Every row of the report against the plan: counts, derived rates, timings."""
    seen = set()
    for row in rep.rows:
        start, end = periods[row.period]
        seen.add((row.period, row.group))
        for figure in COUNTS:
            source = requests if figure in ("requests", "required", "refused") else exp
            assert row.counts[figure] == source.count(group, row.group, figure, start, end), \
                (row.period, row.group, figure)
        for m in MEASURES:
            assert_timing(row.timings[m], exp.times(group, row.group, m, start, end),
                          (row.period, row.group, m))
        c = row.counts
        verdicts = c["approved"] + c["rejected"] + c["returned"]
        f = row.figures()
        assert f["authorization_rate"] == pytest.approx(c["required"] / c["requests"] if c["requests"] else 0)
        assert f["pass_rate"] == pytest.approx(c["approved"] / verdicts if verdicts else 0)
        assert f["return_rate"] == pytest.approx(c["returned"] / verdicts if verdicts else 0)
        decided = c["approved"] + c["rejected"]
        assert f["sla_met_share"] == pytest.approx(c["sla_met"] / decided if decided else 0)
    # and no (period, value) the plan has is missing from the report
    planned = {(p, v) for (hr, d, v) in [*exp.counts, *requests.counts] if d == group
               for p, (s, e) in periods.items() if s <= hr < e}
    assert planned <= seen


def day_periods():
    import datetime as dt

    return {dt.datetime.fromtimestamp(h.START + i * 86400).strftime("%Y-%m-%d"):
            (h.START + i * 86400, h.START + (i + 1) * 86400) for i in range(h.DAYS)}


@pytest.mark.parametrize("group", ["all", "channel", "scene", "code", "seat", "outlet"])
def test_every_figure_by_day_equals_the_plan(history, group):
    cases, data = history
    rep = report(data, group=group)
    assert_rows_match(rep, h.expected(cases), h.expected_requests(cases), group, day_periods())


def test_the_totals_count_every_case_once_by_its_outcome(history):
    cases, data = history
    (total,) = report(data).totals
    assert total.counts["created"] == len(cases)
    fates = [h.FATES[i % len(h.FATES)] for i in range(len(cases))]
    assert total.counts["approved"] == sum(f in ("approved", "declined", "two") for f in fates)
    assert total.counts["rejected"] == fates.count("rejected")
    assert total.counts["returned"] == fates.count("returned")
    assert total.counts["cancelled"] == fates.count("cancelled") + fates.count("returned")
    assert total.counts["expired"] == fates.count("expired") + fates.count("timeout")
    assert total.counts["declined"] == fates.count("declined")
    assert total.counts["timed_out"] == fates.count("timeout")
    assert total.counts["escalated"] == fates.count("expired")
    assert total.counts["requests"] == 3 * len(cases)
    assert total.figures()["authorization_rate"] == pytest.approx(1 / 3)
    exp = h.expected(cases)
    for m in MEASURES:
        assert_timing(total.timings[m], exp.times("all", "", m, h.START, END), m)


def test_reasons_are_ranked_and_hot_and_slow_business_named(history):
    cases, data = history
    rep = report(data)
    exp = h.expected(cases)
    for verdict in ("rejected", "returned"):
        got = [(r.code, r.count) for r in rep.reasons if r.verdict == verdict]
        want = sorted(((c, n) for (v, c), n in exp.reasons.items() if v == verdict),
                      key=lambda cn: (-cn[1], cn[0]))
        assert got == want
    by_scene = {s: sum(p.scene == s for p in cases) for s, _ in h.SCENES}
    assert [(r.name, r.cases) for r in rep.hot_scenes] == sorted(
        by_scene.items(), key=lambda sn: (-sn[1], sn[0]))
    means = {}
    for _, code in h.SCENES:
        took = exp.times("code", code, "request_decision", h.START, END)
        means[code] = sum(took) / len(took)
    assert [r.name for r in rep.slow_codes] == sorted(means, key=lambda c: -means[c])
    for r in rep.slow_codes:
        assert r.decision.mean == pytest.approx(means[r.name])


@pytest.mark.parametrize("level", ["branch", "legal_entity", "head_office"])
def test_figures_roll_up_through_the_organisation(history, level):
    cases, data = history
    rep = report(data, group=level)
    outlets = {r.group: r for r in report(data, group="outlet").totals}
    index = h.LEVELS.index(level)
    for total in rep.totals:
        below = [o for o, chain in h.CHAINS.items() if chain[index] == total.group]
        assert below
        for figure in COUNTS:
            assert total.counts[figure] == sum(outlets[o].counts[figure] for o in below), figure
        # and the durations of every case below, merged
        exp = h.expected(cases)
        for m in MEASURES:
            assert_timing(total.timings[m], exp.times(level, total.group, m, h.START, END), m)
    assert_rows_match(rep, h.expected(cases), h.expected_requests(cases), level, day_periods())


def test_by_hour_an_event_counts_in_the_hour_it_happened(tmp_path):
    """A case created a moment before 10:00 and decided after it: created in the 09:00 row,
    offered, accepted and approved in the 10:00 row, request → decision measured there."""
    ten = h.START + 10 * 3600
    p = h.Planned("C-edge", "teller", "OUT-SH-001", "cash-withdrawal", "CASH_WITHDRAWAL", 300)
    p.events = [(ten - 0.25, "create", {}), (ten, "offer", {"seat": "seat-1"}),
                (ten + 2, "accept", {"seat": "seat-1"}),
                (ten + 62, "decide", {"seat": "seat-1", "verdict": h.Verdict.APPROVE})]
    q = h.Planned("C-late", "teller", "OUT-SH-001", "cash-withdrawal", "CASH_WITHDRAWAL", 300)
    q.events = [(ten + 3599.75, "create", {})]
    asyncio.run(h.write(tmp_path, [p, q]))
    rep = report(tmp_path, ten - 3600, ten + 7200, by="hour")
    rows = {r.period[-5:]: r for r in rep.rows}
    assert set(rows) == {"09:00", "10:00"}
    assert rows["09:00"].counts["created"] == 1 and rows["09:00"].counts["approved"] == 0
    assert rows["10:00"].counts["created"] == 1 and rows["10:00"].counts["approved"] == 1
    assert rows["10:00"].timings["request_offer"].max == pytest.approx(0.25)
    assert rows["10:00"].timings["request_decision"].max == pytest.approx(62.25)
    assert rows["10:00"].counts["sla_met"] == 1
    # a question for part of an hour covers the whole hour
    (part,) = report(tmp_path, ten + 600, ten + 1200, by="hour").rows
    assert part.counts["approved"] == 1


def test_a_restart_in_the_middle_gives_the_same_numbers(tmp_path, history):
    """Half the history committed, rolled up, the roll-up's process gone (a new RollUp with
    no memory); a second process refreshes between; the rest committed: the same figures as
    the data directory rolled up in one go."""
    cases, whole = history
    mid = h.START + 1.5 * 86400
    asyncio.run(h.write(tmp_path, cases, shards=2, upto=mid))
    report(tmp_path)  # rolls up the first half, then closes
    asyncio.run(h.write(tmp_path, cases, shards=2, since=mid))
    other = RollUp(tmp_path, UNITS_OF)
    other.refresh()  # a second process, in between
    other.close()
    report(tmp_path, refresh=False)
    for group in ("all", "seat", "branch"):
        again = report(tmp_path, by="hour", group=group)
        once = report(whole, by="hour", group=group)
        assert again.to_dict() == once.to_dict()


def test_the_roll_up_is_not_counted_twice_and_catches_up_with_new_events(tmp_path):
    cases = h.plan(40, seed=3)
    asyncio.run(h.write(tmp_path, cases[:20]))
    first = report(tmp_path)
    assert report(tmp_path).to_dict() == first.to_dict()  # refreshing again adds nothing
    asyncio.run(h.write(tmp_path, cases[20:]))
    (total,) = report(tmp_path).totals
    assert total.counts["created"] == 40


def test_api_calls_by_status_with_latency(tmp_path):
    async def calls():
        api = ApiCalls(tmp_path / "api-gw1.sqlite")
        await api.open()
        hour = h.START + 3600
        for i in range(10):
            api.record(hour + i, "/foureyes.v1.TellerChannel/Authorize", "OK", 0.002 * (i + 1))
        api.record(hour + 20, "/foureyes.v1.TellerChannel/Authorize", "INVALID_ARGUMENT", 0.001)
        api.record(hour + 3600, "/foureyes.v1.SeatService/Connect", "OK", 0.5)
        await api.close()

    asyncio.run(calls())
    rep = report(tmp_path, by="hour")
    first, second = rep.api
    assert first.calls == 11 and first.by_status == {"OK": 10, "INVALID_ARGUMENT": 1}
    assert first.success_rate == pytest.approx(10 / 11)
    assert first.latency.max == pytest.approx(0.02)
    assert first.latency.mean == pytest.approx((0.11 + 0.001) / 11)
    assert second.calls == 1


@pytest.mark.parametrize("since, until, by, group", [
    (END, h.START, "day", "all"), (h.START, END, "week", "all"), (h.START, END, "day", "teller"),
    (h.START, math.inf, "day", "all")])
def test_bad_questions_are_invalid_requests(tmp_path, since, until, by, group):
    with pytest.raises(InvalidRequest):
        report(tmp_path, since, until, by, group)


def test_buckets_are_log_spaced_within_the_stated_resolution():
    for seconds in (0.0011, 0.037, 1.0, 59.9, 3600.0, 86_399.0):
        assert abs(middle_of(bucket_of(seconds)) / seconds - 1) <= RESOLUTION + 1e-9


@pytest.mark.parametrize("tz", ["UTC", "Asia/Shanghai", "America/New_York"])
def test_days_and_months_in_any_time_zone_add_up_hour_by_hour(history, tz):
    """Periods are local; the roll-ups are by UTC hour and UTC day. A question that starts
    and ends part-way through days, in zones 8 hours ahead and 5 behind: every period's
    figures are those of its hours."""
    import os
    import time as clock
    from collections import defaultdict

    from foureyes.store.rollup import hour_of
    from foureyes.store.stats import label

    cases, data = history
    exp = h.expected(cases)
    old = os.environ.get("TZ")
    os.environ["TZ"] = tz
    clock.tzset()
    try:
        since, until = h.START + 5 * 3600 + 1234, END - 7 * 3600 - 60
        for by in ("day", "month"):
            rep = report(data, since, until, by=by)
            want: dict = defaultdict(lambda: defaultdict(int))
            took: dict = defaultdict(list)
            for (hr, d, _), c in exp.counts.items():
                if d == "all" and hour_of(since) <= hr < math.ceil(until / 3600) * 3600:
                    for figure, n in c.items():
                        want[label(hr, by)][figure] += n
            for (hr, d, _, m), xs in exp.durations.items():
                if d == "all" and m == "request_decision" and \
                        hour_of(since) <= hr < math.ceil(until / 3600) * 3600:
                    took[label(hr, by)] += xs
            got = {r.period: r for r in rep.rows}
            assert set(got) == set(want)
            for period, counts in want.items():
                assert {f: got[period].counts[f] for f in counts} == dict(counts), (by, period)
                assert_timing(got[period].timings["request_decision"], took[period], period)
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        clock.tzset()
