"""SES adapter and set-up against moto in server mode (real HTTP, real boto3)."""

from __future__ import annotations

import json
from dataclasses import replace
from email import message_from_string, policy

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from doxie.providers.base import EmailMessage, PermanentError, RetryableError
from doxie.providers.email.ses import (
    EVENT_DESTINATION_NAME,
    SesProvider,
    SesSettings,
    map_aws_error,
    setup_ses,
)
from tests.fakes.moto_server import MotoServer
from tests.fakes.smtp_server import SilentServer, free_port

ENDPOINT = "https://doxie.example/hooks/ses/tenant-1"


def make_message(**overrides) -> EmailMessage:
    values = {
        "message_id": "01HXSES0000000000000000001",
        "sender": "news@acme.example",
        "to": ["jane@example.org"],
        "subject": "Grüße via SES",
        "text": "Hallo!\n",
        "html": "<p>Hallo!</p>\n",
        "list_unsubscribe": "https://acme.example/u/tok",
    }
    values.update(overrides)
    return EmailMessage(**values)


@pytest.fixture
def verified(aws: MotoServer) -> None:
    aws.client("sesv2").create_email_identity(EmailIdentity="acme.example")


async def test_send_keeps_our_mime_and_returns_the_ses_id(aws, ses_settings, verified) -> None:
    provider = SesProvider(ses_settings)
    result = await provider.send_email(make_message())
    await provider.aclose()

    [sent] = aws.sent_emails()
    assert result.provider_message_id == sent["id"]
    assert result.recipient_message_ids == {"jane@example.org": sent["id"]}
    assert sent["source"] == "news@acme.example"
    parsed = message_from_string(sent["raw_data"], policy=policy.default)
    assert parsed["Message-ID"] == "<01HXSES0000000000000000001@acme.example>"
    assert parsed["Subject"] == "Grüße via SES"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed.get_content_type() == "multipart/alternative"


async def test_send_with_configuration_set(aws, ses_settings, verified) -> None:
    aws.client("sesv2").create_configuration_set(ConfigurationSetName="doxie-events")
    provider = SesProvider(replace(ses_settings, configuration_set="doxie-events"))
    first = await provider.send_email(make_message())
    second = await provider.send_email(make_message(message_id="second"))  # client reused
    assert first.provider_message_id != second.provider_message_id
    assert len(aws.sent_emails()) == 2


async def test_unverified_sender_is_permanent(aws, ses_settings) -> None:
    with pytest.raises(PermanentError, match="MessageRejected") as caught:
        await SesProvider(ses_settings).send_email(make_message())
    assert caught.value.status == 400
    assert aws.sent_emails() == []


async def test_unreachable_endpoint_is_retryable(ses_settings) -> None:
    settings = replace(ses_settings, endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(RetryableError, match="SES unreachable"):
        await SesProvider(settings).send_email(make_message())


async def test_read_timeout_is_retryable(ses_settings) -> None:
    with SilentServer() as silent:
        settings = replace(
            ses_settings,
            endpoint_url=f"http://{silent.host}:{silent.port}",
            connect_timeout=1,
            read_timeout=0.5,
        )
        with pytest.raises(RetryableError, match="SES unreachable"):
            await SesProvider(settings).send_email(make_message())


def client_error(code: str, status: int, headers: dict | None = None) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": f"{code} happened"},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers or {}},
    }
    return ClientError(response, "SendEmail")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("Throttling", 400),
        ("ThrottlingException", 400),
        ("TooManyRequestsException", 429),
        ("LimitExceededException", 400),
        ("ServiceUnavailable", 503),
        ("InternalFailure", 500),
        ("SomethingNew", 502),
    ],
)
def test_transient_aws_errors_are_retryable(code: str, status: int) -> None:
    error = map_aws_error(client_error(code, status, {"retry-after": "7"}))
    assert isinstance(error, RetryableError)
    assert error.status == status and error.retry_after == 7.0
    assert code in error.reason


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("MessageRejected", 400),
        ("MailFromDomainNotVerifiedException", 400),
        ("AccountSuspendedException", 400),
        ("SendingPausedException", 400),
        ("NotFoundException", 404),
        ("BadRequestException", 400),
        ("InvalidClientTokenId", 403),
        ("SignatureDoesNotMatch", 403),
        ("AccessDeniedException", 403),
    ],
)
def test_hard_aws_errors_are_permanent(code: str, status: int) -> None:
    error = map_aws_error(client_error(code, status))
    assert isinstance(error, PermanentError)
    assert error.status == status


def test_connection_errors_are_retryable() -> None:
    error = map_aws_error(EndpointConnectionError(endpoint_url="https://email.example"))
    assert isinstance(error, RetryableError)


def destinations(aws: MotoServer, configuration_set: str) -> list[dict]:
    described = aws.client("ses").describe_configuration_set(
        ConfigurationSetName=configuration_set,
        ConfigurationSetAttributeNames=["eventDestinations"],
    )
    return [dest for dest in described["EventDestinations"] if dest]


def test_setup_is_idempotent(aws: MotoServer, ses_settings: SesSettings) -> None:
    kwargs = {
        "configuration_set": "doxie-tenant-1",
        "topic_name": "doxie-ses-events",
        "https_endpoint": ENDPOINT,
    }
    first = setup_ses(ses_settings, **kwargs)
    second = setup_ses(ses_settings, **kwargs)

    assert first == second
    assert first["configuration_set"] == "doxie-tenant-1"
    assert first["topic_arn"].endswith(":doxie-ses-events")
    assert first["subscription_arn"].startswith(first["topic_arn"] + ":")

    sns = aws.client("sns")
    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [first["topic_arn"]]
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=first["topic_arn"])["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"], s["SubscriptionArn"]) for s in subscriptions] == [
        ("https", ENDPOINT, first["subscription_arn"])
    ]
    attributes = sns.get_topic_attributes(TopicArn=first["topic_arn"])["Attributes"]
    [statement] = json.loads(attributes["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert statement["Resource"] == first["topic_arn"]

    aws.client("sesv2").get_configuration_set(ConfigurationSetName="doxie-tenant-1")
    [destination] = destinations(aws, "doxie-tenant-1")
    assert destination["Name"] == EVENT_DESTINATION_NAME
    assert destination["Enabled"] is True
    assert destination["SNSDestination"] == {"TopicARN": first["topic_arn"]}
    assert set(destination["MatchingEventTypes"]) == {
        "send",
        "delivery",
        "bounce",
        "complaint",
        "reject",
        "open",
        "click",
        "renderingFailure",
        "deliveryDelay",
    }


def test_setup_adopts_an_existing_configuration_set(aws, ses_settings) -> None:
    aws.client("sesv2").create_configuration_set(ConfigurationSetName="existing")
    result = setup_ses(
        ses_settings, configuration_set="existing", topic_name="t", https_endpoint=ENDPOINT
    )
    assert result["configuration_set"] == "existing"
    assert len(destinations(aws, "existing")) == 1


def test_setup_requires_an_https_endpoint(ses_settings) -> None:
    with pytest.raises(PermanentError, match="https"):
        setup_ses(
            ses_settings,
            configuration_set="c",
            topic_name="t",
            https_endpoint="http://doxie.example/hook",
        )


def test_setup_against_an_unreachable_endpoint_is_retryable(ses_settings) -> None:
    settings = replace(ses_settings, endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(RetryableError):
        setup_ses(settings, configuration_set="c", topic_name="t", https_endpoint=ENDPOINT)
