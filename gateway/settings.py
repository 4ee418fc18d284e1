"""What the gateway is told of the service's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MB = 1024 * 1024


@dataclass(frozen=True)
class EvidenceSettings:
    """Image uploads: the gate and the limits."""

    gate: bool = True  # a remote case whose scene requires images waits for them
    max_image_bytes: int = 10 * MB  # a photo, scan or PDF
    max_video_bytes: int = 100 * MB
    max_case_bytes: int = 200 * MB  # every image of one case together
    stale_after_seconds: float = 30 * 86400.0  # a picture captured this long before its case


@dataclass(frozen=True)
class GatewaySettings:
    """The part of the service's settings the gateway reads (made by Settings.gateway())."""

    host: str
    feed_port: int
    data_dir: Path
    case_shards: int
    customer_shards: int
    seat_heartbeat_timeout: float
    evidence: EvidenceSettings = field(default_factory=EvidenceSettings)
    keys_dir: Path | None = None  # the keys of the data at rest (security/keys.py)
    database_url: str | None = None  # None: SQLite files; else PostgreSQL (store/backend.py)
    # where the inbox binds: loopback on one machine; "" on a cluster, for the node's address
    # (hosts on other machines push to it; CURVE protects it)
    inbox_host: str = "127.0.0.1"
