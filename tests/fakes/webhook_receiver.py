"""A real HTTP receiver for outgoing-webhook tests and the bench (stdlib only).

A threaded server on 127.0.0.1 speaking HTTP/1.1 with keep-alive, like a customer's
endpoint behind a normal web server. It records every request and answers from a
programmable script: replies queued for a path (or for any path) are used first, in order,
then the default reply. A reply sets status, headers (``Retry-After``, ``Location`` …), body
and a delay (to provoke client timeouts).

    with WebhookReceiver() as receiver:
        receiver.queue(Reply(500), Reply(200))        # next two requests, any path
        receiver.queue(Reply.redirect("/elsewhere"), path="/hook")
        ... deliver to receiver.url("/hook") ...
        assert receiver.wait_for(2)

Run ``python -m tests.fakes.webhook_receiver`` to serve in a separate process (the bench
does, so the receiver's GIL does not compete with the code under measurement).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=lambda: {"received": True})  # bytes/str raw, else JSON
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def redirect(cls, location: str, status: int = 301) -> Reply:
        return cls(status, b"", {"Location": location})

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            payload = self.body
        elif isinstance(self.body, str):
            payload = self.body.encode()
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            payload = json.dumps(self.body).encode()
            headers.setdefault("Content-Type", "application/json")
        return payload, headers


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self, *, record: bool = True, port: int = 0) -> None:
        self.record = record  # the bench only counts: recording 20 000 bodies is noise
        self.requests: list[Received] = []
        self.count = 0
        self.default = Reply()
        self._port = port
        self._script: dict[str | None, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- programming ----------------------------------------------------------------------
    def queue(self, *replies: Reply, path: str | None = None) -> None:
        """Answer the next requests (to ``path``, or to any path) with ``replies`` in order."""
        with self._lock:
            self._script[path].extend(replies)

    def hits(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_for(self, n: int, timeout: float = 5.0) -> bool:
        """Block until ``n`` requests arrived in total (True) or the timeout passed."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while self.count < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(left)
        return True

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.count = 0
            self._script.clear()

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> WebhookReceiver:
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", self._port), _handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("receiver not started")
        return self._server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # -- internals ------------------------------------------------------------------------
    def _take(self, request: Received) -> Reply:
        with self._arrived:
            self.count += 1
            if self.record:
                self.requests.append(request)
            self._arrived.notify_all()
            for key in (request.path, None):
                if self._script.get(key):
                    return self._script[key].popleft()
            return self.default


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the stdlib's 5 resets connections under a burst


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # One segment per response and no Nagle: otherwise header and body go out as two
        # small writes and delayed ACKs cap every connection at a few dozen requests/s.
        wbufsize = 1 << 16
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Received(
                method=self.command,
                path=urlsplit(self.path).path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                at=time.monotonic(),
            )
            reply = receiver._take(request)
            if reply.delay and receiver._stopping.wait(reply.delay):
                self.close_connection = True
                return
            payload, headers = reply.encoded()
            try:
                self.send_response(reply.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up waiting (timeouts)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            return

    return Handler


def main() -> None:
    """Serve until stdin closes; prints the port on the first line (used by the bench)."""
    receiver = WebhookReceiver(record=False).start()
    print(receiver.port, flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "count":
                print(receiver.count, flush=True)
    finally:
        receiver.stop()


if __name__ == "__main__":
    main()
