"""Turn a rendered :class:`~doxie.providers.base.EmailMessage` into RFC 5322 bytes.

SMTP and SES (raw) both transmit exactly these bytes, so what we test here is what a
recipient gets. Decisions made here and why:

* We write the header block and MIME structure ourselves instead of going through
  ``email.message.EmailMessage`` + ``policy.SMTP``: the stdlib's header registry and folder
  cost ≈2 ms of CPU per message, which capped a worker at a few hundred messages/s. The
  shapes we emit are few and fixed (one text part, one HTML part, or both as
  ``multipart/alternative``), so a direct writer is small; the tests parse every shape back
  with the stdlib parser to prove equivalence.
* The body is forced to 7-bit transfer encodings (quoted-printable/base64 when needed) so
  the message is valid on any relay, with or without 8BITMIME.
* ``Message-ID`` is built from OUR message id, so a retried send carries the same id and
  the provider's events can be matched back to our row.
* Header values are checked for CR/LF before anything is written: a newline in a
  tenant-supplied subject or header would otherwise let them inject ``Bcc:`` lines.
  Non-ASCII or unprintable values become RFC 2047 encoded-words; lines are folded at 78
  columns (76 where encoded-words appear) and never exceed RFC 5322's 998.
* ``List-Unsubscribe`` is never folded into encoded words: mailbox providers only act on
  a literal ``<https://…>`` URI (RFC 2369/8058).
"""

from __future__ import annotations

import base64
import binascii
import random
import re
import time
from datetime import UTC, datetime
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime
from functools import lru_cache
from typing import NamedTuple

from doxie.providers.base import EmailMessage, PermanentError

__all__ = ["Rendered", "build_mime", "envelope_address", "mailbox_address", "render", "render_mime"]

# Headers we always write ourselves; a tenant overriding them would corrupt the message or
# defeat our tracking, so extra headers with these names are refused outright.
_RESERVED = frozenset(
    "from to cc bcc sender subject date message-id mime-version reply-to return-path"
    " list-unsubscribe list-unsubscribe-post".split()
)
_WHITESPACE = re.compile(r"\s")  # the same characters as str.isspace()
_FIELD_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ':'
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_ID_LEFT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")  # dot-atom-text characters
_DOT_ATOM = re.compile(rf"^{_ATEXT}+(?:\.{_ATEXT}+)*$")
_QUOTED_LOCAL = re.compile(r'^"(?:[ !#-\[\]-~]|\\[ -~])*"$')  # RFC 5322 quoted-string
_DOMAIN_LITERAL = re.compile(r"^\[[!-Z^-~]*\]$")
_ATOM_PHRASE = re.compile(rf"^{_ATEXT}+(?: {_ATEXT}+)*$")  # a display name needing no quotes
_NOT_7BIT_SAFE = re.compile(rb"[^\t\r\n -~]")  # after CRLF normalisation, so CR/LF are pairs
_MAX_LINE = 998  # RFC 5322 hard limit, including the header name
_FOLD_AT = 78  # RFC 5322 recommended line length
_EW_FOLD_AT = 76  # RFC 2047: lines holding encoded-words are limited to 76 characters
_EW_OVERHEAD = len("=?utf-8?q??=")
_BODY_LINE = 78  # longest line we send unencoded (what policy.SMTP used, too)

# RFC 2047 "Q" encoding restricted to what is legal inside a phrase (section 5, rule 3),
# so the same encoder serves display names and unstructured text alike.
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_Q_BYTE = tuple("_" if b == 0x20 else chr(b) if b in _Q_SAFE else f"={b:02X}" for b in range(256))


class Rendered(NamedTuple):
    """The wire bytes and the ``Message-ID`` written into them (``<id@domain>``)."""

    data: bytes
    message_id: str


