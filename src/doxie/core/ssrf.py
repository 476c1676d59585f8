"""The one policy for outbound connections to hosts a tenant chose (SSRF guard).

Every client that connects somewhere a tenant configured — the webhook HTTP client
(:mod:`doxie.core.http`) and the SMTP adapter (:mod:`doxie.providers.email.smtp`) — asks
:func:`resolve_allowed` for the addresses it may use and then connects to exactly one of
those, never resolving the name again. Checking and connecting on the same resolved
address is what makes DNS rebinding (a name that answers a public address to the check and
``127.0.0.1`` to the connect) harmless.

Refused unless ``settings.DOXIE_ALLOW_PRIVATE_URLS`` (on in development, off in
production): loopback, private (RFC 1918), carrier-grade NAT, link-local (incl. the cloud
metadata address 169.254.169.254), unique-local, site-local, multicast, unspecified,
reserved, benchmarking and documentation ranges, and the same ranges embedded in IPv6
(IPv4-mapped ``::ffff:127.0.0.1``, IPv4-compatible, 6to4, NAT64). Numeric host spellings
the C resolver accepts (``2130706433``, ``0x7f.1``, ``127.1``) are classified as the
address they denote. A name is refused when *any* of its addresses is forbidden, so a
round-robin answer cannot smuggle one in.

Save-time checks (:func:`host_error`) are a courtesy that gives the tenant a 422 early;
the connect-time check is the guard, because DNS can change after a save.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], Awaitable[list[str]]]

#: Seconds a save-time lookup may take; slower names are accepted and checked at connect.
SAVE_LOOKUP_TIMEOUT = 2.0


class UnsafeAddressError(ValueError):
    """The host may not be contacted (a forbidden address, or a name resolving to one)."""


def _nets(*pairs: tuple[str, str]) -> list[tuple[IPNetwork, str]]:
    return [(ipaddress.ip_network(net), label) for net, label in pairs]


# Most specific first: the first match names the reason in the error message.
_BLOCKED_V4 = _nets(
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT (shared)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local (cloud metadata)"),
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


def private_allowed() -> bool:
    """The deployment's choice; ``settings.py`` holds the one default (off in production)."""
    return bool(settings.DOXIE_ALLOW_PRIVATE_URLS)


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


def bare_host(host: str) -> str:
    """``host`` lower-cased without the brackets of an IPv6 literal (``[::1]`` -> ``::1``)."""
    host = host.lower()
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    return host


def literal_ip(host: str) -> IPAddress | None:
    """Parse an IP-literal host, including legacy forms (``2130706433``, ``0x7f.1``)."""
    host = bare_host(host)
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # Names whose labels are all numeric are never DNS names; the C resolver reads them
    # as inet_aton() addresses, so classify them the same way.
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            return None
    return None


def is_hostname(host: str) -> bool:
    """A syntactically valid DNS name (ASCII/punycode, labels of at most 63 characters)."""
    return bool(_HOSTNAME.fullmatch(host.lower()))


def address_error(raw: str, *, name: str | None = None) -> str | None:
    """Why one (resolved or literal) address may not be contacted, or None.

    Ignores the deployment setting: callers decide whether the policy applies.
    """
    try:
        addr = ipaddress.ip_address(raw.split("%", 1)[0])
    except ValueError:
        return f"{raw!r} is not an IP address"
    reason = blocked_reason(addr)
    if reason is None:
        return None
    if name is not None and literal_ip(name) is None:
        return f"{name} resolves to {raw}; address {addr} is {reason}"
    return f"address {addr} is {reason}"


async def system_resolver(host: str) -> list[str]:
    """Resolve ``host`` with the OS resolver (off the event loop), de-duplicated, in order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve_allowed(
    host: str, *, resolver: Resolver | None = None, allow_private: bool | None = None
) -> list[str]:
    """The addresses a connection to ``host`` may use; connect only to one of these.

    Raises :class:`UnsafeAddressError` when the policy refuses the host and ``OSError``
    (``socket.gaierror``) when the name does not resolve: a network failure, which callers
    report as retryable.
    """
    allow = private_allowed() if allow_private is None else allow_private
    literal = literal_ip(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        name = bare_host(host)
        if not is_hostname(name):
            raise UnsafeAddressError(f"invalid host name {name!r}")
        addresses = await (resolver or system_resolver)(name)
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, f"{name} has no addresses")
    if not allow:
        for raw in addresses:
            if problem := address_error(raw, name=host):
                raise UnsafeAddressError(problem)
    return addresses


_lookups = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="ssrf-dns")


def _lookup(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def host_error(host: str, *, timeout: float = SAVE_LOOKUP_TIMEOUT) -> str | None:
    """Save-time check of a tenant-configured host (synchronous, for validation code).

    IP literals are judged directly; names are resolved once, bounded by ``timeout``. A
    name that does not resolve (yet), or not in time, is accepted: the policy is enforced
    again at connect time, and refusing unresolvable names would block configuring a
    server whose DNS record is created later. Returns None when private hosts are allowed.
    """
    if private_allowed():
        return None
    literal = literal_ip(host)
    if literal is not None:
        return address_error(str(literal))
    name = bare_host(host)
    if not is_hostname(name):
        return f"invalid host name {name!r}"
    future = _lookups.submit(_lookup, name)
    try:
        addresses = future.result(timeout=timeout)
    except (OSError, UnicodeError, concurrent.futures.TimeoutError):
        return None
    return next((p for raw in addresses if (p := address_error(raw, name=name))), None)
