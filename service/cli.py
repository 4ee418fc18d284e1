"""The `foureyes` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from foureyes.errors import FoureyesError, RuleSetError
from foureyes.masking import mask_logs
from foureyes.service import (
    archive_cli,
    audit_cli,
    events_cli,
    images_cli,
    operators_cli,
    rules_cli,
    stats_cli,
)
from foureyes.service.settings import Settings
from foureyes.store.layout import LayoutMismatch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="foureyes",
        description="Business authorization (four-eyes) service: channels ask over gRPC whether "
                    "a transaction needs a second person; rules decide; cases go to seats.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the service (local Ray, SQLite, bundled rules)",
                           description="Run foureyes. Every flag also reads FOUREYES_<NAME> "
                                       "from the environment; flags win.")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    serve.add_argument("--grpc-port", type=int, help="gRPC port (default 50051; 0 picks one)")
    serve.add_argument("--metrics-port", type=int,
                       help="Prometheus /metrics port (default 9464; 0 picks one)")
    serve.add_argument("--feed-port", type=int,
                       help="ZeroMQ PUB port of the case event feed (default 9465; 0 picks one)")
    serve.add_argument("--console-port", type=int,
                       help="port of the web console for authorizers, supervisors and managers "
                            "(default 8080; 0 picks one)")
    serve.add_argument("--data-dir", type=Path,
                       help="where the SQLite files live (default ./foureyes-data)")
    serve.add_argument("--database-url",
                       help="PostgreSQL URL (postgresql://user@host:port/db) the stores share, "
                            "a schema per shard; default: SQLite files in --data-dir "
                            "(env FOUREYES_DATABASE_URL)")
    serve.add_argument("--rules", type=Path,
                       help="rule directory to publish and use (default: the version last "
                            "published in the data directory, else the bundled rules)")
    serve.add_argument("--ray-address",
                       help="join an existing Ray cluster (default: start a local Ray)")
    serve.add_argument("--join", nargs="?", const="*", metavar="INSTANCE",
                       help="run a further gateway of the foureyes service already running in "
                            "the Ray of --ray-address (the one there, or the instance named): "
                            "its own gRPC, console and metrics ports and logs, the service's "
                            "hosts, rules and credentials (the same --data-dir on this machine, "
                            "or the bank's files and --keys-dir on another); see README, "
                            "More gateways")
    serve.add_argument("--case-shards", type=int,
                       help="case host processes (default: as many as the data directory was "
                            "made with, else one per two cores); fixed once a data directory "
                            "holds cases")
    serve.add_argument("--customer-shards", type=int,
                       help="customer host processes (default: as many as the data directory "
                            "was made with, else 1); fixed like --case-shards")
    serve.add_argument("--offer-timeout", type=float,
                       help="seconds a seat has to accept an offer before the next seat gets it "
                            "(default 30)")

    serve.add_argument("--escalate-after", type=int,
                       help="offer timeouts after which a case is escalated: served before "
                            "ordinary cases, supervisor seats told, an `escalated` event on the "
                            "feed (default 3; 0: never). A case still waiting for a seat at its "
                            "SLA deadline is escalated too")
    serve.add_argument("--bar-own-outlet", action="store_true",
                       help="never offer a case to a seat that logged in with the case's outlet")
    serve.add_argument("--case-expiry", type=float,
                       help="seconds from creation until a case nobody decided expires; its "
                            "offer or review is revoked (default 14400; 0: never)")
    serve.add_argument("--review-grace", type=float,
                       help="seconds a seat whose stream dropped keeps the cases it is "
                            "reviewing; back in time, it carries on, else they are queued "
                            "again (default 20; 0: queued at once)")
    serve.add_argument("--seat-heartbeat-timeout", type=float,
                       help="seconds a seat may stay silent (no message, no heartbeat) before "
                            "it is logged out (default 30; 0: never)")

    serve.add_argument("--stop-grace", type=float,
                       help="on SIGINT/SIGTERM: seconds the seats' reviews in progress have to "
                            "be decided (no new requests or offers meanwhile) before every "
                            "stream ends with UNAVAILABLE 'shutting down' (default 10)")
    images = serve.add_argument_group("evidence", "Image uploads (README, Evidence).")
    images.add_argument("--no-evidence-gate", dest="evidence_gate", action="store_false",
                        default=None,
                        help="queue remote cases at once even when their scene requires images "
                             "(default: they wait in AWAITING_EVIDENCE until uploaded)")
    images.add_argument("--max-image-mb", type=float,
                        help="largest photo, scan or PDF upload in MB (default 10)")
    images.add_argument("--max-video-mb", type=float, help="largest video upload in MB (default 100)")
    images.add_argument("--max-case-mb", type=float,
                        help="all images of one case together, in MB (default 200)")
    images.add_argument("--stale-image-days", type=float,
                        help="flag a picture whose EXIF capture time is this many days before "
                             "its case (default 30; 0: never)")

    creds = serve.add_argument_group(
        "credentials", "The bank's own; any left out is made in <data-dir>/credentials on first "
                       "start (a development CA, a token per channel system, a demo operator "
                       "directory), which is allowed on loopback only.")
    creds.add_argument("--tls-cert", type=Path, help="the server's certificate chain (PEM)")
    creds.add_argument("--tls-key", type=Path, help="its private key (PEM)")
    creds.add_argument("--tls-ca", type=Path, help="the CA clients trust (PEM), to show them")
    creds.add_argument("--systems", type=Path,
                       help="channel systems: JSON {systems: [{name, channels, outlets, "
                            "token_sha256}]}")
    creds.add_argument("--operators", type=Path, help="the operator directory (JSON; see "
                                                       "`foureyes operators`)")
    creds.add_argument("--idp-keys", type=Path,
                       help="JWKS (or PEM public key) of the bank's identity provider, to accept "
                            "its signed tokens at sign-in")
    creds.add_argument("--idp-issuer", help="the issuer those tokens must name")
    creds.add_argument("--idp-audience", help="the audience they must name (default foureyes)")
    creds.add_argument("--session-ttl", type=float,
                       help="seconds an operator's session lasts (default 3600)")

    rest = serve.add_argument_group(
        "data at rest", "Personal fields are encrypted (AES-256-GCM) and every event, decision, "
                        "sign-in and refusal is hash-chained; see README, Audit and encryption.")
    rest.add_argument("--keys-dir", type=Path,
                      help="the data keys and the chain key (default <data-dir>.keys beside the "
                           "data directory, made on first start; keep it off the data disk)")
    rest.add_argument("--accept-tampered", action="store_true",
                      help="serve case shards whose audit chain does not verify (each finding "
                           "is written to the audit log); without it such a shard is refused "
                           "and health says NOT_SERVING")

    sub.add_parser("demo", help="start a service on free ports, drive teller, self-service and "
                                "mobile requests and a simulated seat, print what happened")

    rules_cli.add_parser(sub)
    operators_cli.add_parser(sub)
    audit_cli.add_parser(sub)
    archive_cli.add_parser(sub)
    stats_cli.add_parser(sub)
    events_cli.add_parser(sub)
    images_cli.add_parser(sub)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    mask_logs()  # no ID, card or phone number leaves in a log line
    if args.command in ("audit", "keys"):
        return audit_cli.run(args)
    if args.command == "archive":
        return archive_cli.run(args)
    if args.command == "rules":
        return rules_cli.run(args)
    if args.command == "operators":
        return operators_cli.run(args)
    if args.command == "stats":
        return stats_cli.run(args)
    if args.command == "events":
        return events_cli.run(args)
    if args.command == "images":
        return images_cli.run(args)
    if args.command == "demo":
        from foureyes.service.demo import run_demo

        return asyncio.run(run_demo())
    settings = Settings.from_env(
        host=args.host, grpc_port=args.grpc_port, metrics_port=args.metrics_port,
        feed_port=args.feed_port, console_port=args.console_port,
        data_dir=args.data_dir, rules=args.rules, ray_address=args.ray_address,
        case_shards=args.case_shards, customer_shards=args.customer_shards,
        offer_timeout=args.offer_timeout, case_expiry=args.case_expiry,
        bar_own_outlet=args.bar_own_outlet or None, escalate_after=args.escalate_after,
        review_grace=args.review_grace, seat_heartbeat_timeout=args.seat_heartbeat_timeout,
        stop_grace=args.stop_grace,
        tls_cert=args.tls_cert, tls_key=args.tls_key, tls_ca=args.tls_ca, systems=args.systems,
        operators=args.operators, idp_keys=args.idp_keys, idp_issuer=args.idp_issuer,
        idp_audience=args.idp_audience, session_ttl=args.session_ttl,
        evidence_gate=args.evidence_gate, max_image_mb=args.max_image_mb,
        max_video_mb=args.max_video_mb, max_case_mb=args.max_case_mb,
        stale_image_days=args.stale_image_days, keys_dir=args.keys_dir,
        accept_tampered=args.accept_tampered or None, database_url=args.database_url,
        join=args.join)
    if settings.join and not settings.ray_address:
        parser.error("--join needs --ray-address: the Ray of the service it joins")
    return asyncio.run(serve_until_stopped(settings))


async def serve_until_stopped(settings: Settings) -> int:
    from foureyes.service.app import Service

    service = Service(settings)
    print(f"starting foureyes (data in {service.settings.data_dir}) ...", flush=True)
    try:
        await service.start()
    except RuleSetError as e:
        print(f"rules refused:\n{e}", file=sys.stderr)
        return 1
    except (LayoutMismatch, FoureyesError) as e:
        print(f"refused: {e}", file=sys.stderr)
        return 1
    print(f"gRPC: {service.grpc_address}", flush=True)
    print(f"console: {service.console_url}", flush=True)
    print(f"metrics: {service.metrics_url}", flush=True)
    print(f"event feed: {service.gateway.feed.endpoint}", flush=True)
    print(f"rules: version {service.gateway.book.version} ({service.gateway.book.ruleset.source})",
          flush=True)
    print_credentials(service)
    print("ready; Ctrl-C to stop", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print(f"stopping: no new requests or offers; reviews in progress have "
          f"{service.settings.stop_grace:g} s ...", flush=True)
    await service.stop()
    print("stopped", flush=True)
    return 0


def print_credentials(service: Any) -> None:
    c = service.credentials
    print(f"TLS: clients trust {c.tls.ca}", flush=True)
    if c.new_tokens or c.new_passwords:
        print(f"development credentials made in {c.tls.ca.parent} — shown this once:")
        for system, token in c.new_tokens.items():
            print(f"  channel system {system}: authorization: Bearer {token}")
        for op in c.directory.all():
            if op.operator_id in c.new_passwords:
                print(f"  operator {op.operator_id:<11} password {c.new_passwords[op.operator_id]}"
                      f"  ({', '.join(sorted(op.roles))}, level {op.level})")
        print("  (README, Credentials: how to use them; `foureyes operators` to change them)",
              flush=True)


if __name__ == "__main__":
    sys.exit(main())
