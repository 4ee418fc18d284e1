"""`foureyes rules ...`: what rule authors run — check, test, explain, replay, publish."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from foureyes.errors import FoureyesError, RuleError, RuleSetError
from foureyes.masking import mask_text
from foureyes.rules import files, testing
from foureyes.rules.book import DEFAULT_RULES, RuleBook
from foureyes.rules.explain import explain
from foureyes.rules.replay import format_report, replay

DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_CA = Path("foureyes-data/credentials/ca.pem")


def add_parser(sub: Any) -> None:
    rules = sub.add_parser("rules", help="work with rule files: check, test, explain, replay, publish",
                           description="Tools for rule authors. DIR defaults to the bundled rules.")
    rs = rules.add_subparsers(dest="rules_command", required=True)

    def rule_dir(p: argparse.ArgumentParser) -> None:
        p.add_argument("dir", type=Path, nargs="?", default=DEFAULT_RULES, help="rule directory")

    rule_dir(rs.add_parser("check", help="validate; exit 1 listing every problem as "
                                         "file:line: rule-id: message"))
    test = rs.add_parser("test", help="run the *_test.yaml cases beside the rules and list the "
                                      "rules no test makes fire")
    rule_dir(test)
    test.add_argument("--require-coverage", action="store_true",
                      help="also fail (exit 1) when a rule is never exercised")
    test.add_argument("-v", "--verbose", action="store_true", help="list passing tests too")
    ex = rs.add_parser("explain", help="the decision for one request's facts, rule by rule")
    rule_dir(ex)
    ex.add_argument("--facts", type=Path, required=True,
                    help="YAML or JSON file with the facts, e.g. {channel: teller, "
                         "transaction.code: CASH_WITHDRAWAL, transaction.amount: 80000}")
    rp = rs.add_parser("replay", help="re-evaluate the decisions recorded in a data directory "
                                      "with these rules and report what would change")
    rule_dir(rp)
    rp.add_argument("--since", required=True, help="start date or time, e.g. 2026-11-01 or "
                                                   "'2026-11-21 09:00' (local time)")
    rp.add_argument("--until", help="end date or time (default: now)")
    rp.add_argument("--data-dir", type=Path, default=Path("foureyes-data"),
                    help="the service's data directory (default ./foureyes-data)")
    rp.add_argument("--keys-dir", type=Path,
                    help="the keys that open the logs' sealed facts (default <data-dir>.keys)")
    rp.add_argument("--show", type=int, default=20, help="how many flipped requests to list")
    pub = rs.add_parser("publish", help="propose DIR to a running service (all-or-nothing); a "
                                        "rule_approver makes it active with `rules approve`")
    rule_dir(pub)
    pub.add_argument("--comment", default="", help="why, kept in the version history")
    for name, text in (("rollback", "propose restoring the previous version (or --version V); "
                                    "active once approved"),
                       ("approve", "make a pending version active (a rule_approver who did not "
                                   "propose it)"),
                       ("versions", "list what a running service activated, and what is pending")):
        p = rs.add_parser(name, help=text)
        if name == "rollback":
            p.add_argument("--version", default="", help="the version to restore")
            p.add_argument("--comment", default="", help="why, kept in the version history")
        if name == "approve":
            p.add_argument("version", help="the pending version (see `rules versions`)")
    for p in (pub, rs.choices["rollback"], rs.choices["approve"], rs.choices["versions"]):
        add_client_flags(p)


def add_client_flags(p: argparse.ArgumentParser) -> None:
    """How a command reaches a running service as an operator."""
    p.add_argument("--target", default=DEFAULT_TARGET,
                   help=f"the service's gRPC address (default {DEFAULT_TARGET})")
    p.add_argument("--ca", type=Path, default=DEFAULT_CA,
                   help=f"the CA certificate the service's TLS certificate is checked against "
                        f"(default {DEFAULT_CA})")
    p.add_argument("--as", dest="operator", required=True,
                   help="your operator id; the password is read from FOUREYES_PASSWORD or "
                        "asked for")


def run(args: argparse.Namespace) -> int:
    try:
        command = {"check": check, "test": test, "explain": explain_cmd, "replay": replay_cmd,
                   "publish": publish, "rollback": rollback, "approve": approve,
                   "versions": versions}
        return command[args.rules_command](args)
    except RuleSetError as e:
        return _refused(e.problems)
    except FoureyesError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def _refused(problems: list[RuleError]) -> int:
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(problems)} problem(s); the rule set was refused", file=sys.stderr)
    return 1


def check(args: argparse.Namespace) -> int:
    book = RuleBook.load(args.dir)
    rs = book.ruleset
    for warning in rs.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{args.dir}: ok, version {book.version}: {len(rs.triggers)} trigger rules, "
          f"{len(rs.scenes)} scenes, {len(rs.image_kinds)} image kinds, "
          f"{len(rs.image_rules)} image rules, {len(rs.counters)} history counters, "
          f"{len(rs.parameters)} parameters ({len(rs.overrides)} overridden), "
          f"{len(rs.organisation)} organisation units, {len(rs.tables)} decision tables, "
          f"{len(rs.facts)} declared facts" + (f"; {len(rs.warnings)} warning(s)" if rs.warnings else ""))
    return 0


def test(args: argparse.Namespace) -> int:
    book = RuleBook.load(args.dir)
    tests = testing.load_tests(args.dir, book)
    report = testing.run_tests(book, tests)
    for t in report.passed if args.verbose else []:
        print(f"PASS {t.where}: {t.name}")
    for t, problems in report.failed:
        print(f"FAIL {t.where}: {t.name}")
        for p in problems:
            print(f"     {p}")
    print(f"{len(report.passed)} passed, {len(report.failed)} failed "
          f"({len(tests)} tests in {len(files.test_files(Path(args.dir)))} files)")
    if report.uncovered:
        print(f"{len(report.uncovered)} rule(s) no test makes fire: {', '.join(report.uncovered)}")
    else:
        print(f"every rule is exercised ({len(book.ruleset.rules)} rules)")
    return 1 if report.failed or (args.require_coverage and report.uncovered) else 0


def explain_cmd(args: argparse.Namespace) -> int:
    book = RuleBook.load(args.dir)
    facts = files.read_yaml(args.facts)
    if not isinstance(facts, dict):
        raise RuleSetError([RuleError(str(args.facts), 1, "", "facts must be a mapping")])
    print(mask_text("\n".join(explain(book, facts))))  # a card number shows its last 4 only
    return 0


def _moment(text: str) -> float:
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise FoureyesError(f"{text!r} is not a date or time like 2026-11-21 or "
                            f"'2026-11-21 09:00'") from None


def replay_cmd(args: argparse.Namespace) -> int:
    from foureyes.security.keys import default_keys_dir
    from foureyes.store.decisions import DecisionLog
    from foureyes.store.sealing import AtRest

    book = RuleBook.load(args.dir)
    start = _moment(args.since)
    end = _moment(args.until) if args.until else float("inf")
    logs = sorted(args.data_dir.glob("decisions-*.sqlite"))
    if not logs:
        raise FoureyesError(f"no decision logs (decisions-*.sqlite) in {args.data_dir}")

    keys_dir = args.keys_dir or default_keys_dir(args.data_dir)

    async def read() -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for path in logs:
            log = DecisionLog(path, AtRest.load(keys_dir, create=False))
            await log.open()
            try:
                records += await log.since(start, end)
            finally:
                await log.close()
        return sorted(records, key=lambda r: r["at"])

    records = asyncio.run(read())
    print(f"read {len(records)} decisions from {len(logs)} log(s) in {args.data_dir}", flush=True)
    print(mask_text("\n".join(format_report(replay(book, records), args.show))))
    return 0


def password_of(operator: str) -> str:
    password = os.environ.get("FOUREYES_PASSWORD")
    if password is None:
        password = getpass.getpass(f"password for {operator}: ")
    return password


def call_as(args: argparse.Namespace, stub: str, method: str, request: Any) -> Any:
    """Sign in as `--as` and make one call; a refusal is printed and exits 1."""
    import grpc
    from foureyes.protos import foureyes_pb2_grpc as pbg
    from foureyes.service.client import read_ca, secure_channel, session, sign_in

    async def go() -> Any:
        async with secure_channel(args.target, read_ca(args.ca)) as channel:
            token = await sign_in(channel, args.operator, password_of(args.operator))
            return await getattr(getattr(pbg, stub)(channel), method)(
                request, timeout=60, credentials=session(token))

    try:
        return asyncio.run(go())
    except grpc.RpcError as e:
        details = e.details() or ""
        print(details if e.code() == grpc.StatusCode.INVALID_ARGUMENT
              else f"error: {e.code().name}: {details}", file=sys.stderr)
        raise SystemExit(1) from None


def _call(args: argparse.Namespace, method: str, request: Any) -> Any:
    return call_as(args, "AdminServiceStub", method, request)


def publish(args: argparse.Namespace) -> int:
    from foureyes.protos import foureyes_pb2 as pb

    RuleBook.load(args.dir)  # refuse here, with full paths, before sending anything
    request = pb.PublishRulesRequest(
        files=[pb.RuleFile(name=name, content=text)
               for name, text in files.contents(Path(args.dir)).items()],
        comment=args.comment)
    v = _call(args, "PublishRules", request)
    print(f"proposed {args.dir} to {args.target}: version {v.version} ({v.trigger_rules} "
          f"trigger rules) is pending; a rule_approver other than {v.proposed_by} makes it "
          f"active with `foureyes rules approve {v.version} --as …`")
    return 0


def rollback(args: argparse.Namespace) -> int:
    from foureyes.protos import foureyes_pb2 as pb

    v = _call(args, "RollbackRules", pb.RollbackRulesRequest(version=args.version,
                                                             comment=args.comment))
    print(f"proposed going back to version {v.version} ({v.trigger_rules} trigger rules); "
          f"pending until approved with `foureyes rules approve {v.version} --as …`")
    return 0


def approve(args: argparse.Namespace) -> int:
    from foureyes.protos import foureyes_pb2 as pb

    v = _call(args, "ApproveRules", pb.ApproveRulesRequest(version=args.version))
    print(f"version {v.version} is active ({v.trigger_rules} trigger rules), proposed by "
          f"{v.proposed_by}, approved by {v.approved_by}")
    return 0


def _when(t: float) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def versions(args: argparse.Namespace) -> int:
    from foureyes.protos import foureyes_pb2 as pb

    answer = _call(args, "ListRuleVersions", pb.ListRuleVersionsRequest())
    for v in answer.activations:
        print(f"{'*' if v.active else ' '} {_when(v.activated_at)}  {v.version}  "
              f"{v.trigger_rules:>4} rules  by {v.proposed_by or '?'}, approved by "
              f"{v.approved_by or '?'}  {v.comment}")
    for v in answer.pending:
        print(f"  pending since {_when(v.proposed_at)}  {v.version}  {v.trigger_rules:>4} rules  "
              f"proposed by {v.proposed_by}  {v.comment}")
    return 0
