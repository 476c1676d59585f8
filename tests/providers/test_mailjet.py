"""Mailjet adapter against the local fake Mailjet (real HTTP, Mailjet's wire format)."""

from __future__ import annotations

import base64

import httpx
import pytest

from doxie.providers.base import EmailMessage, PermanentError, RetryableError
from doxie.providers.email import mailjet as mj
from doxie.providers.email.mailjet import MailjetProvider, MailjetSettings
from tests.fakes.mailjet import FakeMailjet

# Fixtures live in our own module (tests/conftest.py belongs to the lead).

OURS = "https://doxie.test/webhooks/mailjet/"


def _message(**overrides) -> EmailMessage:
    fields = {
        "message_id": "msg_01HZX3",
        "sender": "news@brand.test",
        "sender_name": "Brand News",
        "to": ["Ada@Example.test", "bob@example.test"],
        "subject": "Hello",
        "text": "Hi there",
        "html": "<p>Hi there</p>",
        "reply_to": "help@brand.test",
        "list_unsubscribe": "<https://doxie.test/u/abc>, <mailto:u@doxie.test>",
        "headers": {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    }
    fields.update(overrides)
    return EmailMessage(**fields)


# --- sending ------------------------------------------------------------------------------


async def test_send_posts_exact_v31_request_and_parses_recipient_ids(
    mailjet_provider: MailjetProvider,
    fake_mailjet: FakeMailjet,
) -> None:
    result = await mailjet_provider.send_email(_message())

    [req] = fake_mailjet.requests
    assert (req.method, req.path) == ("POST", "/v3.1/send")
    expected_auth = base64.b64encode(b"pub-test:priv-test").decode()
    assert req.header("authorization") == f"Basic {expected_auth}"
    assert req.json() == {
        "Messages": [
            {
                "From": {"Email": "news@brand.test", "Name": "Brand News"},
                "To": [{"Email": "Ada@Example.test"}, {"Email": "bob@example.test"}],
                "Subject": "Hello",
                "CustomID": "msg_01HZX3",
                "TextPart": "Hi there",
                "HTMLPart": "<p>Hi there</p>",
                "ReplyTo": {"Email": "help@brand.test"},
                "Headers": {
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                    "List-Unsubscribe": "<https://doxie.test/u/abc>, <mailto:u@doxie.test>",
                },
            }
        ],
        "SandboxMode": True,
    }
    [answer] = result.raw["Messages"]
    ids = [str(item["MessageID"]) for item in answer["To"]]
    # Keyed by the addresses we asked for, although Mailjet answered lower-cased.
    assert result.recipient_message_ids == {"Ada@Example.test": ids[0], "bob@example.test": ids[1]}
    assert result.provider_message_id == ids[0]
    assert fake_mailjet.sent[0]["CustomID"] == "msg_01HZX3"


async def test_minimal_message_omits_optional_fields_and_honours_sandbox_off(
    fake_mailjet: FakeMailjet,
    provider_http_client: httpx.AsyncClient,
) -> None:
    settings = MailjetSettings("pub-test", "priv-test", sandbox=False, base_url=fake_mailjet.url)
    provider = MailjetProvider(settings, provider_http_client)
    message = EmailMessage(
        message_id="m2", sender="a@brand.test", to=["c@x.test"], subject="S", text="T"
    )
    await provider.send_email(message)
    body = fake_mailjet.requests[-1].json()
    assert body == {
        "Messages": [
            {
                "From": {"Email": "a@brand.test"},
                "To": [{"Email": "c@x.test"}],
                "Subject": "S",
                "CustomID": "m2",
                "TextPart": "T",
            }
        ],
        "SandboxMode": False,
    }
    assert fake_mailjet.sent[-1]["SandboxMode"] is False


async def test_500_is_retryable_and_nothing_is_sent(
    mailjet_provider: MailjetProvider,
    fake_mailjet: FakeMailjet,
) -> None:
    fake_mailjet.fail_next(status=500)
    with pytest.raises(RetryableError) as caught:
        await mailjet_provider.send_email(_message())
    assert caught.value.status == 500
    assert fake_mailjet.sent == []
    await mailjet_provider.send_email(_message())  # the next attempt goes through
    assert len(fake_mailjet.sent) == 1


async def test_429_carries_retry_after(
    mailjet_provider: MailjetProvider,
    fake_mailjet: FakeMailjet,
) -> None:
    fake_mailjet.throttle_next(retry_after="7")
    with pytest.raises(RetryableError) as caught:
        await mailjet_provider.send_email(_message())
    assert caught.value.status == 429
    assert caught.value.retry_after == 7.0


async def test_invalid_recipient_400_is_permanent_with_mailjet_text(
    mailjet_provider: MailjetProvider,
    fake_mailjet: FakeMailjet,
) -> None:
    fake_mailjet.invalid_addresses.add("bob@example.test")
    with pytest.raises(PermanentError) as caught:
        await mailjet_provider.send_email(_message())
    assert caught.value.status == 400
    assert '"bob@example.test" is an invalid email address.' in caught.value.reason


async def test_wrong_keys_401_is_permanent(
    fake_mailjet: FakeMailjet,
    provider_http_client: httpx.AsyncClient,
) -> None:
    settings = MailjetSettings("pub-test", "wrong", base_url=fake_mailjet.url)
    with pytest.raises(PermanentError) as caught:
        await MailjetProvider(settings, provider_http_client).send_email(_message())
    assert caught.value.status == 401
    assert "authentication/authorization failure" in caught.value.reason
    assert "wrong" not in caught.value.reason  # credentials never leak into reasons


async def test_timeout_is_retryable(
    mailjet_provider: MailjetProvider,
    fake_mailjet: FakeMailjet,
) -> None:
    fake_mailjet.slow_next(delay=3.0)
    with pytest.raises(RetryableError, match="timed out"):
        await mailjet_provider.send_email(_message())


async def test_broken_message_fails_locally_without_a_request(
    mailjet_provider: MailjetProvider,
    fake_mailjet: FakeMailjet,
) -> None:
    with pytest.raises(PermanentError, match="no recipients"):
        await mailjet_provider.send_email(_message(to=[]))
    with pytest.raises(PermanentError, match="neither a text nor an HTML part"):
        await mailjet_provider.send_email(_message(text=None, html=None))
    assert fake_mailjet.requests == []


def test_message_level_error_status_is_permanent() -> None:
    body = {
        "Messages": [
            {
                "Status": "error",
                "Errors": [
                    {"ErrorCode": "mj-0013", "StatusCode": 400, "ErrorMessage": "bad address"}
                ],
            }
        ]
    }
    with pytest.raises(PermanentError, match="bad address") as caught:
        mj.parse_send_response(body, requested=["a@x.test"])
    assert caught.value.status == 400
    with pytest.raises(PermanentError, match="no Messages"):
        mj.parse_send_response({}, requested=["a@x.test"])


async def test_provider_closes_only_its_own_client(fake_mailjet: FakeMailjet) -> None:
    settings = MailjetSettings("pub-test", "priv-test", base_url=fake_mailjet.url)
    own = MailjetProvider(settings)
    await own.send_email(_message())
    await own.aclose()
    assert own._client.is_closed
    async with httpx.AsyncClient() as shared:
        borrowed = MailjetProvider(settings, shared)
        await borrowed.aclose()
        assert not shared.is_closed
    assert "priv-test" not in repr(settings)


async def test_fake_rejects_malformed_requests_loudly(fake_mailjet: FakeMailjet) -> None:
    auth = ("pub-test", "priv-test")
    async with httpx.AsyncClient(base_url=fake_mailjet.url, auth=auth) as client:
        bad_json = await client.post(
            "/v3.1/send", content=b"{nope", headers={"Content-Type": "application/json"}
        )
        assert bad_json.status_code == 400 and bad_json.json()["ErrorCode"] == "mj-0002"
        missing = await client.post("/v3.1/send", json={"Messages": [{"TextPart": "x"}]})
        assert missing.status_code == 400
        related = {r for e in missing.json()["Messages"][0]["Errors"] for r in e["ErrorRelatedTo"]}
        assert {"From", "To", "Subject"} <= related
    assert fake_mailjet.sent == []


# --- event callbacks ----------------------------------------------------------------------


async def test_register_twice_is_the_same_state(
    mailjet_settings: MailjetSettings,
    fake_mailjet: FakeMailjet,
) -> None:
    types = ["sent", "open", "click", "bounce"]
    first = await mj.register_event_callbacks(mailjet_settings, OURS, types)
    state = {k: dict(v) for k, v in fake_mailjet.callbacks.items()}
    writes_before = sum(r.method != "GET" for r in fake_mailjet.requests)

    second = await mj.register_event_callbacks(mailjet_settings, OURS, types)

    assert second == first and len(first) == 4
    assert fake_mailjet.callbacks == state
    assert sum(r.method != "GET" for r in fake_mailjet.requests) == writes_before
    assert fake_mailjet.callbacks_by_type() == dict.fromkeys(types, OURS)
    assert all(
        cb["Version"] == 2 and cb["Status"] == "alive" and not cb["IsBackup"]
        for cb in fake_mailjet.callbacks.values()
    )
    listed = await mj.list_event_callbacks(mailjet_settings)
    assert [cb["ID"] for cb in listed] == [int(i) for i in first]
    assert fake_mailjet.requests[-1].query == {"Limit": "1000"}


async def test_wrong_url_dead_or_old_version_is_updated_in_place(
    mailjet_settings: MailjetSettings,
    fake_mailjet: FakeMailjet,
) -> None:
    stale = fake_mailjet.add_callback("open", "https://old.example/hook", version=1)
    dead = fake_mailjet.add_callback("bounce", OURS, version=2, status="dead")

    ids = await mj.register_event_callbacks(mailjet_settings, OURS, ["open", "bounce"])

    assert ids == [str(stale["ID"]), str(dead["ID"])]  # same records, not new ones
    assert fake_mailjet.callbacks[stale["ID"]]["Url"] == OURS
    assert fake_mailjet.callbacks[stale["ID"]]["Version"] == 2
    assert fake_mailjet.callbacks[dead["ID"]]["Status"] == "alive"
    assert [r.method for r in fake_mailjet.requests if r.method != "GET"] == ["PUT", "PUT"]


async def test_delete_removes_only_our_callbacks(
    mailjet_settings: MailjetSettings,
    fake_mailjet: FakeMailjet,
) -> None:
    customer = fake_mailjet.add_callback("spam", "https://customer.example/mj")
    await mj.register_event_callbacks(mailjet_settings, OURS + "t1", ["sent", "open"])

    await mj.delete_event_callbacks(mailjet_settings, OURS)

    assert list(fake_mailjet.callbacks) == [customer["ID"]]
    await mj.delete_event_callbacks(mailjet_settings, OURS)  # nothing left of ours: no-op
    with pytest.raises(ValueError):
        await mj.delete_event_callbacks(mailjet_settings, "")


async def test_callback_errors_and_validation(
    mailjet_settings: MailjetSettings,
    fake_mailjet: FakeMailjet,
) -> None:
    with pytest.raises(ValueError, match="unknown Mailjet event types"):
        await mj.register_event_callbacks(mailjet_settings, OURS, ["opened"])
    fake_mailjet.fail_next(status=503)
    with pytest.raises(RetryableError):
        await mj.list_event_callbacks(mailjet_settings)
    bad = MailjetSettings("pub-test", "nope", base_url=fake_mailjet.url)
    with pytest.raises(PermanentError) as caught:
        await mj.register_event_callbacks(bad, OURS, ["open"])
    assert caught.value.status == 401


async def test_fake_enforces_one_callback_per_event_type(
    fake_mailjet: FakeMailjet,
) -> None:
    fake_mailjet.add_callback("open", "https://customer.example/mj")
    async with httpx.AsyncClient(
        base_url=fake_mailjet.url, auth=("pub-test", "priv-test")
    ) as client:
        dup = await client.post(mj._CALLBACK_PATH, json={"EventType": "open", "Url": OURS})
        assert dup.status_code == 400 and "already exists" in dup.json()["ErrorMessage"]
        missing = await client.delete(mj._CALLBACK_PATH + "/999")
        assert missing.status_code == 404
