"""Turn a rendered :class:`~doxie.providers.base.EmailMessage` into RFC 5322 bytes.

SMTP and SES (raw) both transmit exactly these bytes, so what we test here is what a
recipient gets. Decisions made here and why:

* The body is forced to 7-bit transfer encodings (quoted-printable/base64 when needed) so
  the message is valid on any relay, with or without 8BITMIME.
* ``Message-ID`` is built from OUR message id, so a retried send carries the same id and
  the provider's events can be matched back to our row.
* Header values are checked for CR/LF before the stdlib sees them: a newline in a
  tenant-supplied subject or header would otherwise let them inject ``Bcc:`` lines.
* ``List-Unsubscribe`` is never folded into encoded words: mailbox providers only act on
  a literal ``<https://…>`` URI (RFC 2369/8058).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime
from typing import Any

from doxie.providers.base import EmailMessage, PermanentError

__all__ = ["build_mime", "envelope_address", "render_mime"]

# Headers we always write ourselves; a tenant overriding them would corrupt the message or
# defeat our tracking, so extra headers with these names are refused outright.
_RESERVED = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "sender",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "reply-to",
        "return-path",
        "list-unsubscribe",
        "list-unsubscribe-post",
    }
)
# Written verbatim (unfolded, never RFC 2047-encoded) as long as they are plain ASCII.
_VERBATIM = frozenset({"list-unsubscribe", "list-unsubscribe-post"})
_FIELD_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ':'
_ID_LEFT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")  # dot-atom-text characters
_MAX_LINE = 998  # RFC 5322 hard limit, including the header name


class _Policy(email_policy.EmailPolicy):
    """``policy.SMTP`` (CRLF, 78-column folding) that leaves list headers unfolded."""

    def _verbatim(self, name: str, value: Any) -> str | None:
        text = str(value)
        if name.lower() in _VERBATIM and text.isascii():
            return f"{name}: {text}{self.linesep}"
        return None

    def fold(self, name: str, value: Any) -> str:
        return self._verbatim(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        verbatim = self._verbatim(name, value)
        if verbatim is not None:
            return verbatim.encode("ascii")
        return super().fold_binary(name, value)


# = ``email.policy.SMTP`` (default policy + CRLF) with cte_type="7bit", which makes
# set_content() pick quoted-printable/base64 for non-ASCII bodies instead of raw 8bit that a
# relay without 8BITMIME would have to reject.
POLICY = _Policy(linesep=email_policy.SMTP.linesep, cte_type="7bit")


def _check_value(what: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise PermanentError(f"{what} must not contain line breaks")
    return value


def envelope_address(address: str, *, what: str = "address") -> str:
    """Return ``address`` in the ASCII form SMTP needs (IDNA domain) or raise PermanentError.

    Non-ASCII local parts would need SMTPUTF8, which we do not negotiate; refusing them here
    gives the tenant a clear reason instead of a relay's cryptic 5xx.
    """
    _check_value(what, address)
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in address):
        raise PermanentError(f"invalid {what}: {address!r}")
    if not local.isascii():
        raise PermanentError(f"{what} {address!r} has a non-ASCII local part (SMTPUTF8)")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise PermanentError(f"invalid domain in {what}: {address!r}") from exc
    return f"{local}@{domain.lower()}"


def _address(address: str, display_name: str | None, what: str) -> Address:
    addr_spec = envelope_address(address, what=what)
    name = _check_value(f"{what} name", display_name or "").strip()
    try:
        return Address(display_name=name, addr_spec=addr_spec)
    except (ValueError, IndexError) as exc:
        raise PermanentError(f"invalid {what}: {address!r}") from exc


def _list_unsubscribe(value: str) -> tuple[str, bool]:
    """Normalise to ``<uri>, <uri>`` and say whether one-click (an https URI) applies."""
    _check_value("List-Unsubscribe", value)
    value = value.strip()
    uris = re.findall(r"<([^<>]*)>", value) if value.startswith("<") else [value]
    uris = [uri.strip() for uri in uris if uri.strip()]
    if not uris or any(not uri.isascii() or " " in uri for uri in uris):
        raise PermanentError("List-Unsubscribe must be one or more ASCII URIs")
    header = ", ".join(f"<{uri}>" for uri in uris)
    if len(header) + len("List-Unsubscribe: ") > _MAX_LINE:
        raise PermanentError("List-Unsubscribe is too long")
    return header, any(uri.lower().startswith("https://") for uri in uris)


def build_mime(
    message: EmailMessage, *, domain: str | None = None, date: datetime | None = None
) -> MimeMessage:
    """Build the stdlib message object (see module docstring for the rules applied).

    ``domain`` overrides the right-hand side of the Message-ID, which otherwise is the
    sender's domain (the one the tenant verified, so it aligns with DKIM/SPF).
    """
    if not message.to:
        raise PermanentError("message has no recipient")
    if message.text is None and message.html is None:
        raise PermanentError("message has neither a text nor an HTML body")
    if not _ID_LEFT.match(message.message_id or ""):
        raise PermanentError(f"message id {message.message_id!r} is not usable in Message-ID")

    sender = _address(message.sender, message.sender_name, "sender")
    id_domain = envelope_address(f"x@{domain}", what="domain")[2:] if domain else sender.domain

    msg = MimeMessage(policy=POLICY)
    try:
        msg["From"] = sender
        msg["To"] = [_address(rcpt, None, "recipient") for rcpt in message.to]
        msg["Subject"] = _check_value("subject", message.subject)
        msg["Date"] = format_datetime(date or datetime.now(UTC))
        msg["Message-ID"] = f"<{message.message_id}@{id_domain}>"
        if message.reply_to:
            msg["Reply-To"] = _address(message.reply_to, None, "Reply-To")
        if message.list_unsubscribe:
            header, one_click = _list_unsubscribe(message.list_unsubscribe)
            msg["List-Unsubscribe"] = header
            if one_click:
                msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        for name, value in message.headers.items():
            if not _FIELD_NAME.match(name) or len(name) > 76:
                raise PermanentError(f"invalid header name {name!r}")
            if name.lower() in _RESERVED or name.lower().startswith("content-"):
                raise PermanentError(f"header {name!r} is set by Doxie and cannot be overridden")
            msg[name] = _check_value(f"header {name}", str(value))

        if message.text is not None:
            msg.set_content(message.text, subtype="plain", charset="utf-8")
            if message.html is not None:
                msg.add_alternative(message.html, subtype="html", charset="utf-8")
        else:
            msg.set_content(message.html or "", subtype="html", charset="utf-8")
    except (ValueError, TypeError) as exc:  # stdlib header/registry validation
        raise PermanentError(f"cannot build email: {exc}") from exc
    for part in msg.iter_parts():
        del part["MIME-Version"]  # only the top-level entity carries it (RFC 2045)
    return msg


def render_mime(message: EmailMessage, *, domain: str | None = None) -> bytes:
    """The exact bytes to hand to SMTP ``DATA`` or SES ``Content.Raw`` (CRLF line ends)."""
    msg = build_mime(message, domain=domain)
    try:
        return msg.as_bytes(policy=POLICY)
    except (ValueError, UnicodeError) as exc:
        raise PermanentError(f"cannot serialise email: {exc}") from exc
