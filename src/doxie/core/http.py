"""The one outbound HTTP client for customer-supplied URLs (webhooks and the like).

Customers choose these URLs, so every request is treated as a potential SSRF probe:

* only ``http``/``https`` (plain ``http`` only where policy allows it), no ``user:pass@``;
* the host is resolved here and *every* resolved address is checked against loopback,
  private, link-local (cloud metadata), CGNAT, unique-local, multicast, reserved and
  documentation ranges, including IPv4 embedded in IPv6 (mapped, 6to4, NAT64);
* the socket is then opened to one of exactly those checked addresses (a pinning network
  backend), so a DNS answer that changes between check and connect (rebinding) is
  harmless. The URL itself is left untouched, so ``Host``, TLS SNI and certificate
  verification all use the real hostname and pooled connections stay keyed by it;
* redirects are never followed: a 3xx is returned to the caller as-is;
* a total deadline (default 15 s, connect 5 s) covers resolution, connect and body read.

Refusals raise :class:`UnsafeURLError`; network failures propagate as ``httpx`` errors.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], Awaitable[list[str]]]

DEFAULT_TIMEOUT = 15.0
CONNECT_TIMEOUT = 5.0
MAX_URL_LENGTH = 2048
USER_AGENT = "Doxie-Webhooks/1.0"


class UnsafeURLError(ValueError):
    """The URL may not be fetched (scheme, credentials or a forbidden address)."""


def _nets(*pairs: tuple[str, str]) -> list[tuple[IPNetwork, str]]:
    return [(ipaddress.ip_network(net), label) for net, label in pairs]


# Most specific first: the first match names the reason in the error message.
_BLOCKED_V4 = _nets(
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT (shared)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved (IETF protocol assignments)"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "reserved (6to4 relay)"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # includes 255.255.255.255
)
_BLOCKED_V6 = _nets(
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "reserved (IPv4-compatible)"),
    ("::ffff:0:0:0/96", "reserved (IPv4-translated)"),
    ("64:ff9b:1::/48", "reserved (local-use NAT64)"),
    ("100::/64", "reserved (discard-only)"),
    ("2001:db8::/32", "documentation"),
    ("2001::/23", "reserved (IETF protocol assignments, incl. Teredo)"),
    ("3fff::/20", "documentation"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOSTNAME = re.compile(rf"(?=.{{1,254}}$){_LABEL}(?:\.{_LABEL})*\.?")
_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?")


def blocked_reason(addr: IPAddress) -> str | None:
    """Why ``addr`` must not be contacted, or None when it is a public unicast address."""
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = addr.ipv4_mapped or addr.sixtofour
        if embedded is None and addr in _NAT64:
            embedded = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if embedded is not None and (inner := blocked_reason(embedded)):
            return f"{inner} (embedded IPv4 {embedded})"
        table = _BLOCKED_V6
    else:
        table = _BLOCKED_V4
    return next((label for net, label in table if addr in net), None)


def _literal_ip(host: str) -> IPAddress | None:
    """Parse an IP-literal host, including legacy forms (``2130706433``, ``0x7f.1``)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # Names whose labels are all numeric are never DNS names; the C resolver reads them
    # as inet_aton() addresses, so classify them the same way.
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _policy(allow_private: bool | None, allow_http: bool | None) -> tuple[bool, bool]:
    """Resolve None to the deployment setting: in dev both private and http are allowed."""
    if allow_private is not None and allow_http is not None:
        return allow_private, allow_http
    default = bool(getattr(settings, "DOXIE_ALLOW_PRIVATE_URLS", False))
    return (
        default if allow_private is None else allow_private,
        default if allow_http is None else allow_http,
    )


