"""Plumbing shared by the fake provider servers: a real HTTP server on 127.0.0.1, a request log
and fault switches.

Why a real server instead of mocking httpx: the adapters' pooling, timeouts, auth headers and
error mapping are exactly what breaks in production, and only a real socket exercises them.
Stdlib only (``ThreadingHTTPServer`` in a daemon thread) so the fakes work under any event loop
and in the lead's integration tests.

Faults are queued: ``fail_next(2)`` makes the next two requests answer 500, ``throttle_next``
answers 429 with ``Retry-After``, ``slow_next`` delays the answer (to provoke client timeouts).
A slowed request is still processed afterwards, like a real provider that accepted a request
whose response the client gave up waiting for.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class FakeRequest:
    """One request as the fake received it (inspect ``fake.requests`` in tests)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def is_json(self) -> bool:
        return "json" in (self.header("content-type") or "")

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class FakeResponse:
    status: int = 200
    body: Any = None  # bytes/str sent as-is, anything else JSON-encoded
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, body: Any, **headers: str) -> FakeResponse:
    return FakeResponse(status, body, {"Content-Type": "application/json", **headers})


@dataclass
class _Fault:
    kind: str  # "status" | "slow"
    status: int = 500
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class FakeHTTPServer(ABC):
    """Base class: subclasses implement :meth:`handle`."""

    def __init__(self) -> None:
        self.requests: list[FakeRequest] = []
        self._faults: deque[_Fault] = deque()
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> FakeHTTPServer:
        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # fast shutdown: one fake per test adds up
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in slow_next
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("fake server not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- fault switches -------------------------------------------------------------------
    def fail_next(self, n: int = 1, status: int = 500, body: Any = None) -> None:
        """The next ``n`` requests answer ``status`` without being processed."""
        body = body if body is not None else {"error": f"injected {status}"}
        with self._lock:
            self._faults.extend(_Fault("status", status=status, body=body) for _ in range(n))

    def throttle_next(self, n: int = 1, retry_after: str = "7") -> None:
        """The next ``n`` requests answer 429 with ``Retry-After: retry_after``."""
        with self._lock:
            self._faults.extend(
                _Fault("status", 429, headers={"Retry-After": retry_after}, body="Too Many")
                for _ in range(n)
            )

    def slow_next(self, n: int = 1, delay: float = 2.0) -> None:
        """The next ``n`` requests are answered only after ``delay`` seconds."""
        with self._lock:
            self._faults.extend(_Fault("slow", delay=delay) for _ in range(n))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- to implement ---------------------------------------------------------------------
    @abstractmethod
    def handle(self, request: FakeRequest) -> FakeResponse:
        """Answer one request in the provider's wire format."""

    # -- internals ------------------------------------------------------------------------
    def _respond(self, request: FakeRequest) -> FakeResponse:
        with self._lock:
            self.requests.append(request)
            fault = self._faults.popleft() if self._faults else None
        if fault is not None and fault.kind == "status":
            body = fault.body
            if isinstance(body, str | bytes):
                return FakeResponse(fault.status, body, dict(fault.headers))
            return json_response(fault.status, body, **fault.headers)
        if fault is not None and fault.kind == "slow":
            self._stopping.wait(fault.delay)
        with self._lock:  # one request at a time mutates the stores
            return self.handle(request)


def _handler_for(fake: FakeHTTPServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: clean shutdown, no hangs

        def _dispatch(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = FakeRequest(
                method=self.command,
                path=parts.path,
                query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            try:
                response = fake._respond(request)
            except Exception as exc:  # a bug in the fake must be loud, not a hang
                response = json_response(599, {"fake_server_error": repr(exc)})
            self._write(response)

        def _write(self, response: FakeResponse) -> None:
            body = response.body
            if body is None:
                payload = b""
            elif isinstance(body, bytes):
                payload = body
            elif isinstance(body, str):
                payload = body.encode()
            else:
                payload = json.dumps(body).encode()
            try:
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if payload and self.command != "HEAD":
                    self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left; that is the point of slow_next

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
