"""The stack's processes: never started on a taken port, never left behind."""

from __future__ import annotations

import socket
import sys

import pytest

from scripts.processes import ServiceProcess, free_port, port_is_free


def test_a_taken_port_is_refused_before_anything_starts(tmp_path) -> None:
    """The health check used to take another server's answer for ours."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        assert not port_is_free(port)
        with pytest.raises(RuntimeError, match=f"port {port} is already in use"):
            ServiceProcess(
                [sys.executable, "-c", "print('never run')"],
                {},
                tmp_path / "log",
                f"http://127.0.0.1:{port}/health",
            )
    assert not (tmp_path / "log").exists()


def test_a_service_that_never_becomes_healthy_is_stopped(tmp_path) -> None:
    """It used to keep running (and holding its port) after a failed start."""
    service = ServiceProcess(
        [sys.executable, "-c", "import time; time.sleep(600)"],
        {},
        tmp_path / "log",
        f"http://127.0.0.1:{free_port()}/health",
    )
    with pytest.raises(RuntimeError, match="did not become healthy"):
        service.wait_healthy(seconds=1)
    assert service.process.poll() is not None
