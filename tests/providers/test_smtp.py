"""SMTP adapter against a real aiosmtpd server on loopback."""

from __future__ import annotations

import asyncio
import re
from collections import Counter

import pytest
from aiosmtpd.controller import Controller

from doxie.providers.base import EmailMessage, PermanentError, RetryableError
from doxie.providers.email import smtp as smtp_module
from doxie.providers.email.smtp import SmtpProvider, SmtpSettings
from doxie.providers.email.smtp import test_connection as check_connection
from tests.fakes.smtp_server import (
    FakeSmtpServer,
    SilentServer,
    free_port,
    make_self_signed_cert,
    running_smtp_server,
)


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


# --- SSRF policy at connect time (doxie.core.ssrf), pinned against DNS rebinding ---------


def fixed_resolver(answers: dict[str, list[str]], calls: list[str] | None = None):
    async def resolve(host: str) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in answers:
            raise OSError(f"unknown host {host}")
        return answers[host]

    return resolve


@pytest.fixture
def production_like(settings):
    """``DOXIE_ALLOW_PRIVATE_URLS=False``, as ``DOXIE_ENV=production`` defaults it."""
    settings.DOXIE_ALLOW_PRIVATE_URLS = False
    return settings


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "address 127.0.0.1 is loopback"),
        ("169.254.169.254", "address 169.254.169.254 is link-local (cloud metadata)"),
        ("10.0.0.1", "address 10.0.0.1 is private"),
        ("::1", "address ::1 is loopback"),
        ("[::ffff:127.0.0.1]", "loopback (embedded IPv4 127.0.0.1)"),
        ("2130706433", "address 127.0.0.1 is loopback"),
        ("localhost", "localhost resolves to 127.0.0.1; address 127.0.0.1 is loopback"),
    ],
)
async def test_forbidden_hosts_are_refused_before_any_connection(
    production_like, smtp_server, host, reason
) -> None:
    settings = SmtpSettings(host=host, port=smtp_server.port, starttls=False, connect_timeout=2)
    provider = SmtpProvider(settings)
    with pytest.raises(PermanentError, match=re.escape(reason)) as caught:
        await provider.send_email(make_message())
    assert caught.value.reason.startswith(f"SMTP host {host} may not be contacted: ")
    assert await check_connection(settings) == (False, caught.value.reason)
    assert provider.connections_opened == 0
    assert smtp_server._sessions == [] and smtp_server.received == []  # no TCP connection


async def test_the_same_sink_is_reachable_when_private_hosts_are_allowed(
    settings, smtp_server
) -> None:
    """The control for the test above: only the policy stands between us and the sink."""
    settings.DOXIE_ALLOW_PRIVATE_URLS = True
    provider = SmtpProvider(SmtpSettings(host="localhost", port=smtp_server.port, starttls=False))
    await provider.send_email(make_message())
    await provider.aclose()
    assert len(smtp_server.received) == 1


async def test_one_forbidden_address_among_the_answers_refuses_the_host(production_like) -> None:
    resolver = fixed_resolver({"mx.doxie.test": ["203.0.114.7", "127.0.0.1"]})
    provider = SmtpProvider(SmtpSettings(host="mx.doxie.test", port=25), resolver=resolver)
    with pytest.raises(PermanentError, match="mx.doxie.test resolves to 127.0.0.1; address"):
        await provider.send_email(make_message())


async def test_unresolvable_host_is_retryable(production_like) -> None:
    provider = SmtpProvider(SmtpSettings(host="nowhere.doxie.test", port=25),
                            resolver=fixed_resolver({}))
    with pytest.raises(RetryableError, match="could not resolve nowhere.doxie.test"):
        await provider.send_email(make_message())


async def test_session_runs_over_the_checked_address_without_a_second_lookup(
    settings, smtp_server
) -> None:
    # ".test" never resolves through the OS: delivery proves aiosmtplib did not resolve.
    settings.DOXIE_ALLOW_PRIVATE_URLS = True
    calls: list[str] = []
    resolver = fixed_resolver({"pinned.doxie.test": ["127.0.0.3", "127.0.0.1"]}, calls)
    provider = SmtpProvider(
        SmtpSettings(host="pinned.doxie.test", port=smtp_server.port, starttls=False),
        resolver=resolver,
    )
    await provider.send_email(make_message())
    await provider.aclose()
    assert calls == ["pinned.doxie.test"]  # once; 127.0.0.3 refused, 127.0.0.1 was next
    assert len(smtp_server.received) == 1


async def test_rebinding_after_the_check_does_not_reach_the_local_sink(
    production_like, smtp_server
) -> None:
    answers = iter([["203.0.114.7"], ["127.0.0.1"], ["127.0.0.1"]])
    calls: list[str] = []

    async def rebinding(host: str) -> list[str]:
        calls.append(host)
        return next(answers)

    settings = SmtpSettings(host="rebind.doxie.test", port=smtp_server.port, starttls=False,
                            connect_timeout=0.5)
    with pytest.raises(RetryableError):  # 203.0.114.7 does not answer (or refuses)
        await SmtpProvider(settings, resolver=rebinding).send_email(make_message())
    assert calls == ["rebind.doxie.test"]
    assert smtp_server._sessions == []


@pytest.mark.parametrize("mode", ["starttls", "tls"])
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_tls_verifies_the_configured_name_not_the_pinned_ip(
    settings, tmp_path, monkeypatch, mode
) -> None:
    """The certificate names mail.doxie.test *and* 127.0.0.1: only checking the name the
    tenant configured (SNI and verification) makes other.doxie.test fail."""
    settings.DOXIE_ALLOW_PRIVATE_URLS = True
    cert = make_self_signed_cert(tmp_path, common_name="mail.doxie.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert))  # trust it like a public CA
    resolver = fixed_resolver({"mail.doxie.test": ["127.0.0.1"], "other.doxie.test": ["127.0.0.1"]})
    with running_smtp_server(mode=mode, cert=cert, users={"u": "p"}, auth_required=True) as srv:
        def for_host(host: str) -> SmtpSettings:
            return SmtpSettings(host=host, port=srv.port, username="u", password="p",
                                starttls=mode == "starttls", ssl=mode == "tls", verify_tls=True)

        assert await check_connection(for_host("mail.doxie.test"), resolver) == (True, None)
        ok, error = await check_connection(for_host("other.doxie.test"), resolver)
    assert ok is False
    assert error is not None and error.startswith("TLS handshake failed")
    assert "other.doxie.test" in error or "mismatch" in error
