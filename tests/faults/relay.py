"""A TCP pass-through on loopback that knows which HTTP requests are waiting for an answer.

``tests/faults/test_vllm_serve_killed.py`` must kill a real server while a request is in flight.
The server's own metrics did not say so reliably: in one CI run a 15 s request went by without
the 50 ms polls of ``/metrics`` ever reading a running request (unanswered within their 2 s
timeout on a busy machine, or read as 0: the run could not tell which).
The relay sees it from the client's side instead: a request is in flight from its first byte
forwarded to the server until the first byte of the answer comes back. One connection carries
one request at a time (HTTP/1.1 without pipelining, as httpx sends it), so a flag per connection
is enough.

Standard library only, one daemon thread per direction of each connection. When either side
closes or fails, both sides are closed: a client whose server died sees its connection dropped,
and a new connection to a dead server is closed at once, as the server's own refusal would be.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading


class Relay:
    """Forwards ``127.0.0.1:<port>`` to ``127.0.0.1:<upstream_port>``; ``in_flight()`` counts the
    requests forwarded and not yet answered."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._waiting: set[int] = set()  # ids of connections with a request not yet answered
        self._open: list[socket.socket] = []
        self._stopped = threading.Event()
        self._ids = itertools.count()
        threading.Thread(target=self._accept, daemon=True).start()

    def in_flight(self) -> int:
        with self._lock:
            return len(self._waiting)

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            _close(sock)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
        except OSError:
            _close(client)  # nothing listens upstream: the client sees its connection dropped
            return
        upstream.settimeout(None)
        with self._lock:
            self._open += [client, upstream]
        connection = next(self._ids)
        threading.Thread(target=self._pipe, args=(client, upstream, connection, True), daemon=True).start()
        self._pipe(upstream, client, connection, False)

    def _pipe(self, source: socket.socket, target: socket.socket, connection: int, is_request: bool) -> None:
        try:
            while data := source.recv(65536):
                with self._lock:
                    # The request's first byte starts the wait; the answer's first byte ends it.
                    if is_request:
                        self._waiting.add(connection)
                    else:
                        self._waiting.discard(connection)
                target.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._waiting.discard(connection)
        _close(source)
        _close(target)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
