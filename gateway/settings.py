"""What the gateway is told of the service's settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GatewaySettings:
    """The part of the service's settings the gateway reads (made by Settings.gateway())."""

    host: str
    feed_port: int
    data_dir: Path
    case_shards: int
    customer_shards: int
    seat_heartbeat_timeout: float
    keys_dir: Path | None = None  # the keys of the data at rest (security/keys.py)
