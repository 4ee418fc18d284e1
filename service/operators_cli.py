"""`foureyes operators …`: the operator directory, kept by someone with the operator_admin role.

The directory is a file: these commands change it in place (atomically) and a running service
picks the change up within a heartbeat — a disabled operator's seats are ended then."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from foureyes.errors import FoureyesError
from foureyes.security.directory import ROLES, Operator, OperatorDirectory, new_password
from foureyes.security.keys import default_keys_dir
from foureyes.service.rules_cli import password_of
from foureyes.store.audit_log import AuditLog
from foureyes.store.sealing import AtRest


def add_parser(sub: Any) -> None:
    ops = sub.add_parser("operators", help="the operator directory: add, disable, set-level, list",
                         description="Manage the operator directory (needs the operator_admin "
                                     "role; your password is read from FOUREYES_PASSWORD or "
                                     "asked for).")
    os_ = ops.add_subparsers(dest="operators_command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", type=Path, default=Path("foureyes-data"),
                       help="the service's data directory (default ./foureyes-data)")
        p.add_argument("--operators", type=Path,
                       help="the directory file (default <data-dir>/credentials/operators.json)")
        p.add_argument("--as", dest="admin", required=True, help="your operator id")

    add = os_.add_parser("add", help="add an operator; prints a first password once")
    add.add_argument("operator_id")
    add.add_argument("--name", default="")
    add.add_argument("--level", type=int, default=0, help="authority level 1..9 (0: none)")
    add.add_argument("--skills", default="", help="scene categories, comma-separated")
    add.add_argument("--scope", default="",
                     help="organisation units served, comma-separated (empty: all)")
    add.add_argument("--outlet", default="", help="where the operator sits")
    add.add_argument("--roles", default="authorizer",
                     help=f"comma-separated, of {', '.join(ROLES)} (default authorizer)")
    for name, text in (("disable", "disable an operator: sessions and seats end at once"),
                       ("enable", "enable a disabled operator again"),
                       ("set-level", "change an operator's authority level"),
                       ("set-password", "give an operator a new password (printed once)")):
        p = os_.add_parser(name, help=text)
        p.add_argument("operator_id")
        if name == "set-level":
            p.add_argument("level", type=int)
        common(p)
    common(add)
    common(os_.add_parser("list", help="every operator with level, skills, scope and roles"))


def _split(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _new_password() -> str:
    return os.environ.get("FOUREYES_NEW_PASSWORD") or new_password()


def run(args: argparse.Namespace) -> int:
    path = args.operators or args.data_dir / "credentials" / "operators.json"
    try:
        directory = OperatorDirectory(path)
        admin = directory.verify_password(args.admin, password_of(args.admin))
        admin.require("operator_admin", *(("auditor",) if args.operators_command == "list" else ()))
        detail = _change(directory, args)
    except FoureyesError as e:
        print(f"refused: {e}", file=sys.stderr)
        _audit(args.data_dir, args.admin, f"operators {args.operators_command}", "refused", str(e))
        return 1
    if detail:
        _audit(args.data_dir, admin.operator_id, f"operators {args.operators_command}", "ok", detail)
    return 0


def _change(directory: OperatorDirectory, args: argparse.Namespace) -> str:
    command = args.operators_command
    if command == "list":
        for op in directory.all():
            print(f"{op.operator_id:<16} {'DISABLED ' if op.disabled else ''}level {op.level}  "
                  f"roles {','.join(sorted(op.roles)) or '-'}  skills {','.join(op.skills) or '-'}  "
                  f"scope {','.join(op.scope) or 'all'}  outlet {op.outlet or '-'}  {op.name}")
        return ""
    if command == "add":
        password = _new_password()
        op = directory.add(Operator(args.operator_id, args.name, args.level, _split(args.skills),
                                    _split(args.scope), args.outlet,
                                    frozenset(_split(args.roles))), password)
        print(f"added {op.operator_id}; first password (shown once): {password}")
        return f"{op.operator_id} level {op.level} roles {','.join(sorted(op.roles))}"
    if command == "set-password":
        password = _new_password()
        directory.update(args.operator_id, password=password)
        print(f"{args.operator_id}: new password (shown once): {password}")
        return args.operator_id
    every: dict[str, dict[str, Any]] = {"disable": {"disabled": True},
                                        "enable": {"disabled": False},
                                        "set-level": {"level": getattr(args, "level", 0)}}
    changes = every[command]
    op = directory.update(args.operator_id, **changes)
    print(f"{op.operator_id}: {'disabled' if op.disabled else 'enabled'}, level {op.level}")
    return f"{op.operator_id} {changes}"


def _audit(data_dir: Path, actor: str, event: str, outcome: str, detail: str) -> None:
    async def write() -> None:
        log = AuditLog(data_dir / "audit-cli.sqlite", AtRest.load(default_keys_dir(data_dir)))
        await log.open()
        log.record(event, actor, outcome, detail)
        await log.close()

    if data_dir.is_dir():
        asyncio.run(write())
