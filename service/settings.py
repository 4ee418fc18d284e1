"""Settings: one frozen dataclass, read once (flags, then FOUREYES_* environment), passed on."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from foureyes.gateway.settings import MB, EvidenceSettings, GatewaySettings
from foureyes.security.credentials import CredentialFiles
from foureyes.security.keys import default_keys_dir


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    grpc_port: int = 50051
    metrics_port: int = 9464
    feed_port: int = 9465  # ZeroMQ PUB: every case event, for other bank systems
    console_port: int = 8080  # the web console for seats, supervisors and managers
    data_dir: Path = Path("foureyes-data")
    rules: Path | None = None  # None: the version last published here, else the bundled rules
    ray_address: str = ""  # empty: start a local Ray
    case_shards: int = 0  # 0: what the data directory holds, else one per two cores
    customer_shards: int = 0  # 0: what the data directory holds, else 1
    offer_timeout: float = 30.0  # seconds a seat has to accept an offer
    escalate_after: int = 3  # offer timeouts after which a case is escalated; 0: never
    bar_own_outlet: bool = False  # never offer a case to a seat at the case's own outlet
    case_expiry: float = 4 * 3600.0  # seconds from creation until an undecided case expires
    review_grace: float = 20.0  # seconds a dropped seat keeps the cases it is reviewing
    seat_heartbeat_timeout: float = 30.0  # a seat silent this long is logged out; 0: never
    stop_grace: float = 10.0  # seconds a stop waits for reviews in progress to be decided
    # the bank's credentials; each left empty is made in <data-dir>/credentials (loopback only)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    systems: Path | None = None
    operators: Path | None = None
    idp_keys: Path | None = None  # JWKS (or PEM) of the bank's identity provider
    idp_issuer: str = ""
    idp_audience: str = "foureyes"
    session_ttl: float = 3600.0  # seconds an operator's session lasts
    evidence_gate: bool = True  # remote cases whose scene requires images wait for them
    max_image_mb: float = 10.0  # one photo, scan or PDF
    max_video_mb: float = 100.0
    max_case_mb: float = 200.0  # every image of one case
    stale_image_days: float = 30.0  # a picture captured this long before its case is flagged
    # the keys of the data at rest; None: <data-dir>.keys beside the data directory
    keys_dir: Path | None = None
    accept_tampered: bool = False  # serve shards whose audit chain does not verify (audited)
    # None: SQLite files in data_dir; else a PostgreSQL URL every store's shards share, one
    # schema per shard (store/postgres.py): "not None" means the store is shared
    database_url: str | None = None
    instance: str = field(default="", compare=False)  # names this run's Ray actors
    # a further gateway of the running service of that instance ("*": the one service in
    # this Ray): no hosts of its own; "" runs a whole service
    join: str = ""

    def credential_files(self) -> CredentialFiles:
        return CredentialFiles(self.tls_cert, self.tls_key, self.tls_ca, self.systems,
                               self.operators, self.idp_keys, self.idp_issuer, self.idp_audience,
                               self.session_ttl)

    def keys_path(self) -> Path:
        return self.keys_dir or default_keys_dir(self.data_dir)

    def wire_host(self) -> str:
        """Where actor hosts bind their wire: loopback when this service runs its own Ray on
        one machine; the node's address ("") when it joins a cluster other machines share."""
        return "" if self.ray_address else "127.0.0.1"

    def gateway(self) -> GatewaySettings:
        return GatewaySettings(self.host, self.feed_port, self.data_dir, self.case_shards,
                               self.customer_shards, self.seat_heartbeat_timeout,
                               EvidenceSettings(self.evidence_gate, int(self.max_image_mb * MB),
                                                int(self.max_video_mb * MB),
                                                int(self.max_case_mb * MB),
                                                self.stale_image_days * 86400.0),
                               self.keys_path(), self.database_url, self.wire_host())

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then FOUREYES_<FIELD> variables, then explicit overrides (flags)."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(f"FOUREYES_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _convert(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def _convert(name: str, raw: str) -> object:
    default = getattr(Settings, name, "")
    if isinstance(default, bool):
        return raw.lower() in ("1", "true", "yes")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, Path) or name in _PATHS:
        return Path(raw)
    return raw


_PATHS = {"keys_dir", "rules", "tls_cert", "tls_key", "tls_ca", "systems", "operators", "idp_keys"}
