"""SMTP adapter against a real aiosmtpd server on loopback."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from aiosmtpd.controller import Controller

from doxie.providers.base import EmailMessage, PermanentError, RetryableError
from doxie.providers.email import smtp as smtp_module
from doxie.providers.email.smtp import SmtpProvider, SmtpSettings
from doxie.providers.email.smtp import test_connection as check_connection
from tests.fakes.smtp_server import FakeSmtpServer, SilentServer, free_port


def make_message(n: int = 1, **overrides) -> EmailMessage:
    values = {
        "message_id": f"msg{n:04d}",
        "sender": "news@acme.example",
        "to": ["jane@example.org"],
        "subject": f"Grüße #{n}",
        "text": "Hallo Jane!\n",
        "html": "<p>Hallo <b>Jane</b>!</p>\n",
        "sender_name": "Acmé",
        "list_unsubscribe": "https://acme.example/u/tok",
    }
    values.update(overrides)
    return EmailMessage(**values)


@pytest.fixture
async def provider(smtp_server: FakeSmtpServer, smtp_settings_for):
    provider = SmtpProvider(smtp_settings_for(smtp_server), pool_size=3)
    yield provider
    await provider.aclose()


async def test_plain_send_delivers_the_exact_message(provider, smtp_server) -> None:
    result = await provider.send_email(make_message(to=["jane@example.org", "joe@example.org"]))

    assert result.provider_message_id == "<msg0001@acme.example>"
    assert result.recipient_message_ids == {
        "jane@example.org": "<msg0001@acme.example>",
        "joe@example.org": "<msg0001@acme.example>",
    }
    [received] = smtp_server.received
    assert received.mail_from == "news@acme.example"
    assert received.rcpt_tos == ["jane@example.org", "joe@example.org"]
    assert received.login is None and received.tls is False
    parsed = received.message
    assert parsed["Message-ID"] == "<msg0001@acme.example>"
    assert parsed["Subject"] == "Grüße #1"
    assert str(parsed["From"]) == "Acmé <news@acme.example>"
    assert parsed["To"] == "jane@example.org, joe@example.org"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = parsed.get_payload()
    assert text.get_content().replace("\r\n", "\n") == "Hallo Jane!\n"
    assert html.get_content().replace("\r\n", "\n") == "<p>Hallo <b>Jane</b>!</p>\n"


async def test_envelope_from_overrides_the_sender(smtp_server, smtp_settings_for) -> None:
    settings = smtp_settings_for(smtp_server, envelope_from="bounces@acme.example")
    provider = SmtpProvider(settings)
    await provider.send_email(make_message())
    await provider.aclose()
    [received] = smtp_server.received
    assert received.mail_from == "bounces@acme.example"
    assert received.message["From"].addresses[0].addr_spec == "news@acme.example"


@pytest.mark.parametrize("mechanism", ["plain", "login", None])
async def test_starttls_and_auth(smtp_starttls_server, smtp_settings_for, mechanism) -> None:
    provider = SmtpProvider(smtp_settings_for(smtp_starttls_server, authentication=mechanism))
    await provider.send_email(make_message())
    await provider.aclose()
    [received] = smtp_starttls_server.received
    assert received.tls is True
    assert received.login == "mailer"


# aiosmtpd cannot see implicit TLS, so it warns about AUTH "without" TLS.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_implicit_tls_and_auth(smtp_tls_server, smtp_settings_for) -> None:
    provider = SmtpProvider(smtp_settings_for(smtp_tls_server))
    await provider.send_email(make_message())
    await provider.aclose()
    assert smtp_tls_server.received[0].login == "mailer"


async def test_wrong_password_is_permanent(smtp_starttls_server, smtp_settings_for) -> None:
    provider = SmtpProvider(smtp_settings_for(smtp_starttls_server, password="wrong"))
    with pytest.raises(PermanentError, match="authentication failed: 535") as caught:
        await provider.send_email(make_message())
    assert caught.value.status == 535
    assert smtp_starttls_server.auth_failures == 1
    assert smtp_starttls_server.received == []


async def test_refused_connection_is_retryable(smtp_settings_for) -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), connect_timeout=2)
    provider = SmtpProvider(settings)
    with pytest.raises(RetryableError, match="connection refused"):
        await provider.send_email(make_message())


async def test_silent_server_times_out_as_retryable() -> None:
    with SilentServer() as silent:
        settings = SmtpSettings(host=silent.host, port=silent.port, connect_timeout=0.3)
        with pytest.raises(RetryableError, match=r"timed out after 0\.3s"):
            await SmtpProvider(settings).send_email(make_message())


async def test_451_is_retryable_and_the_session_survives(provider, smtp_server) -> None:
    smtp_server.data_reply = "451 4.3.0 try again later"
    with pytest.raises(RetryableError, match="451") as caught:
        await provider.send_email(make_message(1))
    assert caught.value.status == 451

    smtp_server.data_reply = None
    await provider.send_email(make_message(2))
    assert [r.message["Message-ID"] for r in smtp_server.received] == ["<msg0002@acme.example>"]
    assert provider.connections_opened == 1  # RSET made the same session reusable


async def test_550_recipient_is_permanent(provider, smtp_server) -> None:
    smtp_server.rcpt_replies["jane@example.org"] = "550 5.1.1 no such user"
    with pytest.raises(PermanentError, match="550 5.1.1 no such user") as caught:
        await provider.send_email(make_message())
    assert caught.value.status == 550
    assert smtp_server.received == []


async def test_greylisted_recipient_is_retryable(provider, smtp_server) -> None:
    smtp_server.rcpt_replies["jane@example.org"] = "450 4.2.0 greylisted"
    with pytest.raises(RetryableError, match="greylisted"):
        await provider.send_email(make_message())


async def test_partly_refused_recipients_still_send(provider, smtp_server) -> None:
    smtp_server.rcpt_replies["joe@example.org"] = "550 5.1.1 no such user"
    result = await provider.send_email(make_message(to=["jane@example.org", "Joe@Example.ORG"]))
    assert list(result.recipient_message_ids) == ["jane@example.org"]
    # keyed by the caller's spelling, not the normalised envelope address
    assert result.raw["refused"] == {"Joe@Example.ORG": "550 5.1.1 no such user"}
    assert smtp_server.received[0].rcpt_tos == ["jane@example.org"]


async def test_pool_reuses_few_connections(provider, smtp_server) -> None:
    for n in range(5):  # sequential sends share one session
        await provider.send_email(make_message(n))
    assert len(smtp_server.mail_connections) == 1

    await asyncio.gather(*(provider.send_email(make_message(n)) for n in range(100, 130)))
    assert len(smtp_server.received) == 35
    assert len(smtp_server.mail_connections) <= 3
    assert provider.connections_opened == len(smtp_server.mail_connections)
    assert provider.connections_opened > 1  # concurrency actually used the pool


async def test_reconnects_after_the_server_closed_the_session(provider, smtp_server) -> None:
    await provider.send_email(make_message(1))
    smtp_server.drop_connections()
    await asyncio.sleep(0.1)  # let the client notice the FIN
    await provider.send_email(make_message(2))
    assert len(smtp_server.received) == 2
    assert provider.connections_opened == 2


async def test_reconnects_once_when_a_pooled_session_dies_on_use(provider, smtp_server) -> None:
    await provider.send_email(make_message(1))
    smtp_server.drop_next_mail = True  # the reused session vanishes at MAIL FROM
    await provider.send_email(make_message(2))
    assert [r.message["Message-ID"] for r in smtp_server.received] == [
        "<msg0001@acme.example>",
        "<msg0002@acme.example>",
    ]
    assert provider.connections_opened == 2
    assert smtp_server.mail_commands == 3


async def test_a_fresh_session_dying_is_not_retried_forever(provider, smtp_server) -> None:
    smtp_server.drop_next_mail = True
    with pytest.raises(RetryableError):
        await provider.send_email(make_message())
    assert smtp_server.mail_commands == 1


async def test_aclose_quits_and_the_provider_stays_usable(provider, smtp_server) -> None:
    await provider.send_email(make_message(1))
    await provider.aclose()
    await provider.send_email(make_message(2))
    assert provider.connections_opened == 2


async def test_connection_check_succeeds(smtp_starttls_server, smtp_settings_for) -> None:
    assert await check_connection(smtp_settings_for(smtp_starttls_server)) == (True, None)
    assert smtp_starttls_server.auth_failures == 0


async def test_connection_check_refused() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port())
    assert await check_connection(settings) == (False, "connection refused")


async def test_connection_check_auth_failure(smtp_starttls_server, smtp_settings_for) -> None:
    ok, error = await check_connection(smtp_settings_for(smtp_starttls_server, password="nope"))
    assert ok is False
    assert error is not None and error.startswith("authentication failed: 535")


async def test_connection_check_timeout() -> None:
    with SilentServer() as silent:
        settings = SmtpSettings(host=silent.host, port=silent.port, connect_timeout=0.3)
        assert await check_connection(settings) == (False, "timed out after 0.3s")


async def test_connection_check_rejects_untrusted_certificate(
    smtp_starttls_server, smtp_settings_for
) -> None:
    settings = smtp_settings_for(smtp_starttls_server, verify_tls=True)
    ok, error = await check_connection(settings)
    assert ok is False
    assert error is not None and error.startswith("TLS handshake failed:")
    assert "self-signed" in error or "verify" in error


async def test_connection_check_without_starttls_on_a_tls_only_server(
    smtp_starttls_server, smtp_settings_for
) -> None:
    ok, error = await check_connection(smtp_settings_for(smtp_starttls_server, starttls=False))
    assert ok is False
    assert error is not None and error.startswith("authentication failed:")


class CommandCounter:
    """aiosmtpd handler that only counts the commands a client spends per message."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    async def handle_NOOP(self, server, session, envelope, arg) -> str:
        self.counts["NOOP"] += 1
        return "250 OK"

    async def handle_RSET(self, server, session, envelope) -> str:
        self.counts["RSET"] += 1
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.counts["DATA"] += 1
        return "250 2.0.0 queued"


