"""Whether the machine's own services (CI starts them) can be reached."""

from __future__ import annotations

import socket

import pytest


def redis_reachable(host: str = "127.0.0.1", port: int = 6379) -> bool:
    """True when a Redis answers PING there."""
    try:
        with socket.create_connection((host, port), timeout=1) as probe:
            probe.sendall(b"PING\r\n")
            return probe.recv(16).startswith(b"+PONG")
    except OSError:
        return False


needs_redis = pytest.mark.skipif(
    not redis_reachable(), reason="needs Redis on 127.0.0.1:6379 (CI has it)"
)
