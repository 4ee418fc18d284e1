"""Connecting to foureyes as a client: TLS with the service's CA, and the right bearer token
for each service (a channel system's token for its channel, an operator's session for seats
and administration). Used by the CLI, the demo, the tests and the benchmarks; a starting
point for a channel system's own client."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import grpc
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg

PACKAGE = "foureyes.v1"
CHANNEL_SERVICES = {"teller": "TellerChannel", "self_service": "SelfServiceChannel",
                    "mobile": "MobileChannel"}


class _Tokens(grpc.AuthMetadataPlugin):
    """Adds `authorization: Bearer <token>` chosen by the service a call goes to."""

    def __init__(self, by_service: Mapping[str, str]) -> None:
        self.by_service = dict(by_service)

    def __call__(self, context: grpc.AuthMetadataContext,
                 callback: grpc.AuthMetadataPluginCallback) -> None:
        token = self.by_service.get(context.service_url.rsplit("/", 1)[-1])
        callback((("authorization", f"Bearer {token}"),) if token else (), None)


def channel_tokens(tokens: Mapping[str, str]) -> dict[str, str]:
    """{channel type: system token} as {gRPC service name: token}."""
    return {f"{PACKAGE}.{CHANNEL_SERVICES[c]}": t for c, t in tokens.items()}


def secure_channel(target: str, ca: bytes, tokens: Mapping[str, str] | None = None
                   ) -> grpc.aio.Channel:
    """A TLS channel trusting `ca`; `tokens` ({gRPC service name: token}) are sent to the
    services they name. Seats and admin calls carry an operator session per call instead."""
    creds = grpc.ssl_channel_credentials(root_certificates=ca)
    if tokens:
        creds = grpc.composite_channel_credentials(
            creds, grpc.metadata_call_credentials(_Tokens(tokens), name="foureyes-tokens"))
    return grpc.aio.secure_channel(target, creds)


def read_ca(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise SystemExit(f"cannot read the CA certificate {path}: {e.strerror}; give --ca") from None


async def sign_in(channel: grpc.aio.Channel, operator_id: str, password: str) -> str:
    """An operator's session token."""
    answer = await pbg.AuthServiceStub(channel).SignIn(
        pb.SignInRequest(operator_id=operator_id, password=password))
    return str(answer.session_token)


def session(token: str) -> grpc.CallCredentials:
    """Per-call credentials for an operator's session."""
    return grpc.access_token_call_credentials(token)


UPLOAD_CHUNK = 256 * 1024


def image_chunks(case_id: str, kind: str, type_: str, content_type: str, data: bytes,
                 captured_by: str = "", chunk_size: int = UPLOAD_CHUNK, size: int | None = None,
                 sha256: str | None = None) -> Iterator[pb.ImageChunk]:
    """An UploadImage request stream: the header, then `data` in chunks. `size` and `sha256`
    default to the data's own (a test may declare others)."""
    yield pb.ImageChunk(header=pb.ImageHeader(
        case_id=case_id, kind=kind, type=type_, content_type=content_type,
        size=len(data) if size is None else size,
        sha256=hashlib.sha256(data).hexdigest() if sha256 is None else sha256,
        captured_by=captured_by))
    for at in range(0, len(data), chunk_size):
        yield pb.ImageChunk(data=data[at:at + chunk_size])
