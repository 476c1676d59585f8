"""Amazon SES (API v2) delivery and the one-time account set-up for its event webhooks.

We send ``Content.Raw`` built by :mod:`doxie.providers.email.mime` rather than SES's
"simple" content so the message keeps OUR Message-ID and headers (List-Unsubscribe, …)
byte for byte, exactly as over SMTP.

boto3 is blocking, so calls run in a worker thread. botocore's own retries are switched
off: our task queue owns retrying and back-off, and stacked retries would multiply the
delay of a failing send.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from doxie.core.retry_after import parse_retry_after
from doxie.providers.base import (
    EmailMessage,
    PermanentError,
    ProviderError,
    RetryableError,
    SendResult,
)
from doxie.providers.email.mime import envelope_address, render_mime

__all__ = ["EVENT_TYPES", "SesProvider", "SesSettings", "map_aws_error", "setup_ses"]

EVENT_TYPES = (
    "SEND",
    "DELIVERY",
    "BOUNCE",
    "COMPLAINT",
    "REJECT",
    "OPEN",
    "CLICK",
    "RENDERING_FAILURE",
    "DELIVERY_DELAY",
)
EVENT_DESTINATION_NAME = "doxie-sns"
# Throttling, quota and server-side trouble: all clear up by themselves.
_RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "TooManyRequests",
        "LimitExceeded",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalServerError",
        "InternalServiceError",
        "RequestTimeout",
        "SlowDown",
    }
)
_ALREADY_EXISTS = frozenset({"AlreadyExists", "ConfigurationSetAlreadyExists"})
_TAG_VALUE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass
class SesSettings:
    access_key_id: str
    secret_access_key: str
    region: str
    configuration_set: str | None = None
    endpoint_url: str | None = None  # tests (moto) or a VPC endpoint
    connect_timeout: float = 5.0
    read_timeout: float = 15.0


def _client(settings: SesSettings, service: str) -> Any:
    # A private Session per client: creating clients from boto3's shared default session
    # is not thread-safe, and credentials differ per tenant anyway.
    session = boto3.session.Session(
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key,
        region_name=settings.region,
    )
    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"total_max_attempts": 1, "mode": "standard"},  # one attempt, no retries
    )
    return session.client(service, endpoint_url=settings.endpoint_url, config=config)


def map_aws_error(exc: Exception) -> ProviderError:
    """Translate a botocore failure into RetryableError/PermanentError with a clear reason."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        raw_code = str(error.get("Code") or "")
        code = raw_code.removesuffix("Exception")
        status = meta.get("HTTPStatusCode")
        message = error.get("Message") or str(exc)
        reason = f"SES {raw_code or status}: {message}"
        if code in _RETRYABLE_CODES or status == 429 or (status or 0) >= 500:
            headers = meta.get("HTTPHeaders", {})
            return RetryableError(
                reason, status=status, retry_after=parse_retry_after(headers.get("retry-after"))
            )
        # MessageRejected, MailFromDomainNotVerified, AccountSuspended, NotFound,
        # BadRequest, InvalidClientTokenId/SignatureDoesNotMatch/AccessDenied, …
        return PermanentError(reason, status=status)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return PermanentError(f"AWS credentials missing: {exc}")
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        # EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, connection resets
        return RetryableError(f"SES unreachable: {exc}")
    if isinstance(exc, BotoCoreError):  # parameter validation, no region, …
        return PermanentError(f"SES request invalid: {exc}")
    return PermanentError(f"unexpected SES error: {exc!r}")


