"""What a scan tells us about its client: crawler, link preview, and a privacy-safe address.

Bots are recognised by ``crawlerdetect`` (a port of the maintained JayBizzle/Crawler-Detect
list), so the list follows upstream instead of being ours to keep current. Link previews
(messengers and social networks fetching a pasted URL to draw a card) are crawlers too, but
worth their own flag: they tell the customer a code's URL was shared, not scanned.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from crawlerdetect import CrawlerDetect

#: User agents of link-preview fetchers (messengers, social networks, chat tools).
_PREVIEW = re.compile(
    r"facebookexternalhit|facebookcatalog|Twitterbot|WhatsApp|TelegramBot|Slackbot-LinkExpanding"
    r"|Slack-ImgProxy|Discordbot|LinkedInBot|SkypeUriPreview|Pinterestbot|redditbot"
    r"|Iframely|Embedly|vkShare|Viber|Snapchat|Signal|Mastodon|Google-PageRenderer"
    r"|Microsoft Preview|Teams|bitlybot|Applebot",
    re.IGNORECASE,
)
#: Headers browsers send with speculative fetches (prefetch, prerender, previews).
_PURPOSE_HEADERS = ("Sec-Purpose", "Purpose", "X-Purpose", "X-Moz")
_PURPOSE = re.compile(r"prefetch|preview|prerender", re.IGNORECASE)
MAX_TEXT = 1000

_detector = CrawlerDetect()


@lru_cache(maxsize=4096)
def is_bot(user_agent: str) -> bool:
    """Crawler per the maintained list; an empty user agent is a bot (browsers send one).

    Cached: a few distinct user agents make up most traffic, and the list is hundreds of
    regular expressions.
    """
    if not user_agent.strip():
        return True
    return bool(_detector.isCrawler(user_agent))


def is_link_preview(user_agent: str, headers: dict[str, str]) -> bool:
    if _PREVIEW.search(user_agent):
        return True
    return any(_PURPOSE.search(headers.get(name, "")) for name in _PURPOSE_HEADERS)


def truncated_ip(address: str, *, full: bool = False) -> str:
    """The network of ``address``: /24 for IPv4, /48 for IPv6 (enough for a region, not a
    household); the full address only where the tenant opted in. Garbage becomes ''."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if full:
        return str(ip)
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def clip(value: str) -> str:
    """Header values as stored: bounded and free of NUL (which PostgreSQL text refuses)."""
    return value.replace("\x00", "")[:MAX_TEXT]
