"""seven.io SMS/RCS adapters and hooks client against the local fake gateway."""

from __future__ import annotations

import httpx
import pytest

from doxie.providers.base import PermanentError, RcsMessage, RetryableError, SmsMessage
from doxie.providers.rcs.seven import SevenRcsProvider
from doxie.providers.sms import seven_hooks as hooks
from doxie.providers.sms.seven import (
    SEVEN_CODES,
    SevenSettings,
    SevenSmsProvider,
    parse_send_response,
)
from tests.fakes.seven import FakeSeven

# Fixtures live in our own module (tests/conftest.py belongs to the lead).

DLR_URL = "https://doxie.test/webhooks/seven/dlr"


def _sms(**overrides) -> SmsMessage:
    fields = {
        "message_id": "msg_01J0SMS",
        "sender": "Brand",
        "to": "+4917612345678",
        "text": "Your code is 1234",
    }
    fields.update(overrides)
    return SmsMessage(**fields)


# --- SMS ----------------------------------------------------------------------------------


async def test_sms_success_exact_request_and_ids(
    seven_sms_provider: SevenSmsProvider,
    fake_seven: FakeSeven,
) -> None:
    result = await seven_sms_provider.send_sms(_sms())

    [req] = fake_seven.requests
    assert (req.method, req.path) == ("POST", "/api/sms")
    assert req.header("x-api-key") == "seven-test-key"
    assert req.json() == {
        "to": "+4917612345678",
        "text": "Your code is 1234",
        "from": "Brand",
        "foreign_id": "msg_01J0SMS",
        "json": 1,
    }
    [stored] = fake_seven.sms
    assert result.provider_message_id == stored["id"]
    assert result.recipient_message_ids == {"+4917612345678": stored["id"]}
    assert result.raw["success"] == "100"


async def test_sms_without_sender_omits_from(
    seven_sms_provider: SevenSmsProvider,
    fake_seven: FakeSeven,
) -> None:
    await seven_sms_provider.send_sms(_sms(sender=None))
    assert "from" not in fake_seven.requests[-1].json()


async def test_wrong_api_key_bare_900_is_permanent(
    fake_seven: FakeSeven,
    provider_http_client: httpx.AsyncClient,
) -> None:
    provider = SevenSmsProvider(SevenSettings("bad-key", fake_seven.url), provider_http_client)
    with pytest.raises(PermanentError, match="900 authentication failed"):
        await provider.send_sms(_sms())
    assert fake_seven.sms == []


async def test_wrong_api_key_as_http_401_is_permanent(
    provider_http_client: httpx.AsyncClient,
) -> None:
    with FakeSeven(auth_failure_status=401) as fake:
        provider = SevenSmsProvider(SevenSettings("bad-key", fake.url), provider_http_client)
        with pytest.raises(PermanentError) as caught:
            await provider.send_sms(_sms())
    assert caught.value.status == 401


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"to": "12"}, "202"),
        ({"sender": "Far too long sender"}, "201"),
        ({"text": "x" * 1600}, "401"),
    ],
)
async def test_gateway_validation_codes_are_permanent(
    seven_sms_provider: SevenSmsProvider,
    fake_seven: FakeSeven,
    overrides: dict,
    code: str,
) -> None:
    with pytest.raises(PermanentError, match=f"seven.io: {code} "):
        await seven_sms_provider.send_sms(_sms(**overrides))
    assert fake_seven.sms == []


@pytest.mark.parametrize("code", ["402", "900", "902", "903", "999"])
async def test_forced_permanent_codes(
    seven_sms_provider: SevenSmsProvider,
    fake_seven: FakeSeven,
    code: str,
) -> None:
    fake_seven.answer_next_with(code)
    with pytest.raises(PermanentError, match=code):
        await seven_sms_provider.send_sms(_sms())


@pytest.mark.parametrize("code", ["403", "500", "600", "700"])
async def test_forced_retryable_codes(
    seven_sms_provider: SevenSmsProvider,
    fake_seven: FakeSeven,
    code: str,
) -> None:
    fake_seven.answer_next_with(code)
    with pytest.raises(RetryableError, match=SEVEN_CODES[code][1]):
        await seven_sms_provider.send_sms(_sms())
    assert fake_seven.sms == []
    await seven_sms_provider.send_sms(_sms())  # the switch only affects the next send
    assert len(fake_seven.sms) == 1


def test_partial_failure_maps_the_message_code() -> None:
    body = {
        "success": "101",
        "messages": [{"id": None, "success": False, "error": "600", "error_text": "carrier"}],
    }
    with pytest.raises(RetryableError, match="600"):
        parse_send_response(body, recipient="+49")
    sneaky = {"success": "100", "messages": [{"id": "1", "success": False, "error": "202"}]}
    with pytest.raises(PermanentError, match="202"):
        parse_send_response(sneaky, recipient="+49")
    with pytest.raises(PermanentError, match="101"):
        parse_send_response({"success": "101", "messages": []}, recipient="+49")


async def test_http_level_failures(
    seven_sms_provider: SevenSmsProvider,
    fake_seven: FakeSeven,
) -> None:
    fake_seven.fail_next(status=500)
    with pytest.raises(RetryableError) as caught:
        await seven_sms_provider.send_sms(_sms())
    assert caught.value.status == 500
    fake_seven.throttle_next(retry_after="30")
    with pytest.raises(RetryableError) as caught:
        await seven_sms_provider.send_sms(_sms())
    assert caught.value.retry_after == 30.0
    fake_seven.slow_next(delay=3.0)
    with pytest.raises(RetryableError, match="timed out"):
        await seven_sms_provider.send_sms(_sms())


