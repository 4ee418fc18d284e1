"""`foureyes stats`: the figures managers read, from a data directory or a running service,
as a table, CSV or JSON, and optionally a chart."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from foureyes.errors import FoureyesError, InvalidRequest
from foureyes.service.rules_cli import DEFAULT_CA
from foureyes.store.rollup import DIMENSIONS, MEASURES
from foureyes.store.stats import BY, Report, Row, Stats, Summary

DEFAULT_DATA_DIR = Path("foureyes-data")
DEFAULT_DAYS = 30
FORMATS = ("table", "csv", "json")
_SHORT = {"request_offer": "req→offer", "offer_accept": "offer→accept",
          "accept_decision": "accept→decision", "request_decision": "req→decision"}


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "stats", help="statistics for managers: volume, pass rate, timeliness, hot and slow "
                      "business, per seat, API monitoring",
        description="Figures from the case journals and decision logs, kept as hourly and "
                    "daily roll-ups (a year answers in well under a second). A figure counts in the hour of "
                    "the event that completes it; questions cover whole hours; periods are "
                    "labelled in local time. Exit 2 on a bad question.")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--data-dir", type=Path,
                        help="read this data directory (default ./foureyes-data, the "
                             "service's own); brings its roll-ups up to date first")
    source.add_argument("--target", metavar="HOST:PORT",
                        help="ask a running service's StatsService instead (signed in with "
                             "--as, a supervisor or auditor)")
    p.add_argument("--database-url", default=os.environ.get("FOUREYES_DATABASE_URL"),
                   help="with --data-dir: the journals are in this PostgreSQL store (`serve "
                        "--database-url`; env FOUREYES_DATABASE_URL), the figures' cache and "
                        "the API counts in the data directory")
    p.add_argument("--ca", type=Path, default=DEFAULT_CA,
                   help=f"with --target: the CA the service's certificate is checked against "
                        f"(default {DEFAULT_CA})")
    p.add_argument("--as", dest="operator",
                   help="with --target: your operator id; the password is read from "
                        "FOUREYES_PASSWORD or asked for")
    p.add_argument("--since", help="start, local time: 2026-11-01 or '2026-11-01 09:00' "
                                   f"(default: {DEFAULT_DAYS} days before --until)")
    p.add_argument("--until", help="end, local time, exclusive (default: now)")
    p.add_argument("--by", choices=BY, default="day", help="one row per hour, day or month "
                                                           "(default day)")
    p.add_argument("--group", choices=DIMENSIONS, default="all",
                   help="one row per value of: channel; outlet, branch, legal_entity, "
                        "head_office (a case counts under its outlet and every unit above "
                        "it); scene; code (transaction code); seat (offers, reviews, verdicts "
                        "and handling time per seat); default all")
    p.add_argument("--top", type=int, default=10,
                   help="how many reasons and hot / slow entries to list (default 10)")
    p.add_argument("--format", choices=FORMATS, default="table",
                   help="table (default), csv (the rows, one line each) or json (everything)")
    p.add_argument("--chart", type=Path, metavar="FILE.png",
                   help="also draw volume with the authorization rate, timeliness and hot / "
                        "slow business into this PNG (needs matplotlib: pip install "
                        "'foureyes[bench]')")


def _moment(text: str, flag: str) -> float:
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise InvalidRequest(f"{flag} {text!r} is not a date or time like 2026-11-21 or "
                             "'2026-11-21 09:00'") from None


def run(args: argparse.Namespace) -> int:
    try:
        until = _moment(args.until, "--until") if args.until else time.time()
        since = _moment(args.since, "--since") if args.since else until - DEFAULT_DAYS * 86400
        if args.top < 1:
            raise InvalidRequest("--top must be 1 or more")
        if args.chart is not None and args.chart.suffix.lower() != ".png":
            raise InvalidRequest(f"--chart {args.chart} must name a .png file")
        if args.chart is not None:
            _matplotlib()  # before any work: say how to install it
        if args.target:
            if not args.operator:
                raise InvalidRequest("--target needs --as OPERATOR (a supervisor or auditor)")
            report = _ask(args, since, until)
        else:
            report = _read(args.data_dir or DEFAULT_DATA_DIR, since, until, args.by, args.group,
                           args.top, args.database_url)
    except FoureyesError as e:
        print(f"foureyes stats: {e}", file=sys.stderr)
        return 2
    print(render(report, args.format), end="")
    if args.chart is not None:
        chart(report, args.chart)
        print(f"chart: {args.chart}", file=sys.stderr)
    return 0


def _read(data_dir: Path, since: float, until: float, by: str, group: str, top: int,
          database_url: str | None = None) -> Report:
    from foureyes.gateway.rule_registry import RuleRegistry
    from foureyes.rules.book import DEFAULT_RULES, RuleBook
    from foureyes.store.rollup import RollUp
    from foureyes.store.stats import check

    check(since, until, by, group)
    if not database_url and (not data_dir.is_dir() or not any(data_dir.glob("cases-*.sqlite"))):
        raise InvalidRequest(f"{data_dir} holds no case journals (cases-*.sqlite); name the "
                             "service's data directory with --data-dir, or ask it with --target")
    registry = RuleRegistry(data_dir)
    book = (registry.load(registry.active_version) if registry.active_version
            else RuleBook.load(DEFAULT_RULES))
    roll = RollUp(data_dir, book.units_of, database_url)
    try:
        started = time.monotonic()

        def progress(source: str, rows: int) -> None:
            if time.monotonic() - started > 2:
                print(f"rolling up {source}: {rows} rows", file=sys.stderr, flush=True)

        roll.refresh(progress)
        return Stats(roll.conn, sorted(data_dir.glob("api-*.sqlite"))).report(
            since, until, by, group, top)
    finally:
        roll.close()


# ---------------------------------------------------------------------- asking a service

def _ask(args: argparse.Namespace, since: float, until: float) -> Report:
    from foureyes.channel_adapters.stats import PERIOD_OF, report_from_proto
    from foureyes.protos import foureyes_pb2 as pb
    from foureyes.service.rules_cli import call_as

    request = pb.StatsRequest(since=since, until=until, by=PERIOD_OF[args.by], group=args.group,
                              top=args.top)
    return report_from_proto(call_as(args, "StatsServiceStub", "GetStats", request))


# ---------------------------------------------------------------------- output

def _pct(x: float) -> str:
    return f"{x:.1%}"


def _secs(x: float) -> str:
    if x == 0:
        return "-"
    if x < 1:
        return f"{x * 1000:.0f}ms"
    return f"{x:.1f}s" if x < 60 else f"{x / 60:.1f}m" if x < 3600 else f"{x / 3600:.1f}h"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in
                       enumerate(zip(header, widths, strict=True)))]
    lines += ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in
                        enumerate(zip(r, widths, strict=True))) for r in rows]
    return "\n".join(lines) + "\n"


def _timing(s: Summary) -> str:
    return f"{_secs(s.p50)}/{_secs(s.p90)}/{_secs(s.max)}/{_secs(s.mean)}" if s.n else "-"


def render(rep: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rep.to_dict(), indent=1, ensure_ascii=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        flat = [_flat(r) for r in rep.rows]
        writer = csv.DictWriter(out, fieldnames=list(_flat(Row("", "")).keys()), lineterminator="\n")
        writer.writeheader()
        writer.writerows(flat)
        return out.getvalue()
    rows = [*rep.rows, *rep.totals]
    span = (f"{dt.datetime.fromtimestamp(rep.since):%Y-%m-%d %H:%M} – "
            f"{dt.datetime.fromtimestamp(rep.until):%Y-%m-%d %H:%M}")
    parts = [f"foureyes statistics {span}, by {rep.by}, group {rep.group}\n"]
    if rep.group == "seat":
        parts.append(_table(
            ["period", "seat", "handled", "approved", "rejected", "returned", "offered",
             "declined", "timed out", "handling p50/p90/max/mean"],
            [[r.period, r.group, str(r.handled),
              *(str(r.counts[k]) for k in ("approved", "rejected", "returned", "offered",
                                            "declined", "timed_out")),
              _timing(r.timings["accept_decision"])] for r in rows]))
    else:
        parts.append(_table(
            ["period", "group", "requests", "auth rate", "cases", "approved", "rejected",
             "returned", "cancelled", "expired", "escalated", "pass", "return", "SLA met"],
            [[r.period, r.group or "-", str(r.counts["requests"]),
              _pct(r.figures()["authorization_rate"]), str(r.counts["created"]),
              *(str(r.counts[k]) for k in ("approved", "rejected", "returned", "cancelled",
                                            "expired", "escalated")),
              _pct(r.figures()["pass_rate"]), _pct(r.figures()["return_rate"]),
              _pct(r.figures()["sla_met_share"])] for r in rows]))
    parts.append("\ntimeliness (p50/p90/max/mean)\n")
    parts.append(_table(["period", "group", *_SHORT.values()],
                        [[r.period, r.group or "-", *(_timing(r.timings[m]) for m in MEASURES)]
                         for r in rows]))
    if rep.reasons:
        parts.append("\nreasons\n" + _table(
            ["verdict", "code", "count"], [[r.verdict, r.code, str(r.count)] for r in rep.reasons]))
    for title, ranked in (("hot scenes", rep.hot_scenes), ("hot codes", rep.hot_codes),
                          ("slow scenes", rep.slow_scenes), ("slow codes", rep.slow_codes)):
        if ranked:
            parts.append(f"\n{title}\n" + _table(
                ["name", "", "cases", "requests", "req→decision p50/p90/max/mean"],
                [[r.name, "", str(r.cases), str(r.requests), _timing(r.decision)]
                 for r in ranked]))
    if rep.api:
        codes = sorted({c for a in rep.api for c in a.by_status})
        parts.append("\nAPI (unary calls)\n" + _table(
            ["period", "", "calls", "success", *codes, "latency max", "mean"],
            [[a.period, "", str(a.calls), _pct(a.success_rate),
              *(str(a.by_status.get(c, 0)) for c in codes), _secs(a.latency.max),
              _secs(a.latency.mean)] for a in rep.api]))
    return "".join(parts)


def _flat(r: Row) -> dict[str, Any]:
    out: dict[str, Any] = {"period": r.period, "group": r.group, **r.counts, **r.figures(),
                           "handled": r.handled}
    for m, s in r.timings.items():
        out.update({f"{m}_p50": s.p50, f"{m}_p90": s.p90, f"{m}_max": s.max, f"{m}_mean": s.mean})
    return out


def _matplotlib() -> Any:
    try:  # an optional package (the bench extras): imported by name, untyped
        matplotlib: Any = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        plt = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        raise InvalidRequest("--chart needs matplotlib: pip install 'foureyes[bench]' "
                             "(or pip install matplotlib==3.10.9)") from None
    return plt


def chart(rep: Report, path: Path) -> None:
    """Volume per period with the authorization rate; timeliness; hot and slow business."""
    plt = _matplotlib()
    rows = [r for r in rep.rows if rep.group == "all" or r.group]
    periods = sorted({r.period for r in rows})
    by_period: dict[str, Row] = {}
    for r in rows:  # a grouped report charts the sum of its groups per period
        total = by_period.setdefault(r.period, Row(r.period, ""))
        for k, n in r.counts.items():
            total.counts[k] += n
    fig, axes = plt.subplots(3, 1, figsize=(11, 11))
    ax = axes[0]
    x = range(len(periods))
    ax.bar(x, [by_period[p].counts["requests"] for p in periods], label="requests", color="#9ecae1")
    ax.bar(x, [by_period[p].counts["created"] for p in periods], label="cases", color="#3182bd")
    ax.set_ylabel(f"per {rep.by}")
    ax.set_xticks(list(x), periods, rotation=60, fontsize=7)
    ax.legend(loc="upper left")
    twin = ax.twinx()
    rates = [by_period[p].figures()["authorization_rate"] * 100 for p in periods]
    twin.plot(list(x), rates, color="#e6550d", marker=".", label="authorization rate")
    twin.set_ylabel("authorization rate %", color="#e6550d")
    twin.set_ylim(0, max([*rates, 1.0]) * 1.5)  # the line below the top edge, readable
    ax.set_title("volume and authorization rate")
    ax = axes[1]
    totals = rep.totals if rep.group == "all" else []
    if totals:
        t = totals[0]
        names = [_SHORT[m] for m in MEASURES]
        for i, stat in enumerate(("p50", "p90", "mean", "max")):
            ax.bar([j + i * 0.2 for j in range(len(names))],
                   [getattr(t.timings[m], stat) for m in MEASURES], width=0.2, label=stat)
        ax.set_xticks([j + 0.3 for j in range(len(names))], names)
        ax.set_yscale("log")
        ax.set_ylabel("seconds")
        ax.legend()
    ax.set_title("timeliness over the whole period" + ("" if totals else " (group all only)"))
    ax = axes[2]
    hot = rep.hot_scenes
    ax.barh([r.name for r in hot][::-1], [r.cases for r in hot][::-1], color="#31a354")
    ax.set_xlabel("cases (hot business)")
    twin = ax.twiny()
    slow = {r.name: r.decision.mean for r in rep.slow_scenes}
    twin.plot([slow.get(r.name, 0) for r in hot][::-1], range(len(hot)), "o", color="#756bb1",
              label="mean request → decision (s)")
    twin.set_xlabel("mean request → decision, seconds (slow business)")
    ax.set_title("hot and slow business by scene")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
