"""SafeClient against real local servers: delivery, no redirects, deadlines, SSRF refusals,
DNS pinning and TLS hostname verification. No database needed."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from doxie.core.http import (
    SafeClient,
    UnsafeURLError,
    blocked_reason,
    check_url,
    validate_url_syntax,
)


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    port: int
    hits: list[Hit] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _handler(state: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like real webhook receivers

        def log_message(self, *args):  # keep test output quiet
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.hits.append(Hit(self.command, self.path, dict(self.headers.items()), body))
            if self.path == "/redirect":
                self.send_response(301)
                self.send_header("Location", "/target")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/slow":
                state.release.wait(5)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/trickle":  # each read is quick, the whole body is not
                self.send_response(200)
                self.send_header("Content-Length", "40")
                self.end_headers()
                for _ in range(40):
                    if state.release.wait(0.1):
                        return
                    self.wfile.write(b"x")
                    self.wfile.flush()
            else:
                payload = b"ok:" + body
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        do_GET = do_POST = _serve

    return Handler


def _run(state: Server, ssl_context: ssl.SSLContext | None = None) -> Iterator[Server]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    if ssl_context is not None:
        httpd.socket = ssl_context.wrap_socket(httpd.socket, server_side=True)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    yield from _run(Server(port=0))


def fixed_resolver(mapping: dict[str, list[str]], calls: list[str] | None = None):
    async def resolve(host: str) -> list[str]:
        if calls is not None:
            calls.append(host)
        return mapping[host]

    return resolve


LOCAL = {"allow_private": True, "allow_http": True}
STRICT = {"allow_private": False, "allow_http": True}


async def test_post_reaches_server_with_body_and_original_host(server: Server) -> None:
    async with SafeClient() as client:
        resp = await client.post(
            f"{server.base}/hook", json={"a": 1}, headers={"X-Sig": "s1"}, **LOCAL
        )
    assert resp.status_code == 200
    assert resp.content == b'ok:{"a":1}'
    (hit,) = server.hits
    assert (hit.method, hit.path, json.loads(hit.body)) == ("POST", "/hook", {"a": 1})
    assert hit.headers["X-Sig"] == "s1"
    assert hit.headers["Host"] == f"127.0.0.1:{server.port}"
    assert hit.headers["Content-Type"] == "application/json"


async def test_redirect_is_returned_not_followed(server: Server) -> None:
    async with SafeClient() as client:
        resp = await client.post(f"{server.base}/redirect", content=b"x", **LOCAL)
    assert resp.status_code == 301
    assert resp.headers["Location"] == "/target"
    assert [h.path for h in server.hits] == ["/redirect"]


async def test_slow_server_times_out_within_configured_timeout(server: Server) -> None:
    started = time.monotonic()
    async with SafeClient() as client:
        with pytest.raises(httpx.TimeoutException):
            await client.request("GET", f"{server.base}/slow", timeout=0.5, **LOCAL)
    assert time.monotonic() - started < 2


async def test_total_deadline_covers_a_trickling_body(server: Server) -> None:
    started = time.monotonic()
    async with SafeClient() as client:
        with pytest.raises(httpx.TimeoutException, match="total deadline"):
            await client.request("GET", f"{server.base}/trickle", timeout=1.0, **LOCAL)
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/hook", "address 127.0.0.1 is loopback"),
        ("http://localhost:{port}/hook", "is loopback"),
        ("http://10.0.0.5/", "address 10.0.0.5 is private"),
        ("http://169.254.169.254/latest/meta-data", "address 169.254.169.254 is link-local"),
        ("http://[::1]:{port}/", "address ::1 is loopback"),
        ("http://[::ffff:127.0.0.1]:{port}/", "loopback (embedded IPv4 127.0.0.1)"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://0.0.0.0/", "address 0.0.0.0 is unspecified"),
        ("http://2130706433:{port}/", "address 127.0.0.1 is loopback"),
        ("http://0x7f.1:{port}/", "address 127.0.0.1 is loopback"),
        ("ftp://example.com/file", "scheme 'ftp' is not allowed"),
        ("http://user:pw@example.com/", "credentials"),
        ("http:///nohost", "must have a host"),
    ],
)
async def test_unsafe_urls_are_refused_before_connecting(
    server: Server, url: str, reason: str
) -> None:
    async with SafeClient() as client:
        with pytest.raises(UnsafeURLError, match=reason.replace("(", r"\(").replace(")", r"\)")):
            await client.post(url.format(port=server.port), content=b"x", **STRICT)
    assert server.hits == []


async def test_hostname_resolving_to_private_address_is_refused() -> None:
    resolver = fixed_resolver({"internal.example": ["203.0.114.7", "10.1.2.3"]})
    async with SafeClient(resolver=resolver) as client:
        with pytest.raises(UnsafeURLError, match="resolves to 10.1.2.3; address 10.1.2.3 is"):
            await client.post("https://internal.example/hook", content=b"x", **STRICT)
    with pytest.raises(UnsafeURLError, match="private"):
        await check_url("https://internal.example/", False, allow_http=False, resolver=resolver)


async def test_connection_is_pinned_to_the_checked_address(server: Server) -> None:
    # ".test" never resolves through the OS: success proves no second lookup happened.
    calls: list[str] = []
    resolver = fixed_resolver({"pinned.doxie.test": ["127.0.0.1"]}, calls)
    async with SafeClient(resolver=resolver) as client:
        resp = await client.post(
            f"http://pinned.doxie.test:{server.port}/hook", content=b"hi", **LOCAL
        )
        peer = resp.extensions["network_stream"].get_extra_info("server_addr")
    assert resp.content == b"ok:hi"
    assert calls == ["pinned.doxie.test"]
    assert peer[0] == "127.0.0.1"
    assert server.hits[0].headers["Host"] == f"pinned.doxie.test:{server.port}"


async def test_rebinding_after_the_check_does_not_reach_local_server(server: Server) -> None:
    answers = iter([["203.0.114.7"], ["127.0.0.1"], ["127.0.0.1"]])
    calls: list[str] = []

    async def rebinding(host: str) -> list[str]:
        calls.append(host)
        return next(answers)

    async with SafeClient(resolver=rebinding) as client:
        with pytest.raises(httpx.TransportError):  # connect to 203.0.114.7 fails or times out
            await client.post(f"http://rebind.doxie.test:{server.port}/hook", timeout=1.0, **STRICT)
    assert calls == ["rebind.doxie.test"]
    assert server.hits == []


async def test_next_checked_address_is_tried_when_first_refuses(server: Server) -> None:
    # The server listens on 127.0.0.1 only, so 127.0.0.3 refuses the connection.
    resolver = fixed_resolver({"multi.doxie.test": ["127.0.0.3", "127.0.0.1"]})
    async with SafeClient(resolver=resolver) as client:
        resp = await client.post(f"http://multi.doxie.test:{server.port}/hook", **LOCAL)
    assert resp.status_code == 200


async def test_unresolvable_host_is_a_connect_error() -> None:
    async def failing(host: str) -> list[str]:
        raise OSError("Name or service not known")

    async with SafeClient(resolver=failing) as client:
        with pytest.raises(httpx.ConnectError, match="could not resolve nowhere.doxie.test"):
            await client.post("https://nowhere.doxie.test/", **STRICT)


async def test_none_reads_the_django_setting(server: Server, settings) -> None:
    settings.DOXIE_ALLOW_PRIVATE_URLS = False
    async with SafeClient() as client:
        with pytest.raises(UnsafeURLError, match="plain http"):
            await client.post(f"{server.base}/hook")
        settings.DOXIE_ALLOW_PRIVATE_URLS = True
        assert (await client.post(f"{server.base}/hook")).status_code == 200


# --- TLS: the certificate is verified against the original hostname, not the pinned IP ---


@pytest.fixture(scope="module")
def tls_material(tmp_path_factory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.doxie.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.doxie.test")]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    client_ctx = ssl.create_default_context(cadata=cert_pem.decode())
    return server_ctx, client_ctx


@pytest.fixture
def tls_server(tls_material) -> Iterator[Server]:
    yield from _run(Server(port=0), tls_material[0])


async def test_https_verifies_certificate_for_original_hostname(
    tls_server: Server, tls_material
) -> None:
    resolver = fixed_resolver(
        {"hooks.doxie.test": ["127.0.0.1"], "other.doxie.test": ["127.0.0.1"]}
    )
    async with SafeClient(resolver=resolver, ssl_context=tls_material[1]) as client:
        ok = await client.post(
            f"https://hooks.doxie.test:{tls_server.port}/hook", content=b"s", **LOCAL
        )
        assert ok.content == b"ok:s"
        with pytest.raises(httpx.ConnectError, match="(?i)certificate|hostname"):
            await client.post(f"https://other.doxie.test:{tls_server.port}/hook", **LOCAL)
    assert [h.headers["Host"] for h in tls_server.hits] == [f"hooks.doxie.test:{tls_server.port}"]


# --- pure checks (no network) ---


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1",
        "198.51.100.2", "203.0.113.9", "::", "::1", "fe80::1", "fc00::1", "fd12::1", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2002:a00:1::1",
        "2002:7f00:1::", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2001:db8::1", "2001::1",
    ],
)  # fmt: skip
def test_blocked_addresses(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8",
     "64:ff9b::808:808", "2002:808:808::1"],
)  # fmt: skip
def test_public_addresses_allowed(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


def test_validate_url_syntax() -> None:
    strict = {"allow_private": False, "allow_http": False}
    assert validate_url_syntax("https://hooks.example.com/x?y=1", **strict) is None
    assert validate_url_syntax("https://93.184.216.34/", **strict) is None
    assert "plain http" in validate_url_syntax("http://hooks.example.com/", **strict)
    assert (
        validate_url_syntax("http://hooks.example.com/", allow_private=False, allow_http=True)
        is None
    )
    assert "scheme" in validate_url_syntax("javascript:alert(1)", **strict)
    assert "credentials" in validate_url_syntax("https://u@hooks.example.com/", **strict)
    assert "private" in validate_url_syntax("https://192.168.0.10/", **strict)
    assert "loopback" in validate_url_syntax("https://[::ffff:7f00:1]/", **strict)
    assert validate_url_syntax("https://192.168.0.10/", **{**strict, "allow_private": True}) is None
    assert "invalid port" in validate_url_syntax("https://example.com:99999/", **strict)
    assert "invalid host" in validate_url_syntax("https://exa_-.com/", **strict)
    # The shared tenant-URL rules (doxie.core.urlcheck) apply to outbound URLs as well.
    for hidden in ("https://exa mple.com/", "https://ex\x00a.com/", "https://a.com/a b",
                   "https://a.com/\u202ex", "https://a.com/x\r\nHost: evil"):
        assert "whitespace or control" in validate_url_syntax(hidden, **strict)
    assert validate_url_syntax("https://b\u00fccher.example./x", **strict) is None
    assert validate_url_syntax("https://" + "a" * 3000 + ".com/", **strict) is not None
