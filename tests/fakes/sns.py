"""A local Amazon SNS for HTTP(S)-subscription tests: it signs messages and serves its cert.

SNS delivers to an HTTPS endpoint a JSON document signed with RSA (SignatureVersion 1:
SHA1withRSA, 2: SHA256withRSA) over a canonical string, and publishes the signing certificate
at ``SigningCertURL``. This fake does the same with its own key and self-signed certificate,
served from a real HTTP server on 127.0.0.1, and answers ``SubscribeURL`` GETs like SNS's
``ConfirmSubscription`` action (recording them). Point the service's allowed URL patterns at
it with :meth:`FakeSns.settings_overrides`.

The canonical string is built here independently of the code under test (AWS's documented
field lists), so a mistake in either shows up as a failing signature check.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from .http_server import FakeHTTPServer, FakeRequest, FakeResponse

REGION = "eu-central-1"
ACCOUNT = "123456789012"
_NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_FIELDS = (
    "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
)


@lru_cache(maxsize=1)
def _signing_key() -> rsa.RSAPrivateKey:
    """One 2048-bit key per test session: generating it is the slow part."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_certificate(key: rsa.RSAPrivateKey, *, valid: bool = True) -> bytes:
    """A self-signed PEM certificate for ``key`` (expired when ``valid`` is False)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    start, end = (now - timedelta(days=1), now + timedelta(days=1)) if valid else (
        now - timedelta(days=10), now - timedelta(days=5)
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


class FakeSns(FakeHTTPServer):
    def __init__(self, *, region: str = REGION, account: str = ACCOUNT) -> None:
        super().__init__()
        self.region = region
        self.account = account
        self.key = _signing_key()
        self.cert_pem = make_certificate(self.key)
        self.cert_path = f"/SimpleNotificationService-{secrets.token_hex(16)}.pem"
        self.confirmed: list[FakeRequest] = []

    # -- URLs and settings ----------------------------------------------------------------
    @property
    def cert_url(self) -> str:
        return self.url + self.cert_path

    def subscribe_url(self, topic_arn: str, token: str) -> str:
        return f"{self.url}/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}"

    def settings_overrides(self) -> dict[str, str]:
        """Allowed-URL patterns that accept this server instead of sns.<region>.amazonaws.com."""
        base = re.escape(self.url)
        return {
            "DOXIE_SNS_CERT_URL_PATTERN": base + r"/SimpleNotificationService-[A-Za-z0-9]+\.pem",
            "DOXIE_SNS_SUBSCRIBE_URL_PATTERN": base + r"/\?Action=ConfirmSubscription&[^\s#]+",
        }

    def topic_arn(self, name: str) -> str:
        return f"arn:aws:sns:{self.region}:{self.account}:{name}"

    # -- messages -------------------------------------------------------------------------
    def sign(self, message: dict[str, Any], version: str = "1") -> dict[str, Any]:
        """Add SignatureVersion, SigningCertURL and Signature as SNS does."""
        fields = _NOTIFICATION_FIELDS if message["Type"] == "Notification" else (
            _CONFIRMATION_FIELDS
        )
        canonical = "".join(
            f"{name}\n{message[name]}\n" for name in fields if name in message
        ).encode()
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.key.sign(canonical, padding.PKCS1v15(), algorithm)
        return {
            **message,
            "SignatureVersion": version,
            "SigningCertURL": self.cert_url,
            "Signature": base64.b64encode(signature).decode(),
        }

    def notification(
        self, topic: str, event: dict[str, Any] | str, *, version: str = "1",
        subject: str | None = None, message_id: str | None = None,
    ) -> dict[str, Any]:
        """A signed ``Notification`` carrying ``event`` (JSON-encoded like SES does)."""
        message: dict[str, Any] = {
            "Type": "Notification",
            "MessageId": message_id or _uuid(),
            "TopicArn": self.topic_arn(topic),
            "Message": event if isinstance(event, str) else json.dumps(event),
            "Timestamp": _now(),
            "UnsubscribeURL": f"{self.url}/?Action=Unsubscribe&SubscriptionArn=x",
        }
        if subject is not None:
            message["Subject"] = subject
        return self.sign(message, version)

    def subscription_confirmation(self, topic: str, *, version: str = "1") -> dict[str, Any]:
        token = secrets.token_hex(32)
        arn = self.topic_arn(topic)
        return self.sign({
            "Type": "SubscriptionConfirmation",
            "MessageId": _uuid(),
            "Token": token,
            "TopicArn": arn,
            "Message": f"You have chosen to subscribe to the topic {arn}.\n"
                       "To confirm the subscription, visit the SubscribeURL included in this "
                       "message.",
            "SubscribeURL": self.subscribe_url(arn, token),
            "Timestamp": _now(),
        }, version)

    # -- server ---------------------------------------------------------------------------
    def handle(self, request: FakeRequest) -> FakeResponse:
        if request.method == "GET" and request.path == self.cert_path:
            return FakeResponse(200, self.cert_pem, {"Content-Type": "application/x-pem-file"})
        if request.method == "GET" and request.query.get("Action") == "ConfirmSubscription":
            self.confirmed.append(request)
            arn = request.query.get("TopicArn", "")
            body = (
                "<ConfirmSubscriptionResponse><ConfirmSubscriptionResult>"
                f"<SubscriptionArn>{arn}:{_uuid()}</SubscriptionArn>"
                "</ConfirmSubscriptionResult></ConfirmSubscriptionResponse>"
            )
            return FakeResponse(200, body, {"Content-Type": "text/xml"})
        return FakeResponse(404, "<Error><Code>NotFound</Code></Error>")


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