def _parse(url: str, allow_private: bool, allow_http: bool) -> tuple[str, IPAddress | None]:
    """Syntax checks shared by every entry point; returns (host, literal IP or None)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeURLError(f"URL must be a non-empty string of at most {MAX_URL_LENGTH} chars")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeURLError(f"invalid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise UnsafeURLError(f"scheme {parsed.scheme!r} is not allowed; use https")
    if parsed.scheme == "http" and not allow_http:
        raise UnsafeURLError("plain http is not allowed; use https")
    if parsed.userinfo:
        raise UnsafeURLError("URLs with credentials (user:password@) are not allowed")
    host = parsed.raw_host.decode("ascii").lower()
    if not host:
        raise UnsafeURLError("URL has no host")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UnsafeURLError(f"invalid port {parsed.port}")
    literal = _literal_ip(host)
    if literal is None and not _HOSTNAME.fullmatch(host):
        raise UnsafeURLError(f"invalid host name {host!r}")
    if literal is not None and not allow_private and (reason := blocked_reason(literal)):
        raise UnsafeURLError(f"address {literal} is {reason}")
    return host, literal


def validate_url_syntax(
    url: str, *, allow_private: bool | None = None, allow_http: bool | None = None
) -> str | None:
    """Error message for a customer URL, or None. No DNS, so cheap enough for API validation.

    IP-literal hosts are checked here; hostnames can only be judged at request time.
    """
    try:
        _parse(url, *_policy(allow_private, allow_http))
    except UnsafeURLError as exc:
        return str(exc)
    return None


async def system_resolver(host: str) -> list[str]:
    """Resolve ``host`` with the OS resolver (off the event loop), de-duplicated, in order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def _vet(
    url: str, allow_private: bool, allow_http: bool, resolver: Resolver
) -> tuple[str, list[str]]:
    """Validate ``url`` and return (host, addresses a connection may use)."""
    host, literal = _parse(url, allow_private, allow_http)
    if literal is not None:
        return host, [str(literal)]
    try:
        addresses = await resolver(host)
    except OSError as exc:  # socket.gaierror: a network failure, not an unsafe URL
        raise httpx.ConnectError(f"could not resolve {host}: {exc}") from exc
    if not addresses:
        raise httpx.ConnectError(f"could not resolve {host}: no addresses")
    if not allow_private:
        for raw in addresses:
            addr = ipaddress.ip_address(raw.split("%", 1)[0])
            if reason := blocked_reason(addr):
                raise UnsafeURLError(f"{host} resolves to {raw}; address {addr} is {reason}")
    return host, addresses


async def check_url(
    url: str,
    allow_private: bool | None = None,
    *,
    allow_http: bool | None = None,
    resolver: Resolver | None = None,
) -> list[str]:
    """Validate ``url`` including DNS and return its allowed addresses.

    Raises UnsafeURLError when refused and httpx.ConnectError when the name does not resolve.
    """
    _, addresses = await _vet(url, *_policy(allow_private, allow_http), resolver or system_resolver)
    return addresses


# host -> vetted addresses for the request running in the current task.
_PINNED: ContextVar[dict[str, list[str]] | None] = ContextVar("doxie_http_pinned", default=None)


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Open sockets only to the addresses vetted for this request, never re-resolving."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = (_PINNED.get() or {}).get(host.lower())
        if not addresses:  # fail closed: nothing connects without having been checked
            raise httpcore.ConnectError(f"refusing unvetted connection to {host}")
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport (for its error mapping) over a pool using the pinning backend."""

    def __init__(self, limits: httpx.Limits, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, limits=limits, trust_env=False)
        if not isinstance(getattr(self, "_pool", None), httpcore.AsyncConnectionPool):
            raise RuntimeError("unsupported httpx version: cannot install address pinning")
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PinnedBackend(),
        )


class SafeClient:
    """Pooled async client that only talks to vetted, pinned, public addresses.

    ``resolver`` (async host -> addresses) replaces DNS, e.g. in tests; ``ssl_context``
    replaces the default CA bundle verification (hostname checking stays on).
    """

    def __init__(
        self,
        *,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._resolver = resolver or system_resolver
        self._timeout = timeout
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        transport = _PinnedTransport(limits, ssl_context or httpx.create_ssl_context())
        self._client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            trust_env=False,  # no env proxies: they would bypass the address check
            headers={"User-Agent": USER_AGENT},
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_private: bool | None = None,
        allow_http: bool | None = None,
    ) -> httpx.Response:
        """Send one request (never following redirects) within a total deadline of ``timeout``."""
        total = self._timeout if timeout is None else timeout
        policy = _policy(allow_private, allow_http)
        request: httpx.Request | None = None
        try:
            async with asyncio.timeout(total):
                host, addresses = await _vet(url, *policy, self._resolver)
                request = self._client.build_request(
                    method,
                    url,
                    json=json,
                    content=content,
                    headers=headers,
                    timeout=httpx.Timeout(total, connect=min(CONNECT_TIMEOUT, total)),
                )
                token = _PINNED.set({host: addresses})
                try:
                    return await self._client.send(request, auth=auth, follow_redirects=False)
                finally:
                    _PINNED.reset(token)
        except TimeoutError as exc:
            raise httpx.TimeoutException(
                f"request exceeded its {total:g}s total deadline", request=request
            ) from exc

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """POST ``url``; keyword arguments as for :meth:`request`."""
        return await self.request("POST", url, **kwargs)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> SafeClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