class SesProvider:
    """``EmailProvider`` for one SES account; one boto3 client per instance (thread-safe)."""

    def __init__(self, settings: SesSettings) -> None:
        self.settings = settings
        self._client: Any = None
        self._lock = threading.Lock()

    def _get_client(self) -> Any:
        # Built lazily inside the worker thread: client creation reads botocore's data
        # files (tens of ms) and must not block the event loop.
        with self._lock:
            if self._client is None:
                self._client = _client(self.settings, "sesv2")
            return self._client

    def _send(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._get_client().send_email(**request)
        except Exception as exc:
            raise map_aws_error(exc) from exc

    async def send_email(self, message: EmailMessage) -> SendResult:
        raw = render_mime(message)
        recipients = [envelope_address(rcpt, what="recipient") for rcpt in message.to]
        request: dict[str, Any] = {
            "FromEmailAddress": envelope_address(message.sender, what="sender"),
            "Destination": {"ToAddresses": recipients},
            "Content": {"Raw": {"Data": raw}},
        }
        if self.settings.configuration_set:
            request["ConfigurationSetName"] = self.settings.configuration_set
        if _TAG_VALUE.match(message.message_id):
            # Echoed in every SES event, so webhooks can find our row without parsing headers.
            request["EmailTags"] = [{"Name": "doxie_message_id", "Value": message.message_id}]
        response = await asyncio.to_thread(self._send, request)
        ses_id = response["MessageId"]
        return SendResult(
            provider_message_id=ses_id,
            recipient_message_ids={rcpt: ses_id for rcpt in message.to},
            raw={"MessageId": ses_id},
        )

    async def aclose(self) -> None:
        """Nothing to release eagerly: botocore's connection pool closes with the client."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


def _topic_policy(topic_arn: str) -> str:
    account = topic_arn.split(":")[4]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowSesPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "ses.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    # Only SES acting for THIS account (confused-deputy protection).
                    "Condition": {"StringEquals": {"AWS:SourceAccount": account}},
                }
            ],
        }
    )


def _find_subscription(sns: Any, topic_arn: str, endpoint: str) -> str | None:
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        for sub in page.get("Subscriptions", []):
            if sub.get("Protocol") == "https" and sub.get("Endpoint") == endpoint:
                return str(sub["SubscriptionArn"])
    return None


def _v1_event_type(name: str) -> str:
    """SEND -> send, RENDERING_FAILURE -> renderingFailure (the v1 API's spelling)."""
    head, *rest = name.lower().split("_")
    return head + "".join(word.capitalize() for word in rest)


def _ensure_event_destination(ses: Any, configuration_set: str, topic_arn: str) -> None:
    """Create or correct our SNS event destination.

    This one step uses the SES v1 API: v1 and v2 manage the same configuration sets, and the
    v1 event-destination calls are the ones our integration peer (moto) implements, so the
    code that runs in production is the code the tests exercise.
    """
    desired = {
        "Name": EVENT_DESTINATION_NAME,
        "Enabled": True,
        "MatchingEventTypes": [_v1_event_type(name) for name in EVENT_TYPES],
        "SNSDestination": {"TopicARN": topic_arn},
    }
    described = ses.describe_configuration_set(
        ConfigurationSetName=configuration_set,
        ConfigurationSetAttributeNames=["eventDestinations"],
    )
    existing = next(
        (
            dest
            for dest in described.get("EventDestinations") or []
            if dest and dest.get("Name") == EVENT_DESTINATION_NAME
        ),
        None,
    )
    if existing is None:
        ses.create_configuration_set_event_destination(
            ConfigurationSetName=configuration_set, EventDestination=desired
        )
        return
    same = (
        existing.get("Enabled") is True
        and {t.lower() for t in existing.get("MatchingEventTypes", [])}
        == {t.lower() for t in desired["MatchingEventTypes"]}
        and (existing.get("SNSDestination") or {}).get("TopicARN") == topic_arn
    )
    if not same:
        ses.update_configuration_set_event_destination(
            ConfigurationSetName=configuration_set, EventDestination=desired
        )


def setup_ses(
    settings: SesSettings, *, configuration_set: str, topic_name: str, https_endpoint: str
) -> dict[str, str]:
    """Prepare an SES account to report delivery events to our HTTPS webhook via SNS.

    Idempotent, so the "set up" button can be pressed again after a partial failure: every
    step first looks at what exists. Blocking (boto3); call it from a thread or a task.
    """
    if not https_endpoint.startswith("https://"):
        raise PermanentError("the SNS webhook endpoint must be an https:// URL")
    try:
        sesv2 = _client(settings, "sesv2")
        sns = _client(settings, "sns")
        try:
            sesv2.create_configuration_set(ConfigurationSetName=configuration_set)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "")).removesuffix("Exception")
            if code not in _ALREADY_EXISTS:
                raise
        topic_arn = str(sns.create_topic(Name=topic_name)["TopicArn"])  # idempotent by name
        sns.set_topic_attributes(
            TopicArn=topic_arn, AttributeName="Policy", AttributeValue=_topic_policy(topic_arn)
        )
        subscription_arn = _find_subscription(sns, topic_arn, https_endpoint)
        if subscription_arn is None or subscription_arn == "PendingConfirmation":
            # Subscribing again while pending is a no-op that re-sends the confirmation
            # request, and it is the only way to learn the pending subscription's ARN.
            subscription_arn = str(
                sns.subscribe(
                    TopicArn=topic_arn,
                    Protocol="https",
                    Endpoint=https_endpoint,
                    ReturnSubscriptionArn=True,
                )["SubscriptionArn"]
            )
        _ensure_event_destination(_client(settings, "ses"), configuration_set, topic_arn)
    except (ClientError, BotoCoreError) as exc:
        raise map_aws_error(exc) from exc
    return {
        "configuration_set": configuration_set,
        "topic_arn": topic_arn,
        "subscription_arn": subscription_arn,
    }
