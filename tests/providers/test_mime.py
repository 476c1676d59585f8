"""MIME building: what every email provider puts on the wire."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
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


# --- the hand-written writer against the stdlib parser ----------------------------------------
#
# render_mime() writes headers and MIME structure itself (the stdlib's writer was too slow),
# so these tests parse its output with the stdlib and demand the original values back.


def head_lines(raw: bytes) -> list[str]:
    return raw.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")


def display_name(raw: bytes) -> str:
    """The From display name as an RFC 2047 decoder reads it.

    The stdlib's address parser keeps the whitespace between two adjacent encoded-words of
    a long name (its own generator's output does not round-trip either); RFC 2047 section
    6.2 says to drop it, which is what mail clients and ``decode_header`` do.
    """
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii").replace("\r\n ", " ")
    value = next(line for line in head.split("\r\n") if line.startswith("From: "))[6:]
    if "=?" in value:
        return str(make_header(decode_header(value.rpartition(" <")[0])))
    return parse(raw)["From"].addresses[0].display_name


def assert_within_line_limits(raw: bytes) -> None:
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only, no bare CR or LF
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    for line in head_lines(raw):
        if line.startswith("List-Unsubscribe:"):
            continue  # unfolded on purpose
        assert len(line) <= (76 if "=?" in line else 78), line


SUBJECTS = [
    "Grüße aus Köln – Ihre Frühlingsangebote für März, nur diese Woche, solange der Vorrat reicht",
    "日本語の件名です。よろしくお願いします。" * 3,
    "Привет! Ваш заказ №12345 отправлен",
    "Party 🎉🎉🎉 tonight " * 6,
    "A plain ASCII subject that is long enough to need folding across lines, really quite long",
    "Looks encoded =?utf-8?q?x?= but is not",
    "two  spaces   and tabs\there",
    'under_score (parens) <angle> "quotes" ?question? =equals=',
    "",
    "x" * 200,  # one word longer than a line: must still round-trip
]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_subjects_round_trip_within_line_limits(subject: str) -> None:
    raw = render_mime(make_message(subject=subject))
    assert_within_line_limits(raw)
    assert parse(raw)["Subject"] == subject


@pytest.mark.parametrize(
    "name",
    [
        "Acme",
        "Acme, Inc.",
        'Say "hi" \\ bye',
        "José Müller (Vertrieb)",
        "日本語の名前",
        "A very long display name that goes on and on and on until it needs folding itself",
        "Jürgen Müller-Lüdenscheidt, Großkundenbetreuung Nordrhein-Westfalen äöü",
        "=?utf-8?q?fake?=",
    ],
)
def test_display_names_round_trip(name: str) -> None:
    raw = render_mime(make_message(sender_name=name))
    assert_within_line_limits(raw)
    assert display_name(raw) == name
    assert parse(raw)["From"].addresses[0].addr_spec == "news@acme.example"


def test_many_recipients_fold_and_round_trip() -> None:
    recipients = [f"recipient.number{n}@example.org" for n in range(12)]
    raw = render_mime(make_message(to=recipients))
    assert_within_line_limits(raw)
    assert [a.addr_spec for a in parse(raw)["To"].addresses] == recipients


def test_quoted_local_part_is_kept() -> None:
    parsed = parse(render_mime(make_message(to=['"a,b"@example.org'])))
    assert parsed["To"].addresses[0].addr_spec == '"a,b"@example.org'


@pytest.mark.parametrize(
    "address", ["a,b@example.org", "a..b@example.org", ".a@example.org", "a<b@example.org"]
)
def test_addresses_that_are_not_rfc_5322_are_refused(address: str) -> None:
    with pytest.raises(PermanentError, match="invalid recipient"):
        render_mime(make_message(to=[address]))


@pytest.mark.parametrize(
    ("body", "cte"),
    [
        ("Hello Jane,\nall ASCII and short.\n", "7bit"),
        ("no final newline", "7bit"),
        ("", "7bit"),
        ("CRLF\r\nand lone CR\rand LF\n", "7bit"),
        (".leading dot\n.\nFrom the start\ntrailing space \ntrailing tab\t\n", "7bit"),
        ("long line " * 30 + "\n", "quoted-printable"),
        ("a=b and =?x?= and \x00\x1b control\n", "quoted-printable"),
        ("Hallo Jürgen, hier ist Ihr Newsletter für diese Woche.\n" * 3, "quoted-printable"),
        ("Grüße, schöne Grüße!\n" * 3, "base64"),  # whichever is shorter, like the stdlib
        ("日本語の本文です。\n" * 20, "base64"),
    ],
)
def test_bodies_round_trip_seven_bit(body: str, cte: str) -> None:
    for overrides in ({"html": None, "text": body}, {"text": "x", "html": body}):
        raw = render_mime(make_message(**overrides))
        assert_within_line_limits(raw)
        part = parse(raw).get_body(("html", "plain"))
        assert part["Content-Transfer-Encoding"] == cte
        expected = body.replace("\r\n", "\n").replace("\r", "\n")
        expected += "" if expected.endswith("\n") else "\n"  # always ends with a line end
        assert crlf_to_lf(part.get_content()) == expected


def test_boundary_is_random_and_never_clashes_with_a_body() -> None:
    first, second = render_mime(make_message()), render_mime(make_message())
    boundary = parse(first).get_boundary()
    assert boundary and boundary != parse(second).get_boundary()
    # A raw (7bit) body quoting a boundary-like line must not end its part early.
    text = f"--{boundary}\n--{boundary}--\n"
    parsed = parse(render_mime(make_message(text=text)))
    plain, html = parsed.get_payload()
    assert crlf_to_lf(plain.get_content()) == text
    assert html.get_content_type() == "text/html"


def test_random_values_round_trip() -> None:
    """Seeded fuzzing over the characters that matter to the encoders."""
    rng = random.Random(5322)
    alphabet = "aZ09 _=?\"'(),.:;<>@[\\]\t-äöüßé€–日本🎉\u200b"
    for _ in range(150):
        subject = "".join(rng.choices(alphabet, k=rng.randint(0, 120)))
        name = "".join(rng.choices(alphabet, k=rng.randint(1, 40))).strip() or "n"
        text = "".join(rng.choices(alphabet + "\n", k=rng.randint(0, 400)))
        raw = render_mime(make_message(subject=subject, sender_name=name, text=text, html=None))
        assert_within_line_limits(raw)
        parsed = parse(raw)
        assert parsed["Subject"] == subject
        assert display_name(raw) == name
        expected = text + ("" if text.endswith("\n") or not text else "\n")
        assert crlf_to_lf(parsed.get_content()) == (expected or "\n")


@pytest.mark.parametrize("overrides", [{"subject": "bad \ud800"}, {"text": "bad \udfff"}])
def test_unencodable_text_is_refused(overrides: dict) -> None:
    with pytest.raises(PermanentError, match="cannot build email"):
        render_mime(make_message(**overrides))


def test_date_can_be_given() -> None:
    when = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
    assert build_mime(make_message(), date=when)["Date"] == "Sat, 01 Mar 2025 12:30:00 +0000"
