"""CURVE on the sockets between the service's own processes: only holders of the cluster key
get in.

One key pair per cluster (per service start), made in the serving process and handed to each
actor host in its Ray constructor arguments: it never travels over ZeroMQ. Every internal
server socket (a host's wire ROUTER, a gateway's inbox PULL) encrypts with the pair's secret
key; every client (DEALER, PUSH) uses the same pair and the server's public key, which is the
pair's too. CURVE alone lets in any client that knows the server's public key, whatever its
own key; so each process also runs one ZAP authenticator (pyzmq's ThreadAuthenticator on the
process's shared context) that admits, per server socket's ZAP domain, only the cluster's
public key. A plain (NULL) peer fails the handshake; a peer with another key is refused by
ZAP. Either way, no frame of theirs reaches the socket's reader.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field

import zmq
from zmq.auth.thread import ThreadAuthenticator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WireKeys:
    """A CURVE key pair, Z85-encoded as pyzmq makes them."""

    public: bytes
    secret: bytes = field(repr=False)  # kept out of logs and reprs

    @classmethod
    def generate(cls) -> WireKeys:
        public, secret = zmq.curve_keypair()
        return cls(public, secret)

    @property
    def domain(self) -> str:
        """The ZAP domain of this cluster's server sockets: one process may serve several
        clusters (tests do), and a key is admitted only on its own cluster's sockets."""
        return "foureyes-" + hashlib.sha256(self.public).hexdigest()[:16]


class _Admitted:
    """The authenticator's verdict per ZAP domain: the one public key admitted there."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}
        self.refused = 0

    def callback(self, domain: str, key: bytes) -> bool:
        if self.keys.get(domain) == key:
            return True
        self.refused += 1  # written only by the authenticator's thread
        log.warning("wire: refused a CURVE peer with an unknown key (%d refused so far)",
                    self.refused)
        return False


_lock = threading.Lock()
_authenticators: dict[int, tuple[ThreadAuthenticator, _Admitted]] = {}


def _authenticator(ctx: zmq.Context[zmq.Socket[bytes]]) -> tuple[ThreadAuthenticator, _Admitted]:
    """The authenticator of `ctx`, started on first use: ZAP allows one handler per context,
    and it must run before a server socket accepts its first connection."""
    with _lock:
        known = _authenticators.get(id(ctx))
        if known is None:
            auth = ThreadAuthenticator(ctx)
            auth.start()
            known = _authenticators[id(ctx)] = (auth, _Admitted())
        return known


def refused(ctx: zmq.Context[zmq.Socket[bytes]] | None = None) -> int:
    """How many CURVE peers this process's authenticator has turned away."""
    known = _authenticators.get(id(ctx or zmq.Context.instance()))
    return known[1].refused if known is not None else 0


def serve_securely(sock: zmq.Socket[bytes], keys: WireKeys) -> None:
    """Before bind: the socket admits only clients holding `keys`."""
    auth, admitted = _authenticator(sock.context)
    admitted.keys[keys.domain] = keys.public
    auth.configure_curve_callback(keys.domain, admitted)
    sock.curve_secretkey = keys.secret
    sock.curve_publickey = keys.public
    sock.curve_server = True
    sock.zap_domain = keys.domain.encode()


def connect_securely(sock: zmq.Socket[bytes], keys: WireKeys) -> None:
    """Before connect: the socket speaks to servers of `keys`'s cluster, as a member."""
    sock.curve_secretkey = keys.secret
    sock.curve_publickey = keys.public
    sock.curve_serverkey = keys.public
