"""Server reflection under both names clients ask for.

grpc-js and current grpcurl ask for `grpc.reflection.v1` first and fall back to `v1alpha`
only on some versions; grpcio-reflection 1.85 serves only `v1alpha`. The two protocols are
the same messages with the same field numbers under another package name, so one servicer
answers both: a v1 request decodes as a v1alpha one, byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

V1 = "grpc.reflection.v1.ServerReflection"
V1ALPHA: str = reflection.SERVICE_NAME


def enable_reflection(server: grpc.aio.Server, service_names: Iterable[str]) -> None:
    servicer = reflection.aio.ReflectionServicer([*service_names, V1, V1ALPHA])
    for name in (V1, V1ALPHA):
        handlers = {"ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
            servicer.ServerReflectionInfo,
            request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
            response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString)}
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
