"""`foureyes events`: the case event feed from a cursor, one JSON object a line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from foureyes.errors import FoureyesError, InvalidRequest
from foureyes.service.rules_cli import DEFAULT_CA, DEFAULT_TARGET, password_of


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "events", help="the case event feed from a cursor (replayed from the journals, then "
                       "followed with --follow)",
        description="Print every committed case event after a cursor, one JSON object a "
                    "line, as the ZeroMQ feed carries them: each names its `shard` and `seq` "
                    "(its place in that shard's journal). To resume, pass the last seq of each "
                    "shard as --since; an event may come twice after a reconnect: de-duplicate "
                    "on (case_id, version). Signs in as --as (a supervisor or auditor). Exit 1 "
                    "on a refusal, 2 on a bad cursor.")
    p.add_argument("--since", default="",
                   help="the cursor: SHARD:SEQ,... (the last seq handled per shard), e.g. "
                        "0:1200,1:1187; a shard left out is read from its beginning (default: "
                        "everything)")
    p.add_argument("--kind", action="append", default=[],
                   help="only this kind of event (created, offered, approved, ...); repeatable")
    p.add_argument("--follow", action="store_true",
                   help="after the journals, keep printing new events as they are committed")
    p.add_argument("--cursor-file", type=Path,
                   help="read the cursor from this file if it exists (instead of --since) and "
                        "keep it there after each event, so a run resumes where the last ended")
    p.add_argument("--target", default=DEFAULT_TARGET,
                   help=f"the service's gRPC address (default {DEFAULT_TARGET})")
    p.add_argument("--ca", type=Path, default=DEFAULT_CA,
                   help=f"the CA the service's certificate is checked against (default {DEFAULT_CA})")
    p.add_argument("--as", dest="operator", required=True,
                   help="your operator id; the password is read from FOUREYES_PASSWORD or "
                        "asked for")


def parse_cursor(text: str) -> dict[int, int]:
    cursor: dict[int, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        shard, sep, seq = part.partition(":")
        try:
            if not sep:
                raise ValueError
            cursor[int(shard)] = int(seq)
        except ValueError:
            raise InvalidRequest(f"--since {text!r}: each entry is SHARD:SEQ, e.g. 0:1200,1:1187"
                                 ) from None
    return cursor


def format_cursor(cursor: dict[int, int]) -> str:
    return ",".join(f"{shard}:{seq}" for shard, seq in sorted(cursor.items()))


def run(args: argparse.Namespace) -> int:
    try:
        text = args.since
        if args.cursor_file is not None and args.cursor_file.exists():
            text = args.cursor_file.read_text().strip()
        cursor = parse_cursor(text)
    except (FoureyesError, OSError) as e:
        print(f"foureyes events: {e}", file=sys.stderr)
        return 2
    import grpc

    try:
        asyncio.run(_follow(args, cursor))
    except grpc.RpcError as e:
        print(f"foureyes events: {e.code().name}: {e.details() or ''}", file=sys.stderr)
        if args.cursor_file is None:
            print(f"resume with --since {format_cursor(cursor)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


async def _follow(args: argparse.Namespace, cursor: dict[int, int]) -> None:
    from foureyes.channel_adapters.convert import feed_event_from_proto
    from foureyes.protos import foureyes_pb2 as pb
    from foureyes.protos import foureyes_pb2_grpc as pbg
    from foureyes.service.client import read_ca, secure_channel, session, sign_in

    async with secure_channel(args.target, read_ca(args.ca)) as channel:
        token = await sign_in(channel, args.operator, password_of(args.operator))
        stream = pbg.EventFeedStub(channel).Events(
            pb.EventsRequest(after=cursor, kinds=args.kind, follow=args.follow),
            credentials=session(token))
        async for event in stream:
            if event.seq <= cursor.get(event.shard, 0):
                continue  # sent again after a reconnect
            print(json.dumps(feed_event_from_proto(event), ensure_ascii=False), flush=True)
            cursor[event.shard] = event.seq
            if args.cursor_file is not None:
                args.cursor_file.write_text(format_cursor(cursor) + "\n")
