"""The one place where errors become gRPC status codes: a server interceptor."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from foureyes import errors

log = logging.getLogger(__name__)

CODES: list[tuple[type[errors.FoureyesError], grpc.StatusCode]] = [
    (errors.InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.RuleSetError, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.Conflict, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
]


def status_of(error: BaseException) -> tuple[grpc.StatusCode, str]:
    for cls, code in CODES:
        if isinstance(error, cls):
            return code, str(error)
    log.exception("internal error", exc_info=error)
    return grpc.StatusCode.INTERNAL, "internal error (logged by the server)"


Observe = Callable[[str, str, float], None]  # (method, status name, seconds) of a unary call


def _unobserved(method: str, code: str, seconds: float) -> None:
    pass


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, observe: Observe = _unobserved) -> None:
        # method → its wrapped handler: built once, not on every call
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}
        self._observe = observe  # every unary call's status and time, for the statistics

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
            wrapped = self._wrapped[method] = _wrap(handler, method, self._observe)
        return wrapped


def _wrap(handler: grpc.RpcMethodHandler, method: str, observe: Observe) -> grpc.RpcMethodHandler:
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            _unary(handler.unary_unary, method, observe), handler.request_deserializer,
            handler.response_serializer)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            _streaming(handler.unary_stream), handler.request_deserializer,
            handler.response_serializer)
    if handler.stream_stream is not None:
        return grpc.stream_stream_rpc_method_handler(
            _streaming(handler.stream_stream), handler.request_deserializer,
            handler.response_serializer)
    return handler


def _name(code: Any) -> str:
    """The aio context may hold a StatusCode or the core's integer for it."""
    if isinstance(code, grpc.StatusCode):
        return code.name
    return next((c.name for c in grpc.StatusCode if c.value[0] == code), "UNKNOWN")


def _unary(fn: Callable[..., Awaitable[Any]], method: str,
           observe: Observe) -> Callable[..., Awaitable[Any]]:
    async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
        started = time.perf_counter()
        try:
            answer = await fn(request, context)
        except grpc.aio.AbortError:
            observe(method, _name(context.code()), time.perf_counter() - started)
            raise
        except Exception as e:
            status = status_of(e)
            observe(method, status[0].name, time.perf_counter() - started)
            await context.abort(*status)
        observe(method, "OK", time.perf_counter() - started)
        return answer

    return wrapped


def _streaming(fn: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            async for item in fn(request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as e:
            await context.abort(*status_of(e))

    return wrapped
