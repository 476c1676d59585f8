"""Format rules for brand attributes, shared by the API services and the admin UI forms.

Each check returns an error message or ``None``, so callers decide how to report it (a
``FieldError`` with the request's field path, or a form error). Only formats live here;
rules that need the merged state of a brand (credentials present for the chosen provider,
pseudonymization not after deletion) are in :mod:`doxie.brands.services`.

Why these particular rules: colours, lengths and font names end up inside CSS of emails
and public pages, so they are restricted to shapes that cannot break out of a declaration.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from doxie.core import ssrf

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$")
HEX_COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
CSS_LENGTH_RE = re.compile(r"^(?:0|(?:\d{1,4}(?:\.\d{1,4})?|\.\d{1,4})(?:px|rem|em|%|pt))$")
FONT_FAMILY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _,-]{0,99}$")
FONT_PATH_RE = re.compile(r"^[A-Za-z0-9_-]+(?:/[A-Za-z0-9_.-]+)*$")
FONT_WEIGHT_RE = re.compile(r"^[1-9]00(?:italic)?$")
E164_RE = re.compile(r"^\+[1-9]\d{1,14}$")
AWS_REGION_RE = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")
HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
IPV4_RE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
RCS_SENDER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$")
MAX_RETENTION_DAYS = 3650


def slug_error(value: str) -> str | None:
    if SLUG_RE.match(value):
        return None
    return "must be 1-64 lower-case letters, digits, '-' or '_', starting and ending alphanumeric"


def email_error(value: str) -> str | None:
    """RFC syntax only: a DNS lookup per request would make validation slow and flaky."""
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"is not a valid email address ({exc})"
    return None


def phone_error(value: str) -> str | None:
    """E.164 (``+`` and up to 15 digits) and a possible full length for the country code.

    ``is_possible_number`` rather than ``is_valid_number``: number plans change faster than
    the library's data, and a sender id registered with the provider must not be refused.
    """
    if not E164_RE.match(value):
        return "must be an E.164 number such as +491771234567"
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return "must be an E.164 number such as +491771234567"
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:  # local-only numbers too
        return "is not a possible phone number for its country code"
    return None


def hex_color_error(value: str) -> str | None:
    return None if HEX_COLOR_RE.match(value) else "must be a hex colour like #1a2b3c or #abc"


def css_length_error(value: str) -> str | None:
    if CSS_LENGTH_RE.match(value):
        return None
    return "must be a CSS length such as 6px, 0.5rem, 1em, 50% or 0"


def font_family_error(value: str) -> str | None:
    if FONT_FAMILY_RE.match(value):
        return None
    return "may contain letters, digits, spaces, '-', '_' and ',' only (max 100)"


def font_path_error(value: str) -> str | None:
    if FONT_PATH_RE.match(value) and ".." not in value and len(value) <= 200:
        return None
    return "must be a relative path of letters, digits, '-', '_', '.' and '/'"


def font_weight_error(value: str) -> str | None:
    return None if FONT_WEIGHT_RE.match(value) else "must be a weight from 100 to 900"


def rcs_sender_error(value: str) -> str | None:
    if RCS_SENDER_RE.match(value):
        return None
    return "must be 1-100 letters, digits, spaces, '.', '_' or '-'"


def hostname_error(value: str) -> str | None:
    """A DNS name or an IPv4 literal: what an SMTP client can connect to or say in EHLO."""
    if IPV4_RE.match(value):
        if all(int(part) <= 255 for part in value.split(".")):
            return None
        return "is not a valid IPv4 address"
    if HOSTNAME_RE.match(value):
        return None
    return "must be a host name such as smtp.example.com"


def smtp_host_error(value: str) -> str | None:
    """The SMTP server a brand sends through: a host name or an IPv4/IPv6 literal that the
    deployment's SSRF policy lets us connect to (:func:`doxie.core.ssrf.host_error`).

    Names are resolved once here so a host resolving to a private address is a 422 at save;
    a name that does not resolve (yet) is accepted and checked again at every connect.
    """
    if ssrf.literal_ip(value) is None or IPV4_RE.match(value):
        if problem := hostname_error(value):
            return problem
    if problem := ssrf.host_error(value):
        return f"may not be used as an SMTP server: {problem}"
    return None


def aws_region_error(value: str) -> str | None:
    return None if AWS_REGION_RE.match(value) else "must be an AWS region such as eu-central-1"


def retention_error(days: int) -> str | None:
    if 1 <= days <= MAX_RETENTION_DAYS:
        return None
    return f"must be between 1 and {MAX_RETENTION_DAYS} days"


def port_error(port: int) -> str | None:
    return None if 1 <= port <= 65535 else "must be between 1 and 65535"
