"""A TCP proxy a test can cut, as a dropped network or a crashed server would.

Between the browser and the bot (Chromium's offline emulation leaves open
WebSockets alone), or between the action server and billing. ``cut()``
closes every open connection; while ``down``, new connections are accepted
and dropped at once; while ``deaf``, what the far side answers is lost.
"""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from typing import Iterator


class CuttableProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.down = False
        self.deaf = False
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def go_down(self) -> None:
        """The far side crashes: open connections die, new ones are refused."""
        self.down = True
        self.cut()

    @contextmanager
    def outage(self) -> Iterator[None]:
        """Down for the ``with`` block, back up after it."""
        self.go_down()
        try:
            yield
        finally:
            self.down = False

    @contextmanager
    def one_way(self) -> Iterator[None]:
        """For the ``with`` block the far side's answers are lost (requests
        still reach it); after it the connections drop, as such networks do."""
        self.deaf = True
        try:
            yield
        finally:
            self.cut()
            self.deaf = False

    def cut(self) -> None:
        """Close every open connection, both ways."""
        with self._lock:
            ends, self._open = list(self._open), set()
        for end in ends:
            _close(end)

    def close(self) -> None:
        self._stopping = True
        self._server.close()
        self.cut()

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.down:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), 5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            for source, sink, answers in (
                (client, upstream, False),
                (upstream, client, True),
            ):
                threading.Thread(
                    target=self._pipe, args=(source, sink, answers), daemon=True
                ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if not (answers and self.deaf):
                    sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                _close(end)
                with self._lock:
                    self._open.discard(end)


def _close(end: socket.socket) -> None:
    try:
        end.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    end.close()
