"""MIME building: what every email provider puts on the wire."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime

import pytest

from doxie.providers.base import EmailMessage, PermanentError
from doxie.providers.email.mime import build_mime, envelope_address, render_mime


def make_message(**overrides) -> EmailMessage:
    values = {
        "message_id": "01HXQ3M8ZK5V9T2Y7W4R6N1B0C",
        "sender": "news@acme.example",
        "to": ["jane@example.org"],
        "subject": "Grüße aus Köln – Ihr Newsletter",
        "text": "Hallo Jane,\nschöne Grüße!\n",
        "html": "<p>Hallo Jane,<br>schöne Grüße!</p>\n",
        "sender_name": "Acmé Newsletter",
        "reply_to": "support@acme.example",
        "list_unsubscribe": "https://acme.example/u/tok123",
        "headers": {"X-Campaign": "spring-2025"},
    }
    values.update(overrides)
    return EmailMessage(**values)


def parse(raw: bytes):
    return message_from_bytes(raw, policy=policy.default)


def crlf_to_lf(text: str) -> str:
    """Decoded parts keep the wire's CRLF line ends; compare with what the tenant wrote."""
    return text.replace("\r\n", "\n")


def test_full_message_round_trips() -> None:
    raw = render_mime(make_message())
    parsed = parse(raw)

    assert parsed.get_content_type() == "multipart/alternative"
    text, html = parsed.get_payload()
    assert text.get_content_type() == "text/plain"
    assert text.get_content_charset() == "utf-8"
    assert crlf_to_lf(text.get_content()) == "Hallo Jane,\nschöne Grüße!\n"
    assert html.get_content_type() == "text/html"
    assert crlf_to_lf(html.get_content()) == "<p>Hallo Jane,<br>schöne Grüße!</p>\n"
    assert "MIME-Version" not in text and "MIME-Version" not in html
    assert parsed["MIME-Version"] == "1.0"

    assert parsed["Subject"] == "Grüße aus Köln – Ihr Newsletter"
    assert parsed["From"].addresses[0].display_name == "Acmé Newsletter"
    assert parsed["From"].addresses[0].addr_spec == "news@acme.example"
    assert parsed["To"] == "jane@example.org"
    assert parsed["Reply-To"] == "support@acme.example"
    assert parsed["Message-ID"] == "<01HXQ3M8ZK5V9T2Y7W4R6N1B0C@acme.example>"
    assert parsedate_to_datetime(parsed["Date"]).tzinfo is not None
    assert parsed["List-Unsubscribe"] == "<https://acme.example/u/tok123>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["X-Campaign"] == "spring-2025"


def test_wire_format_is_seven_bit_crlf_with_encoded_words() -> None:
    raw = render_mime(make_message())
    assert raw.isascii()  # no 8BITMIME needed anywhere
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "Subject: =?utf-8?" in head
    assert "From: =?utf-8?" in head and "<news@acme.example>" in head


def test_only_text_gives_a_single_part() -> None:
    parsed = parse(render_mime(make_message(html=None)))
    assert parsed.get_content_type() == "text/plain"
    assert not parsed.is_multipart()
    assert crlf_to_lf(parsed.get_content()) == "Hallo Jane,\nschöne Grüße!\n"


def test_only_html_gives_a_single_part() -> None:
    parsed = parse(render_mime(make_message(text=None)))
    assert parsed.get_content_type() == "text/html"
    assert not parsed.is_multipart()


def test_no_body_is_refused() -> None:
    with pytest.raises(PermanentError, match="neither"):
        render_mime(make_message(text=None, html=None))


def test_long_unsubscribe_url_is_neither_folded_nor_encoded() -> None:
    url = "https://acme.example/unsubscribe/" + "x" * 150
    raw = render_mime(make_message(list_unsubscribe=url))
    assert f"\r\nList-Unsubscribe: <{url}>\r\n".encode() in raw


def test_mailto_unsubscribe_has_no_one_click_header() -> None:
    parsed = parse(render_mime(make_message(list_unsubscribe="mailto:unsub@acme.example")))
    assert parsed["List-Unsubscribe"] == "<mailto:unsub@acme.example>"
    assert parsed["List-Unsubscribe-Post"] is None


def test_preformatted_unsubscribe_list_is_kept() -> None:
    value = "<mailto:u@acme.example?subject=stop>, <https://acme.example/u/1>"
    parsed = parse(render_mime(make_message(list_unsubscribe=value)))
    assert parsed["List-Unsubscribe"] == value
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_message_id_domain_can_be_given() -> None:
    mime = build_mime(make_message(), domain="mail.doxie.example")
    assert mime["Message-ID"] == "<01HXQ3M8ZK5V9T2Y7W4R6N1B0C@mail.doxie.example>"


def test_idn_domains_become_punycode() -> None:
    parsed = parse(render_mime(make_message(sender="info@bücher.example", to=["a@bücher.example"])))
    assert parsed["From"].addresses[0].addr_spec == "info@xn--bcher-kva.example"
    assert parsed["Message-ID"].endswith("@xn--bcher-kva.example>")
    assert envelope_address("a@Bücher.example") == "a@xn--bcher-kva.example"


@pytest.mark.parametrize(
    "overrides",
    [
        {"subject": "Hello\r\nBcc: victim@example.org"},
        {"subject": "Hello\nBcc: victim@example.org"},
        {"sender_name": "Acme\r\nBcc: victim@example.org"},
        {"reply_to": "a@example.org\r\nBcc: victim@example.org"},
        {"to": ["jane@example.org\r\nBcc: victim@example.org"]},
        {"list_unsubscribe": "https://acme.example/u\r\nBcc: victim@example.org"},
        {"headers": {"X-Note": "ok\r\nBcc: victim@example.org"}},
        {"headers": {"X-Note\r\nBcc": "victim@example.org"}},
        {"headers": {"X Note": "space in name"}},
    ],
)
def test_header_injection_is_refused(overrides: dict) -> None:
    with pytest.raises(PermanentError):
        render_mime(make_message(**overrides))


@pytest.mark.parametrize("name", ["Message-ID", "from", "Content-Type", "MIME-Version", "Bcc"])
def test_structural_headers_cannot_be_overridden(name: str) -> None:
    with pytest.raises(PermanentError, match="cannot be overridden"):
        render_mime(make_message(headers={name: "x"}))


@pytest.mark.parametrize(
    "overrides",
    [
        {"to": []},
        {"to": ["not-an-address"]},
        {"sender": "jöhn@example.org"},  # would need SMTPUTF8
        {"message_id": "has space"},
        {"message_id": "<bracketed>"},
    ],
)
def test_invalid_messages_are_refused(overrides: dict) -> None:
    with pytest.raises(PermanentError):
        render_mime(make_message(**overrides))


def test_non_ascii_extra_header_values_are_encoded() -> None:
    raw = render_mime(make_message(headers={"X-Greeting": "grüezi"}))
    assert raw.isascii()
    assert parse(raw)["X-Greeting"] == "grüezi"