@pytest.fixture
def counting_server():
    handler = CommandCounter()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, SmtpSettings(host="127.0.0.1", port=controller.port, starttls=False)
    controller.stop()


async def test_a_warm_session_spends_no_noop_or_rset(counting_server) -> None:
    handler, settings = counting_server
    provider = SmtpProvider(settings, pool_size=1)
    for n in range(5):
        await provider.send_email(make_message(n))
    await provider.aclose()
    assert handler.counts == {"DATA": 5}
    assert provider.connections_opened == 1


async def test_a_long_idle_session_is_probed_with_noop(counting_server, monkeypatch) -> None:
    handler, settings = counting_server
    provider = SmtpProvider(settings, pool_size=1)
    await provider.send_email(make_message(1))
    monkeypatch.setattr(smtp_module, "IDLE_CHECK_AFTER", -1.0)  # every session counts as idle
    await provider.send_email(make_message(2))
    await provider.aclose()
    assert handler.counts == {"DATA": 2, "NOOP": 1}
    assert provider.connections_opened == 1


async def test_invalid_envelope_from_is_refused_before_connecting(smtp_server, smtp_settings_for):
    provider = SmtpProvider(smtp_settings_for(smtp_server, envelope_from="a<b@acme.example"))
    with pytest.raises(PermanentError, match="invalid sender"):
        await provider.send_email(make_message())
    assert provider.connections_opened == 0