async def test_empty_text_fails_locally_and_fake_rejects_it_loudly(
    seven_sms_provider: SevenSmsProvider,
    fake_seven: FakeSeven,
) -> None:
    with pytest.raises(PermanentError, match="recipient and a text"):
        await seven_sms_provider.send_sms(_sms(text=""))
    assert fake_seven.requests == []
    async with httpx.AsyncClient(headers={"X-Api-Key": fake_seven.api_key}) as client:
        missing = await client.post(fake_seven.url + "/api/sms", json={"to": "4917612345678"})
        bad_json = await client.post(
            fake_seven.url + "/api/sms", content=b"{", headers={"Content-Type": "application/json"}
        )
    assert missing.status_code == 400 and missing.json()["success"] == "305"
    assert bad_json.status_code == 400


# --- RCS ----------------------------------------------------------------------------------


async def test_rcs_success_sends_content_fields(
    seven_rcs_provider: SevenRcsProvider,
    fake_seven: FakeSeven,
) -> None:
    content = {
        "text": "Your parcel is on its way",
        "to": "+490000000",  # cannot redirect
        "delay": "2030-01-01 10:00:00",
    }
    message = RcsMessage(
        message_id="msg_rcs_1", sender="brand_agent", to="+4917612345678", content=content
    )
    result = await seven_rcs_provider.send_rcs(message)

    [req] = fake_seven.requests
    assert (req.method, req.path) == ("POST", "/api/rcs/messages")
    assert req.header("x-api-key") == "seven-test-key"
    assert req.json() == {
        "text": "Your parcel is on its way",
        "delay": "2030-01-01 10:00:00",
        "to": "+4917612345678",
        "foreign_id": "msg_rcs_1",
        "from": "brand_agent",
    }
    [stored] = fake_seven.rcs
    assert stored["channel"] == "RCS"
    assert result.recipient_message_ids == {"+4917612345678": stored["id"]}
    assert result.raw["messages"][0]["channel"] == "RCS"


async def test_rcs_failures(
    fake_seven: FakeSeven,
    seven_rcs_provider: SevenRcsProvider,
    provider_http_client: httpx.AsyncClient,
) -> None:
    message = RcsMessage(message_id="m", sender=None, to="+4917612345678", content={"text": "x"})
    with pytest.raises(PermanentError, match="900"):
        await SevenRcsProvider(SevenSettings("bad", fake_seven.url), provider_http_client).send_rcs(
            message
        )
    fake_seven.answer_next_with("500")
    with pytest.raises(RetryableError, match="insufficient credit"):
        await seven_rcs_provider.send_rcs(message)
    with pytest.raises(PermanentError, match="content.text"):
        await seven_rcs_provider.send_rcs(
            RcsMessage("m", None, "+4917612345678", {"suggestions": []})
        )


# --- hooks --------------------------------------------------------------------------------


async def test_subscribe_is_idempotent_and_readable(
    seven_settings: SevenSettings,
    fake_seven: FakeSeven,
) -> None:
    created = await hooks.subscribe_hook(seven_settings, DLR_URL, "dlr")
    subscribe_call = fake_seven.requests[-1]
    assert subscribe_call.method == "POST" and subscribe_call.header("x-api-key")
    assert subscribe_call.form() == {
        "action": "subscribe",
        "target_url": DLR_URL,
        "event_type": "dlr",
        "request_method": "JSON",
    }
    again = await hooks.subscribe_hook(seven_settings, DLR_URL, "dlr")

    assert again["id"] == created["id"]
    assert len(fake_seven.hooks) == 1
    assert sum(r.method == "POST" for r in fake_seven.requests) == 1
    [listed] = await hooks.list_hooks(seven_settings)
    assert listed["target_url"] == DLR_URL and listed["request_method"] == "JSON"
    found = await hooks.find_hook(seven_settings, DLR_URL, "dlr")
    assert found is not None and found["id"] == created["id"]
    assert await hooks.find_hook(seven_settings, DLR_URL, "rcs") is None


async def test_unsubscribe_removes_only_the_given_hook(
    seven_settings: SevenSettings,
    fake_seven: FakeSeven,
) -> None:
    customer = fake_seven.add_hook("https://customer.example/sms", "sms_mo")
    ours = await hooks.subscribe_hook(seven_settings, DLR_URL.replace("dlr", "rcs"), "rcs")

    await hooks.unsubscribe_hook(seven_settings, ours["id"])

    assert list(fake_seven.hooks) == [customer]
    assert fake_seven.requests[-1].form() == {"action": "unsubscribe", "id": ours["id"]}
    with pytest.raises(PermanentError, match="refused"):
        await hooks.unsubscribe_hook(seven_settings, ours["id"])


async def test_hooks_errors(
    seven_settings: SevenSettings,
    fake_seven: FakeSeven,
) -> None:
    with pytest.raises(ValueError):
        await hooks.subscribe_hook(seven_settings, DLR_URL, "delivery")
    with pytest.raises(PermanentError, match="900"):
        await hooks.list_hooks(SevenSettings("bad", fake_seven.url))
    fake_seven.fail_next(status=503)
    with pytest.raises(RetryableError):
        await hooks.subscribe_hook(seven_settings, DLR_URL, "dlr")
    async with httpx.AsyncClient(headers={"X-Api-Key": fake_seven.api_key}) as client:
        dup_url = fake_seven.url + "/api/hooks"
        fake_seven.add_hook(DLR_URL, "dlr")
        dup = await client.post(dup_url, data={"target_url": DLR_URL, "event_type": "dlr"})
        assert dup.json() == {"success": False, "id": None}
        bad = await client.post(dup_url, data={"target_url": "not-a-url", "event_type": "dlr"})
        assert bad.status_code == 400
