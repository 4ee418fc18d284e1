"""Virtual actor placement: a key always maps to the same shard (Orleans-style identity)."""

from __future__ import annotations

import zlib

# The Ray namespace of every foureyes driver and its actors: a gateway that joins a running
# service (`serve --join`) finds the hosts by name only within the namespace that made them
NAMESPACE = "foureyes"


def shard_of(key: str, shards: int) -> int:
    # crc32, not hash(): it must agree across processes and restarts
    return zlib.crc32(key.encode()) % shards


def actor_name(instance: str, role: str, shard: int | None = None) -> str:
    return f"foureyes-{instance}-{role}" + ("" if shard is None else f"-{shard}")
