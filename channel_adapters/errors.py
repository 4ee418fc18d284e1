"""The one place where errors become gRPC status codes: a server interceptor.

It also decodes requests itself, so a payload that is not the message it claims to be is
INVALID_ARGUMENT naming the message type (gRPC's own decoding answers UNKNOWN with a Python
exception), and it reports every refusal (UNAUTHENTICATED, PERMISSION_DENIED) for the audit
log and every failed call by status code for the metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from foureyes import errors
from google.protobuf.message import DecodeError

log = logging.getLogger(__name__)

CODES: list[tuple[type[errors.FoureyesError], grpc.StatusCode]] = [
    (errors.InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.RuleSetError, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.Conflict, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Tampered, grpc.StatusCode.DATA_LOSS),
]
REFUSALS = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
_DECODE_LOG_SECONDS = 10.0  # one log line per this many seconds for undecodable payloads

# (method, status code name, message): called for every call that does not end OK
Failed = Callable[[str, str, str], None]
Observe = Callable[[str, str, float], None]  # (method, status name, seconds) of a unary call


def status_of(error: BaseException) -> tuple[grpc.StatusCode, str]:
    for cls, code in CODES:
        if isinstance(error, cls):
            return code, str(error)
    log.exception("internal error", exc_info=error)
    return grpc.StatusCode.INTERNAL, "internal error (logged by the server)"


def _ignore(method: str, code: str, message: str) -> None:
    """Nobody listens for failed calls (an interceptor on its own)."""


def _unobserved(method: str, code: str, seconds: float) -> None:
    """Nobody keeps call statistics (an interceptor on its own)."""


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, on_failure: Failed = _ignore, observe: Observe = _unobserved) -> None:
        self.on_failure = on_failure
        self.observe = observe  # every unary call's status and time, for the statistics
        # method → its wrapped handler: built once, not on every call
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}
        self._decode_logged = 0.0

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method: str = details.method
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            handler = await continuation(details)
            if handler is None:
                return handler
            wrapped = self._wrapped[method] = self._wrap(method, handler)
        return wrapped

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        decode = self._decoder(method, handler.request_deserializer)
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, handler.unary_unary, decode), None,
                handler.response_serializer)
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(method, handler.unary_stream, decode), None,
                handler.response_serializer)
        if handler.stream_unary is not None:  # uploads: a stream in, one answer
            return grpc.stream_unary_rpc_method_handler(
                self._unary(method, handler.stream_unary, decode, stream_in=True), None,
                handler.response_serializer)
        if handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(
                self._streaming(method, handler.stream_stream, decode, stream_in=True), None,
                handler.response_serializer)
        return handler

    def _decoder(self, method: str, parse: Callable[[bytes], Any] | None
                 ) -> Callable[[bytes], Any]:
        if parse is None:
            return lambda raw: raw
        name = getattr(getattr(parse, "__self__", None), "DESCRIPTOR", None)
        type_name = name.full_name if name is not None else "the request message"

        def decode(raw: bytes) -> Any:
            try:
                return parse(raw)
            except (DecodeError, RuntimeWarning, ValueError, TypeError):
                now = time.monotonic()
                if now - self._decode_logged > _DECODE_LOG_SECONDS:
                    self._decode_logged = now
                    log.warning("%s: a request that is not a %s was refused (%d bytes)",
                                method, type_name, len(raw))
                raise errors.InvalidRequest(f"the request is not a valid {type_name}") from None

        return decode

    def _fail(self, method: str, e: BaseException) -> tuple[grpc.StatusCode, str]:
        code, text = status_of(e)
        self.on_failure(method, code.name, text)
        return code, text

    def _unary(self, method: str, fn: Callable[..., Awaitable[Any]],
               decode: Callable[[bytes], Any], stream_in: bool = False
               ) -> Callable[..., Awaitable[Any]]:
        async def wrapped(raw: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                answer = await fn(_decoded(raw, decode) if stream_in else decode(raw), context)
            except grpc.aio.AbortError:
                self.observe(method, _name(context.code()), time.perf_counter() - started)
                raise
            except Exception as e:
                code, text = self._fail(method, e)
                self.observe(method, code.name, time.perf_counter() - started)
                await context.abort(code, text)
            self.observe(method, "OK", time.perf_counter() - started)
            return answer

        return wrapped

    def _streaming(self, method: str, fn: Callable[..., AsyncIterator[Any]],
                   decode: Callable[[bytes], Any], stream_in: bool = False
                   ) -> Callable[..., AsyncIterator[Any]]:
        async def wrapped(raw: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            try:
                request = _decoded(raw, decode) if stream_in else decode(raw)
                async for item in fn(request, context):
                    yield item
            except grpc.aio.AbortError:
                raise
            except Exception as e:
                await context.abort(*self._fail(method, e))

        return wrapped


def _name(code: Any) -> str:
    """A status set by the handler itself (context.abort), as its name."""
    return getattr(code, "name", None) or "UNKNOWN"


async def _decoded(raw: AsyncIterator[bytes], decode: Callable[[bytes], Any]) -> AsyncIterator[Any]:
    async for message in raw:
        yield decode(message)
