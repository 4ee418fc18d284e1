"""A throwaway PostgreSQL server for the tests and benchmarks (kept below both): Debian's,
in a temporary directory, on a free loopback port. PostgreSQL refuses to run as root: as root it runs as the
`postgres` user."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running() -> Iterator[str]:
    """The server's URL (user postgres, database postgres, no password) while it runs."""
    binaries = bin_dir()
    if binaries is None:
        raise FileNotFoundError("no PostgreSQL: /usr/lib/postgresql/*/bin/initdb is absent")
    root = Path(tempfile.mkdtemp(prefix="foureyes-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    try:
        subprocess.run([*as_user, str(binaries / "initdb"), "-D", str(data), "-A", "trust",
                        "-U", "postgres", "--no-sync"], check=True, capture_output=True)
        subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-w", "-l",
                        str(root / "log"), "-o",
                        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
                        "-c max_connections=200", "start"], check=True, capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