def _check_value(what: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise PermanentError(f"{what} must not contain line breaks")
    return value


@lru_cache(maxsize=4096)
def _ascii_domain(domain: str) -> str:
    """IDNA-encode and lowercase; cached because the idna codec is slow pure Python and the
    same few domains (the sender's, big mailbox providers) come up over and over."""
    return domain.encode("idna").decode("ascii").lower()


def envelope_address(address: str, *, what: str = "address") -> str:
    """Return ``address`` in the ASCII form SMTP needs (IDNA domain) or raise PermanentError.

    Non-ASCII local parts would need SMTPUTF8, which we do not negotiate; refusing them here
    gives the tenant a clear reason instead of a relay's cryptic 5xx.
    """
    _check_value(what, address)
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or _WHITESPACE.search(address):
        raise PermanentError(f"invalid {what}: {address!r}")
    if not local.isascii():
        raise PermanentError(f"{what} {address!r} has a non-ASCII local part (SMTPUTF8)")
    try:
        domain = _ascii_domain(domain)
    except UnicodeError as exc:
        raise PermanentError(f"invalid domain in {what}: {address!r}") from exc
    return f"{local}@{domain}"


# --- header writing -------------------------------------------------------------------------


class _QTable(dict[int, str]):
    """``str.translate`` table: code point -> Q-encoded UTF-8 bytes, filled on first use.

    Translating in C is several times faster than a Python loop over characters. The table
    is bounded so hostile input cannot grow it without limit.
    """

    def __missing__(self, code: int) -> str:
        piece = "".join([_Q_BYTE[b] for b in chr(code).encode("utf-8")])
        if len(self) < 4096:
            self[code] = piece
        return piece


_Q_TABLE = _QTable({b: _Q_BYTE[b] for b in range(128)})


def _encoded_words(text: str, first: int) -> list[str]:
    """RFC 2047 encoded-words for ``text``, never splitting a character across two words.

    ``first`` is the payload budget of the first word (it shares a line with the field
    name); later words get the full 76-column line. Mostly-ASCII text uses "Q" (readable,
    short); text that is mostly multi-byte uses "B", which is a third the size there.
    """
    rest = _EW_FOLD_AT - 1 - _EW_OVERHEAD
    if len(text.encode("utf-8")) > len(text) * 3 // 2:
        return _b_words(text, first, rest)
    encoded = text.translate(_Q_TABLE)
    words: list[str] = []
    start, budget = 0, first
    while len(encoded) - start > budget:
        cut = start + budget
        # "=" only ever starts an "=XX" escape: do not cut inside one ...
        if encoded[cut - 1] == "=":
            cut -= 1
        elif encoded[cut - 2] == "=":
            cut -= 2
        # ... nor before a UTF-8 continuation byte (=80..=BF): back up to the lead byte.
        while encoded[cut] == "=" and encoded[cut + 1] in "89AB":
            cut -= 3
        words.append("=?utf-8?q?" + encoded[start:cut] + "?=")
        start, budget = cut, rest
    words.append("=?utf-8?q?" + encoded[start:] + "?=")
    return words


def _b_words(text: str, first: int, rest: int) -> list[str]:
    words: list[str] = []
    chunk = bytearray()
    limit = first // 4 * 3  # raw bytes whose base64 fits the budget
    for char in text:
        raw = char.encode("utf-8")
        if len(chunk) + len(raw) > limit and chunk:
            words.append("=?utf-8?b?" + base64.b64encode(chunk).decode("ascii") + "?=")
            chunk, limit = bytearray(), rest // 4 * 3
        chunk += raw
    words.append("=?utf-8?b?" + base64.b64encode(chunk).decode("ascii") + "?=")
    return words


def _fold(name: str, tokens: list[str], limit: int = _FOLD_AT) -> str:
    """``Name: tok tok…`` joined by single spaces, folded (CRLF before a space) so lines stay
    within ``limit`` where the tokens allow. Empty tokens stand for runs of spaces in raw
    text and are kept verbatim, so unfolding restores the value exactly."""
    lines: list[str] = []
    line = name + ":"
    has_token = False
    for token in tokens:
        if token and has_token and len(line) + 1 + len(token) > limit:
            lines.append(line)
            line = ""
        line += " " + token
        has_token = has_token or bool(token)
    lines.append(line)
    if any(len(part) > _MAX_LINE for part in lines):
        raise PermanentError(f"header {name} is too long")
    return "\r\n".join(lines) + "\r\n"


def _needs_encoding(text: str) -> bool:
    # "=?" could be mistaken for an encoded-word by the recipient, so it is encoded as well.
    return not (text.isascii() and text.isprintable()) or "=?" in text


def _unstructured(name: str, value: str) -> str:
    """Subject and extra headers: raw when plain printable ASCII, else encoded-words.

    Raw text is only folded at its spaces, so a word too long for a line (a long URL, say)
    also switches to encoded-words, which may be split anywhere: every line then stays
    within 78 columns. The first word must fit next to the name, because folding right
    after the colon would add a leading space to the value.
    """
    if not _needs_encoding(value):
        tokens = value.split(" ")
        if len(tokens[0]) <= _FOLD_AT - len(name) - 2 and max(map(len, tokens)) < _FOLD_AT:
            return _fold(name, tokens)
    first = max(_EW_FOLD_AT - len(name) - 2 - _EW_OVERHEAD, 12)
    return _fold(name, _encoded_words(value, first), _EW_FOLD_AT)


def mailbox_address(address: str, *, what: str = "address") -> str:
    """:func:`envelope_address`, additionally checked to be a dot-atom or quoted local part
    at a domain name or literal: the syntax both an RFC 5322 header and an RFC 5321
    ``MAIL FROM:<…>``/``RCPT TO:<…>`` need, so either can be written without re-parsing."""
    addr_spec = envelope_address(address, what=what)
    local, _, domain = addr_spec.rpartition("@")
    if not (_DOT_ATOM.match(local) or _QUOTED_LOCAL.match(local)) or not (
        _DOT_ATOM.match(domain) or _DOMAIN_LITERAL.match(domain)
    ):
        raise PermanentError(f"invalid {what}: {address!r}")
    return addr_spec


def _mailbox(address: str, display_name: str | None, what: str) -> tuple[str, ...]:
    """Tokens of ``name <addr>`` (or a bare addr-spec when there is no name)."""
    addr_spec = mailbox_address(address, what=what)
    name = _check_value(f"{what} name", display_name or "").strip()
    if not name:
        return (addr_spec,)
    if _needs_encoding(name) or len(name) > _EW_FOLD_AT - 10:
        first = _EW_FOLD_AT - len("Reply-To: ") - _EW_OVERHEAD
        words = tuple(_encoded_words(name, first))
    elif _ATOM_PHRASE.match(name):
        words = tuple(name.split(" "))
    else:
        words = ('"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"',)
    return (*words, f"<{addr_spec}>")


# The sender (and Reply-To) is the same for every message of a brand/template.
_cached_mailbox = lru_cache(maxsize=512)(_mailbox)


def _list_unsubscribe(value: str) -> tuple[str, bool]:
    """Normalise to ``<uri>, <uri>`` and say whether one-click (an https URI) applies."""
    _check_value("List-Unsubscribe", value)
    value = value.strip()
    uris = re.findall(r"<([^<>]*)>", value) if value.startswith("<") else [value]
    uris = [uri.strip() for uri in uris if uri.strip()]
    if not uris or any(not (uri.isascii() and uri.isprintable()) or " " in uri for uri in uris):
        raise PermanentError("List-Unsubscribe must be one or more ASCII URIs")
    header = ", ".join(f"<{uri}>" for uri in uris)
    if len(header) + len("List-Unsubscribe: ") > _MAX_LINE:
        raise PermanentError("List-Unsubscribe is too long")
    return header, any(uri.lower().startswith("https://") for uri in uris)


_date_cache: tuple[int, str] = (0, "")


def _date_now() -> str:
    """RFC 5322 date with a numeric zone; formatting is cached per second (it is per-call
    work that yields the same string for every message of that second)."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, format_datetime(datetime.fromtimestamp(now, UTC)))
    return _date_cache[1]


# --- bodies ---------------------------------------------------------------------------------


def _part(text: str, subtype: str) -> tuple[bytes, bytes, bool]:
    """(part headers, encoded body ending in CRLF, whether the body is raw 7bit).

    Line ends are normalised to CRLF like ``policy.SMTP`` did. Plain ASCII with short lines
    goes as 7bit; anything else as quoted-printable (``binascii.b2a_qp`` is C, unlike
    ``email.quoprimime``), or base64 when that is shorter (mostly non-Latin text).
    """
    data = text.encode("utf-8")
    if b"\r" in data:  # CRLF or lone CR: let splitlines() sort the line ends out
        body = b"\r\n".join(data.splitlines()) + b"\r\n"
    else:  # the usual case, and much cheaper than splitting
        body = data.replace(b"\n", b"\r\n")
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
    if not _NOT_7BIT_SAFE.search(body) and max(map(len, body.split(b"\r\n"))) <= _BODY_LINE:
        cte, encoded = "7bit", body
    else:
        cte, encoded = "quoted-printable", binascii.b2a_qp(body, istext=True)
        if len(encoded) > len(body) * 5 // 4:
            b64 = base64.encodebytes(body).replace(b"\n", b"\r\n")
            if len(b64) < len(encoded):
                cte, encoded = "base64", b64
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n'
    return head.encode("ascii"), encoded, cte == "7bit"


def _multipart(parts: list[tuple[bytes, bytes, bool]]) -> tuple[bytes, bytes]:
    """(top-level content headers, body) for ``multipart/alternative``.

    The boundary is random per message. It starts with ``=_``, which quoted-printable and
    base64 output can never contain, so only raw 7bit parts need checking for a clash.
    Uniqueness, not secrecy, is what it needs, so the Mersenne Twister will do where
    os.urandom() would cost a system call per message.
    """
    boundary = b"=_%032x" % random.getrandbits(128)
    while any(raw and boundary in body for _, body, raw in parts):
        boundary = b"=_%032x" % random.getrandbits(128)
    delimiter = b"--" + boundary
    chunks: list[bytes] = []
    for head, body, _ in parts:
        # The CRLF before a delimiter belongs to it (RFC 2046), hence the extra one: the
        # part's own final line end survives parsing.
        chunks += (delimiter, b"\r\n", head, b"\r\n", body, b"\r\n")
    chunks += (delimiter, b"--\r\n")
    head = b'Content-Type: multipart/alternative;\r\n boundary="' + boundary + b'"\r\n'
    return head, b"".join(chunks)


# --- the message ----------------------------------------------------------------------------


def render(
    message: EmailMessage, *, domain: str | None = None, date: datetime | None = None
) -> Rendered:
    """Build the wire bytes (see module docstring for the rules applied).

    ``domain`` overrides the right-hand side of the Message-ID, which otherwise is the
    sender's domain (the one the tenant verified, so it aligns with DKIM/SPF).
    """
    if not message.to:
        raise PermanentError("message has no recipient")
    if message.text is None and message.html is None:
        raise PermanentError("message has neither a text nor an HTML body")
    if not _ID_LEFT.match(message.message_id or ""):
        raise PermanentError(f"message id {message.message_id!r} is not usable in Message-ID")
    try:
        return _render(message, domain, date)
    except UnicodeError as exc:  # e.g. lone surrogates in a body or subject
        raise PermanentError(f"cannot build email: {exc}") from exc


def _render(message: EmailMessage, domain: str | None, date: datetime | None) -> Rendered:
    sender = _cached_mailbox(message.sender, message.sender_name, "sender")
    if domain:
        id_domain = mailbox_address(f"x@{domain}", what="domain")[2:]
    else:
        id_domain = envelope_address(message.sender, what="sender").rpartition("@")[2]
    message_id = f"<{message.message_id}@{id_domain}>"
    recipients = [mailbox_address(rcpt, what="recipient") for rcpt in message.to]
    head = [
        _fold("From", list(sender), _EW_FOLD_AT),
        _fold("To", [*(f"{rcpt}," for rcpt in recipients[:-1]), recipients[-1]]),
        _unstructured("Subject", _check_value("subject", message.subject)),
        f"Date: {format_datetime(date) if date else _date_now()}\r\n",
        _fold("Message-ID", [message_id]),
    ]
    if message.reply_to:
        head.append(_fold("Reply-To", list(_cached_mailbox(message.reply_to, None, "Reply-To"))))
    if message.list_unsubscribe:
        value, one_click = _list_unsubscribe(message.list_unsubscribe)
        head.append(f"List-Unsubscribe: {value}\r\n")  # deliberately unfolded, see above
        if one_click:
            head.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
    for name, value in message.headers.items():
        if not _FIELD_NAME.match(name) or len(name) > 76:
            raise PermanentError(f"invalid header name {name!r}")
        if name.lower() in _RESERVED or name.lower().startswith("content-"):
            raise PermanentError(f"header {name!r} is set by Doxie and cannot be overridden")
        head.append(_unstructured(name, _check_value(f"header {name}", str(value))))
    head.append("MIME-Version: 1.0\r\n")  # only the top-level entity carries it (RFC 2045)

    parts = []
    if message.text is not None:
        parts.append(_part(message.text, "plain"))
    if message.html is not None:
        parts.append(_part(message.html, "html"))
    if len(parts) == 1:
        content_head, body, _ = parts[0]
    else:
        content_head, body = _multipart(parts)
    data = b"".join(("".join(head).encode("ascii"), content_head, b"\r\n", body))
    return Rendered(data, message_id)


def render_mime(message: EmailMessage, *, domain: str | None = None) -> bytes:
    """The exact bytes to hand to SMTP ``DATA`` or SES ``Content.Raw`` (CRLF line ends)."""
    return render(message, domain=domain).data


def build_mime(
    message: EmailMessage, *, domain: str | None = None, date: datetime | None = None
) -> MimeMessage:
    """The rendered message parsed back into a stdlib object, for inspection (tests, admin).

    Slow by design (it runs the stdlib parser); the send path uses :func:`render`.
    """
    data = render(message, domain=domain, date=date).data
    return message_from_bytes(data, policy=email_policy.default)  # type: ignore[return-value]
