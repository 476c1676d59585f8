"""One normal form per contact channel, shared by writes (P1) and the Mailer's consent gate.

A consent recorded for ``Max@Example.com`` must gate a send to ``max@example.com``, and one
for ``+49 177 1234567`` a send to ``+491771234567``; so both sides normalize the same way:
email addresses are validated (syntax only, no DNS) and lower-cased, phone numbers become
E.164. Phone numbers must be given in international form (leading ``+``): guessing a
country for a national number would silently attach a consent to someone else's number.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

_PHONE_CHARS = re.compile(r"^\+[0-9 ()./-]+$")


class ChannelValueError(ValueError):
    """The value is not a usable email address / phone number; the message says why."""


def email(value: str) -> str:
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ChannelValueError(f"is not a valid email address: {exc}") from None
    return result.normalized.lower()


def phone(value: str) -> str:
    raw = value.strip()
    if not _PHONE_CHARS.match(raw):
        raise ChannelValueError(
            "must be an international number in E.164 form, e.g. +491771234567"
        )
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise ChannelValueError("is not a valid phone number") from None
    # IS_POSSIBLE only: "local only" numbers cannot be dialled from abroad, so not E.164.
    # (Not is_valid_number: the contract's own example +491234567890 is merely possible.)
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise ChannelValueError("is not a possible phone number for its country code")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def any_value(value: str) -> str | None:
    """Normal form of an email address or phone number, or None if it is neither."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return phone(value) if value.strip().startswith("+") else email(value)
    except ChannelValueError:
        return None
