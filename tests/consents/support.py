"""Helpers for consent tests: P1/P2 calls, reading queued messages and links."""

from __future__ import annotations

import re

from doxie.messaging import secret_links
from doxie.messaging.models import Message

INITIATE = "/api/v1/{tenant}/mpm/consents/initiate"
REVOKE = "/api/v1/{tenant}/mpm/consents/revoke"
LINK = re.compile(r"https?://[^\s'\"<>]+/(?:doi|d)/[A-Za-z0-9_-]+")


def initiate(api, caller, tenant_slug: str = "acme", headers=None, **body):
    payload = {"customer_id": "c-1", "consent_slug": "marketing", **body}
    return api.post(INITIATE.format(tenant=tenant_slug), payload, caller=caller, headers=headers)


def revoke(api, caller, tenant_slug: str = "acme", **body):
    return api.post(REVOKE.format(tenant=tenant_slug), body, caller=caller)


def messages(**filters) -> list[Message]:
    return list(Message.objects.filter(**filters).order_by("id"))


def link_in(text: str) -> str:
    match = LINK.search(text)
    assert match, f"no confirmation link in {text!r}"
    return match.group(0)


def provider_copy(message: Message) -> tuple[str, str]:
    """(text, html) as delivery hands them to the provider: stored bodies carry only the
    placeholder, the link comes from the message's encrypted secret values."""
    values = secret_links.unseal(message.secret_values, encrypted=False)
    return (
        secret_links.fill(message.text, values) or "",
        secret_links.fill(message.html, values, html=True) or "",
    )


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def start(tenant, *, email: str | None = "a@example.com", phone: str | None = None,
          customer_id: str = "c-1", slug: str = "marketing"):
    """P1 through the service; returns (consent, confirmation URL from the queued message)."""
    from doxie.consents import services

    result = services.initiate(
        tenant=tenant, customer_id=customer_id, consent_slug=slug,
        email=None if phone else email, phone=phone, actor=services.Actor("api_user:test"),
    )
    message = Message.objects.filter(process__uuid=result.process_uuid).order_by("-id").first()
    return result.consent, link_in(provider_copy(message)[0])
