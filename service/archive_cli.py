"""`foureyes archive`: retention (PCI DSS 10.7). What is older than the retention time leaves
the live databases for archive files with their own chains (store/archive.py); nothing is
deleted without a verified copy. Run it with the service stopped."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path

from foureyes.errors import FoureyesError
from foureyes.security import keys
from foureyes.store import archive, chain_verify

# PCI DSS 10.7: a year of audit trail, kept live by default; FOUREYES_RETENTION_MONTHS sets it
# as the other settings are set (service/settings.py)
RETENTION_MONTHS = 12


def _retention() -> int:
    value = os.environ.get("FOUREYES_RETENTION_MONTHS", "")
    return int(value) if value.isdigit() else RETENTION_MONTHS


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "archive", help="move closed cases, decisions and audit entries older than a date to "
                        "<data-dir>/archive/ (own hash chain; the service must be stopped)",
        description="Moves closed cases (documents, events, chain entries, images), "
                    "decision-log rows and audit entries older than --before into one "
                    "archive file per database "
                    "under <data-dir>/archive/, each with its own chain; the live chain records "
                    "a signed marker, so `audit verify` checks both. Open cases are never "
                    "moved. Idempotent. Stop the service first.")
    p.add_argument("--data-dir", type=Path, default=Path("foureyes-data"),
                   help="the service's data directory (default ./foureyes-data)")
    p.add_argument("--keys-dir", type=Path,
                   help="its keys (default <data-dir>.keys beside it, or FOUREYES_KEYS_DIR)")
    p.add_argument("--before", type=dt.date.fromisoformat,
                   help="move what is older than this date (YYYY-MM-DD, UTC; default: today "
                        "minus the retention time)")
    p.add_argument("--retention-months", type=int, default=_retention(),
                   help=f"how long records stay live (default {RETENTION_MONTHS}, or "
                        f"FOUREYES_RETENTION_MONTHS); a --before inside it is refused; 0: no floor")


def _months_ago(today: dt.date, months: int) -> dt.date:
    y, m = divmod(today.year * 12 + today.month - 1 - months, 12)
    return dt.date(y, m + 1, min(today.day, 28))


def run(args: argparse.Namespace) -> int:
    try:
        if args.retention_months < 0:
            raise FoureyesError("--retention-months must be 0 or more")
        today = dt.datetime.now(dt.UTC).date()
        limit = _months_ago(today, args.retention_months)
        before = args.before or limit
        if args.retention_months and before > limit:
            raise FoureyesError(f"--before {before} is inside the retention time of "
                                f"{args.retention_months} month(s): records after {limit} "
                                f"stay live (--retention-months 0 lifts this)")
        if not args.data_dir.is_dir():
            raise FoureyesError(f"no data directory {args.data_dir}")
        ring = keys.load(Path(args.keys_dir or keys.default_keys_dir(args.data_dir)))
        cut = dt.datetime.combine(before, dt.time(), dt.UTC).timestamp()
        live = [p for p in chain_verify.chained_files(args.data_dir)
                if p.parent == args.data_dir]
        for path in live:
            print(archive.archive_file(path, cut, ring.chain))
        images = archive.archive_images(args.data_dir, ring.chain)
        if images is not None:
            print(images)
        print(f"{len(live)} database(s) archived before {before}")
        return 0
    except FoureyesError as e:
        print(f"refused: {e}")
        return 2
