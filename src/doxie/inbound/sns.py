"""Amazon SNS message authentication and subscription confirmation.

Anyone who learns a callback URL can POST to it, so an SNS message is trusted only after its
signature verifies against the certificate SNS publishes for it (AWS's documented procedure):

* ``SigningCertURL`` must be an https URL on an ``sns.<region>.amazonaws.com`` host naming a
  ``SimpleNotificationService-*.pem`` file (a strict full-match regex: an attacker must not
  be able to point us at a certificate of their own); the certificate must be valid now;
* the string to sign is ``"<Name>\\n<value>\\n"`` for the fields of the message type, in this
  order: Notification — Message, MessageId, Subject (only when present), Timestamp,
  TopicArn, Type; SubscriptionConfirmation / UnsubscribeConfirmation — Message, MessageId,
  SubscribeURL, Timestamp, Token, TopicArn, Type;
* ``SignatureVersion`` 1 is RSA PKCS#1 v1.5 with SHA1, 2 the same with SHA256.

Certificates are cached per process by URL (SNS rotates them rarely; a cache miss costs one
fetch, and losing the cache loses nothing). Subscription confirmation GETs ``SubscribeURL``
only on an ``sns.<region>.amazonaws.com`` host. Both URL patterns can be replaced through
``DOXIE_SNS_CERT_URL_PATTERN`` / ``DOXIE_SNS_SUBSCRIBE_URL_PATTERN`` settings, which is how the
tests point them at a local server holding a self-signed certificate.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import threading
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings

log = logging.getLogger("doxie.inbound")

DEFAULT_CERT_URL_PATTERN = (
    r"https://sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/SimpleNotificationService-[A-Za-z0-9]+\.pem"
)
DEFAULT_SUBSCRIBE_URL_PATTERN = (
    r"https://sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/\?Action=ConfirmSubscription&[^\s#]+"
)
NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"
_SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    SUBSCRIPTION_CONFIRMATION: (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
}
_SIGNED_FIELDS[UNSUBSCRIBE_CONFIRMATION] = _SIGNED_FIELDS[SUBSCRIPTION_CONFIRMATION]
_OPTIONAL = {"Subject"}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
MAX_CERT_BYTES = 64 * 1024
_CACHE_SIZE = 32
_cache: dict[str, x509.Certificate] = {}
_cache_lock = threading.Lock()


class SnsError(Exception):
    """The message is not authentic (or not an SNS message at all): answer 403."""


class SnsUnavailable(Exception):
    """AWS could not be reached (certificate fetch, confirmation): answer 503 so SNS retries."""


def _pattern(name: str, default: str) -> re.Pattern[str]:
    return re.compile(getattr(settings, name, None) or default)


def string_to_sign(message: dict[str, Any]) -> bytes:
    """The canonical bytes SNS signed for ``message``; SnsError when a field is missing."""
    kind = message.get("Type")
    names = _SIGNED_FIELDS.get(kind) if isinstance(kind, str) else None
    if names is None:
        raise SnsError(f"unknown SNS message type {kind!r}")
    parts: list[str] = []
    for name in names:
        value = message.get(name)
        if value is None and name in _OPTIONAL:
            continue
        if not isinstance(value, str):
            raise SnsError(f"SNS message lacks {name}")
        parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode()


def clear_certificate_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _fetch_certificate(url: str) -> x509.Certificate:
    with _cache_lock:
        cached = _cache.get(url)
    if cached is not None:
        return cached
    try:
        with httpx.Client(timeout=_TIMEOUT, follow_redirects=False) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        raise SnsUnavailable(f"signing certificate unreachable: {exc.__class__.__name__}") from exc
    if response.status_code >= 500:
        raise SnsUnavailable(f"signing certificate unavailable: HTTP {response.status_code}")
    if response.status_code != 200 or len(response.content) > MAX_CERT_BYTES:
        raise SnsError(f"no signing certificate at SigningCertURL: HTTP {response.status_code}")
    try:
        certificate = x509.load_pem_x509_certificate(response.content)
    except ValueError as exc:
        raise SnsError("signing certificate is not a PEM certificate") from exc
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[url] = certificate
    return certificate


def verify(message: dict[str, Any]) -> None:
    """Raise SnsError unless ``message`` carries a valid SNS signature."""
    if not isinstance(message, dict):
        raise SnsError("not an SNS message")
    algorithm = _HASHES.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise SnsError(f"unsupported SignatureVersion {message.get('SignatureVersion')!r}")
    cert_url = message.get("SigningCertURL")
    cert_pattern = _pattern("DOXIE_SNS_CERT_URL_PATTERN", DEFAULT_CERT_URL_PATTERN)
    if not isinstance(cert_url, str) or not cert_pattern.fullmatch(cert_url):
        raise SnsError("SigningCertURL is not an SNS certificate URL")
    try:
        signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SnsError("Signature is not base64") from exc
    if not signature:
        raise SnsError("Signature is empty")
    data = string_to_sign(message)
    certificate = _fetch_certificate(cert_url)
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise SnsError("signing certificate is not valid now")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SnsError("signing certificate does not hold an RSA key")
    try:
        key.verify(signature, data, padding.PKCS1v15(), algorithm())
    except InvalidSignature as exc:
        raise SnsError("signature does not match") from exc


def confirm_subscription(message: dict[str, Any]) -> None:
    """GET the (verified) ``SubscribeURL``.

    SnsError when the URL is not SNS's; SnsUnavailable when SNS cannot be reached or refuses
    (the 503 makes SNS re-send the confirmation request).
    """
    url = message.get("SubscribeURL")
    pattern = _pattern("DOXIE_SNS_SUBSCRIBE_URL_PATTERN", DEFAULT_SUBSCRIBE_URL_PATTERN)
    if not isinstance(url, str) or not pattern.fullmatch(url):
        raise SnsError("SubscribeURL is not an SNS confirmation URL")
    try:
        with httpx.Client(timeout=_TIMEOUT, follow_redirects=False) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        raise SnsUnavailable(f"subscription confirmation failed: {exc.__class__.__name__}") from exc
    if not response.is_success:
        raise SnsUnavailable(f"subscription confirmation failed: HTTP {response.status_code}")
    log.info("SNS subscription to %s confirmed", message.get("TopicArn"))
