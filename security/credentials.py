"""Everything the service checks callers against, from the bank's files or, in the embedded
default, made in the data directory on first start."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from foureyes.security.directory import Operator, OperatorDirectory, new_password
from foureyes.security.sessions import IdentityProvider, Sessions, load_or_create_key
from foureyes.security.systems import CHANNELS, System, Systems
from foureyes.security.tls import TlsFiles, ensure_dev_tls

# The demo directory: one operator per role, so every path can be tried at once.
_ALL_SKILLS = ("cash", "transfer", "wealth", "account", "care", "general")
DEV_OPERATORS = (
    Operator("auth-1", "Authorizer One", 2, _ALL_SKILLS, roles=frozenset({"authorizer"})),
    Operator("auth-2", "Authorizer Two", 2, _ALL_SKILLS, roles=frozenset({"authorizer"})),
    Operator("super-1", "Supervisor", 3, _ALL_SKILLS,
             roles=frozenset({"authorizer", "supervisor"})),
    Operator("author-1", "Rule author", roles=frozenset({"rule_author"})),
    Operator("approver-1", "Rule approver", roles=frozenset({"rule_approver"})),
    Operator("auditor-1", "Auditor", roles=frozenset({"auditor"})),
    Operator("admin-1", "Operator admin", roles=frozenset({"operator_admin"})),
)


@dataclass(frozen=True)
class CredentialFiles:
    """Where the bank's own material is; any left empty is made in the data directory."""

    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None  # what clients trust; with a bank CA, its certificate
    systems: Path | None = None
    operators: Path | None = None
    idp_keys: Path | None = None
    idp_issuer: str = ""
    idp_audience: str = "foureyes"
    session_ttl: float = 3600.0

    @property
    def real(self) -> bool:
        """True when TLS, systems and operators all come from the bank, not the dev set."""
        return None not in (self.tls_cert, self.tls_key, self.systems, self.operators)


@dataclass
class Credentials:
    tls: TlsFiles
    systems: Systems
    directory: OperatorDirectory
    sessions: Sessions
    idp: IdentityProvider | None
    directory_path: Path
    # made at this start and shown once: {system: token}, {operator: password}
    new_tokens: dict[str, str] = field(default_factory=dict)
    new_passwords: dict[str, str] = field(default_factory=dict)


def load(data_dir: Path, files: CredentialFiles) -> Credentials:
    home = data_dir / "credentials"
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    if files.tls_cert and files.tls_key:
        tls = TlsFiles(files.tls_cert, files.tls_key, files.tls_ca or files.tls_cert)
    else:
        tls = ensure_dev_tls(home)
    new_tokens: dict[str, str] = {}
    systems_path = files.systems or home / "systems.json"
    if files.systems is None and not systems_path.exists():
        new_tokens = Systems.create(systems_path, [System(c, frozenset({c})) for c in CHANNELS])
    new_passwords: dict[str, str] = {}
    operators_path = files.operators or home / "operators.json"
    if files.operators is None and not operators_path.exists():
        new_passwords = {op.operator_id: new_password() for op in DEV_OPERATORS}
        OperatorDirectory.create(operators_path,
                                 [(op, new_passwords[op.operator_id]) for op in DEV_OPERATORS])
    idp = (IdentityProvider(files.idp_keys, files.idp_issuer, files.idp_audience)
           if files.idp_keys else None)
    return Credentials(tls, Systems(systems_path), OperatorDirectory(operators_path),
                       Sessions(load_or_create_key(home / "session.key"), files.session_ttl),
                       idp, operators_path, new_tokens, new_passwords)
