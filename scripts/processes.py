"""Starting, health-checking and stopping the processes of the stack."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Return True if nothing listens on 127.0.0.1:``port``."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until_healthy(
    url: str, process: subprocess.Popen, log: Path, seconds: float = 60
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy:\n{log.read_text()[-3000:]}")


class ServiceProcess:
    """A child process with its log in a file, stopped with SIGINT then SIGKILL."""

    def __init__(
        self, args: list[str], env: dict[str, str], log: Path, health_url: str
    ) -> None:
        self.log = log
        self.health_url = health_url
        port = urlsplit(health_url).port if health_url else None
        if port is not None and not port_is_free(port):
            # the health check would take the other server's answer for ours
            raise RuntimeError(
                f"port {port} is already in use (another Gracious or Rasa still "
                f"running?): stop it, then start again"
            )
        self._handle = log.open("wb")
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_healthy(self, seconds: float = 60) -> None:
        try:
            wait_until_healthy(self.health_url, self.process, self.log, seconds)
        except BaseException:  # timed out, exited, or Ctrl-C: never left behind
            self.stop()
            raise

    def stop(self, timeout: float = 10) -> Optional[int]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._handle.close()
        return self.process.returncode


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
