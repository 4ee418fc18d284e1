"""A further gateway of the benchmark's service as its own process (`serve --join`), as an
operator runs one: its own Ray driver joined to the service's Ray, the same data directory
(credentials, operator directory, rule registry) and keys."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import ray


class JoinedGateway:
    def __init__(self, instance: str, data_dir: Path, keys_dir: Path) -> None:
        self.instance, self.data_dir, self.keys_dir = instance, data_dir, keys_dir
        self.proc: subprocess.Popen[str] | None = None
        self.address = ""  # its gRPC host:port, once started
        self.output: list[str] = []

    def start(self, timeout: float = 120) -> JoinedGateway:
        """Started and serving (it printed `ready`), or RuntimeError with what it printed.
        Again after a stop: a new process (on a new port)."""
        self.address, self.output = "", []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "foureyes.service.cli", "serve", "--join", self.instance,
             "--ray-address", ray.get_runtime_context().gcs_address,
             "--data-dir", str(self.data_dir), "--keys-dir", str(self.keys_dir),
             "--grpc-port", "0", "--console-port", "0", "--metrics-port", "0",
             "--feed-port", "0", "--no-evidence-gate"],  # as the benchmark's first gateway
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        ready = threading.Event()

        def read() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line)
                if m := re.match(r"gRPC: (\S+)", line):
                    self.address = m[1]
                if line.startswith("ready"):
                    ready.set()
            ready.set()  # the output ended: the process is exiting

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(timeout) or self.proc.poll() is not None or not self.address:
            self.stop()
            raise RuntimeError("the joined gateway did not start:\n" + "".join(self.output))
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, timeout: float = 60) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
