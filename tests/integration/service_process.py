"""The service as its own process (`python -m foureyes.service.cli serve`), joined to the
tests' Ray: to be stopped with a signal or killed like a real one."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import ray
from foureyes.service.client import channel_tokens, secure_channel


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServiceProcess:
    def __init__(self, data_dir: Path, *args: str) -> None:
        self.data_dir = data_dir
        self.args = args
        self.port = free_port()  # the same across restarts: clients reconnect by themselves
        self.tokens: dict[str, str] = {}
        self.passwords: dict[str, str] = {}
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self, timeout: float = 120) -> ServiceProcess:
        address = ray.get_runtime_context().gcs_address
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "foureyes.service.cli", "serve", "--grpc-port", str(self.port),
             "--metrics-port", "0", "--feed-port", "0", "--console-port", "0",
             # not about evidence: cases are queued at once, as in tests/integration/conftest.py
             "--no-evidence-gate", "--data-dir", str(self.data_dir),
             "--ray-address", address, *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        ready, started = threading.Event(), threading.Event()

        def read() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line)
                if m := re.search(r"channel system (\S+): authorization: Bearer (\S+)", line):
                    self.tokens[m[1]] = m[2]
                if m := re.search(r"operator (\S+)\s+password (\S+)", line):
                    self.passwords[m[1]] = m[2]
                if line.startswith("ready"):
                    started.set()
                    ready.set()
            ready.set()  # the output ended: the process is exiting

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(timeout) or not started.is_set():
            raise RuntimeError("the service did not start:\n" + "".join(self.output))
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def channel(self):
        ca = (self.data_dir / "credentials" / "ca.pem").read_bytes()
        return secure_channel(self.address, ca, channel_tokens(self.tokens))

    def signal(self, sig: int = signal.SIGINT) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 120) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)
