"""The one outbound HTTP client for customer-supplied URLs (webhooks and the like).

Customers choose these URLs, so every request is treated as a potential SSRF probe:

* the URL must pass the shared tenant-URL rules (:func:`doxie.core.urlcheck.url_error`:
  absolute ``http``/``https``, a valid host, no ``user:pass@``, no whitespace or control
  characters, bounded length); plain ``http`` only where policy allows it;
* the host is resolved here and *every* resolved address is checked by the one address
  policy, :func:`doxie.core.ssrf.resolve_allowed` (the SMTP adapter uses the same);
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
import ssl
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

from doxie.core import ssrf, urlcheck

DEFAULT_TIMEOUT = 15.0
CONNECT_TIMEOUT = 5.0
USER_AGENT = "Doxie-Webhooks/1.0"

#: Kept under its historical name: refusals of the URL and of its addresses are one error.
UnsafeURLError = ssrf.UnsafeAddressError
Resolver = ssrf.Resolver
system_resolver = ssrf.system_resolver
blocked_reason = ssrf.blocked_reason


def _policy(allow_private: bool | None, allow_http: bool | None) -> tuple[bool, bool]:
    """Resolve None to the deployment setting (``DOXIE_ALLOW_PRIVATE_URLS`` governs both
    private addresses and plain http: allowed in development, refused in production)."""
    default = ssrf.private_allowed()
    return (
        default if allow_private is None else allow_private,
        default if allow_http is None else allow_http,
    )


def _parse(url: str, allow_private: bool, allow_http: bool) -> str:
    """The shared tenant-URL rules plus the outbound policy that needs no DNS; the host."""
    if problem := urlcheck.url_error(url):
        raise UnsafeURLError(f"URL {problem}")
    parsed = httpx.URL(url)
    if parsed.scheme == "http" and not allow_http:
        raise UnsafeURLError("plain http is not allowed; use https")
    host = parsed.raw_host.decode("ascii").lower()
    literal = ssrf.literal_ip(host)
    if literal is not None and not allow_private and (problem := ssrf.address_error(str(literal))):
        raise UnsafeURLError(problem)
    return host


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


async def _vet(
    url: str, allow_private: bool, allow_http: bool, resolver: Resolver
) -> tuple[str, list[str]]:
    """Validate ``url`` and return (host, addresses a connection may use)."""
    host = _parse(url, allow_private, allow_http)
    try:
        addresses = await ssrf.resolve_allowed(
            host, resolver=resolver, allow_private=allow_private
        )
    except OSError as exc:  # socket.gaierror: a network failure, not an unsafe URL
        raise httpx.ConnectError(f"could not resolve {host}: {exc}") from exc
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
