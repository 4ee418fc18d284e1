"""`foureyes audit verify|checkpoint` and `foureyes keys rotate|wrap`: what an auditor and a key
custodian run against a data directory, or a PostgreSQL store (--database-url), while the
service runs or is stopped."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path

from foureyes.errors import FoureyesError
from foureyes.security import keys
from foureyes.security.files import write_private
from foureyes.store import chain_verify
from foureyes.store.chain import heads_signed, signed_heads


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    def dirs(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", type=Path, default=Path("foureyes-data"),
                       help="the service's data directory (default ./foureyes-data)")
        p.add_argument("--keys-dir", type=Path,
                       help="its keys (default <data-dir>.keys beside it, or FOUREYES_KEYS_DIR)")

    def store(p: argparse.ArgumentParser) -> None:
        p.add_argument("--database-url", default=os.environ.get("FOUREYES_DATABASE_URL"),
                       help="the PostgreSQL store `serve --database-url` uses (or "
                            "FOUREYES_DATABASE_URL): walk its chained schemas too")

    audit = sub.add_parser("audit", help="check the tamper-evident audit chains",
                           description="Every case event, decision, sign-in, refusal and admin "
                                       "action is chained per database file (SHA-256, signed "
                                       "with HMAC under the chain key).")
    a = audit.add_subparsers(dest="audit_command", required=True)
    v = a.add_parser("verify", help="walk every chain, the rows it covers and its checkpoints; "
                                    "name the first entry changed, deleted, inserted or "
                                    "reordered per chain; exit 1 on any finding")
    dirs(v)
    store(v)
    v.add_argument("--checkpoint", type=Path,
                   help="an exported checkpoint (`audit checkpoint --out`) to compare with")
    c = a.add_parser("checkpoint", help="write a signed checkpoint of every chain's head, to "
                                        "keep on another system")
    dirs(c)
    store(c)
    c.add_argument("--out", type=Path, required=True, help="the file to write (JSON)")
    k = sub.add_parser("keys", help="the keys of the data at rest",
                       description="Keys live outside the data directory, in <data-dir>.keys "
                                   "(or --keys-dir), mode 0600; wrapped by a KMS key when "
                                   f"{keys.KEK_COMMAND} is set.")
    ks = k.add_subparsers(dest="keys_command", required=True)
    r = ks.add_parser("rotate", help="add a data key: new rows are encrypted under it (running "
                                     "hosts pick it up within seconds), old rows stay readable")
    dirs(r)
    wrap_help = (f"wrap the key files still in clear with the key-encryption key that the "
                 f"command in {keys.KEK_COMMAND} prints (the bank's KMS or HSM client, 64 hex "
                 "digits on its output); the service, its hosts and these commands then need "
                 "that variable set to read them")
    w = ks.add_parser("wrap", help=wrap_help, description=wrap_help[0].upper() + wrap_help[1:] + ".")
    dirs(w)


def _keys_dir(args: argparse.Namespace) -> Path:
    return Path(args.keys_dir or keys.default_keys_dir(args.data_dir))


def run(args: argparse.Namespace) -> int:
    try:
        if args.command == "keys" and args.keys_command == "wrap":
            wrapped = keys.wrap(_keys_dir(args))
            print(f"{len(wrapped)} key file(s) wrapped in {_keys_dir(args)}"
                  + (f": {', '.join(wrapped)}" if wrapped else " (all were wrapped already)"))
            return 0
        if args.command == "keys":
            new = keys.rotate(_keys_dir(args))
            print(f"data key {new} added in {_keys_dir(args)}; new rows are encrypted under it")
            return 0
        ring = keys.load(_keys_dir(args))
        # on PostgreSQL the data directory still holds the keys' default place and any
        # SQLite store beside it, but need not exist
        if not args.data_dir.is_dir() and not args.database_url:
            raise FoureyesError(f"no data directory {args.data_dir}")
        files = chain_verify.chained_files(args.data_dir) if args.data_dir.is_dir() else []
        if args.audit_command == "checkpoint":
            walked = _walk(args, ring.chain, {}, heads_only=True)
            heads = {**{p.stem: chain_verify.head(p) for p in files},
                     **{w.name: w.head for w in walked}}
            cp = signed_heads(heads, ring.chain)
            write_private(args.out, (json.dumps(cp, indent=1) + "\n").encode())
            print(f"checkpoint of {len(heads)} chain(s) written to {args.out}")
            return 0
        return _verify(args, files, ring.chain)
    except FoureyesError as e:
        print(f"refused: {e}")
        return 2


@dataclass(frozen=True)
class _Chain:
    label: str  # what the report calls it: the file's stem, or "schema <name>"
    name: str  # what a checkpoint calls it
    seq: int
    findings: list[chain_verify.Finding]


def _walk(args: argparse.Namespace, key: bytes, exported: dict[str, dict[str, object]],
          heads_only: bool = False) -> list[chain_verify.Walked]:
    if not args.database_url:
        return []
    return asyncio.run(chain_verify.walk_postgres(args.database_url, key, exported, heads_only))


def _verify(args: argparse.Namespace, files: list[Path], key: bytes) -> int:
    exported: dict[str, dict[str, object]] = {}
    problems = 0
    if args.checkpoint:
        cp = json.loads(args.checkpoint.read_text())
        if not heads_signed(cp, key):
            print(f"{args.checkpoint}: not signed by this chain key")
            problems += 1
        exported = cp.get("chains", {})
    chains = [_Chain(p.stem, p.stem, chain_verify.head(p)[0],
                     chain_verify.verify_file(p, key, exported=exported.get(p.stem)))
              for p in files]
    walked = _walk(args, key, exported)
    chains += [_Chain(w.label, w.name, w.head[0], w.findings) for w in walked]
    for name in sorted(set(exported) - {c.name for c in chains}):
        print(f"{name}: the checkpoint names this chain; its database is missing")
        problems += 1
    for c in chains:
        if c.findings:
            problems += len(c.findings)
            for f in c.findings:
                print(f"{f.chain}: TAMPERED: {f.message}")
        else:
            print(f"{c.label}: ok, {c.seq} entries")
    if args.database_url:
        # store/archive.py archives SQLite files only: a PostgreSQL chain has no archive
        print(f"PostgreSQL: {len(walked)} chained schema(s) (no archives: `foureyes archive` "
              f"archives SQLite files only)")
    print(f"{len(chains)} chain(s), {problems} finding(s)")
    return 1 if problems else 0
