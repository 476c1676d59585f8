"""Secret link placeholders: a message's secret values live only in the copy handed to the
provider.

A secret link (a DOI confirmation link today; survey and unsubscribe links later) confirms or
changes something in the recipient's name, so whoever can read it can act as the recipient.
Stored bodies are read by many: admin users (read-only ones too), the API, ``message_sent``
webhooks and their receivers' logs, database backups. So:

* The caller renders the message with a *placeholder* in place of each secret
  (``{{ confirmation_url }}``, see ``placeholder``): the secret never enters a rendered
  string that is stored, logged or sent to a webhook.
* The secrets themselves go into ``Message.secret_values``: JSON ``{name: value}``, Fernet
  encrypted at rest (``core.crypto``), ``editable=False`` so no admin form or serializer
  shows it, and never part of an API schema or webhook payload.
* The delivery engine fills the placeholders (``fill``) only when it builds the provider's
  message, from the stored row, on every attempt: retries carry a working link, and the
  send stays exactly-once as before (the row is the unit of delivery).
* Pseudonymization and retention blank the column together with the bodies.

Placeholders are only filled in messages that carry secrets, so a Mailer template that
happens to contain the text ``{{ confirmation_url }}`` is sent as written.
"""

from __future__ import annotations

import html as html_lib
import json
from typing import Any

from doxie.core import crypto


def placeholder(name: str) -> str:
    """What stored bodies show instead of the secret ``name``."""
    return "{{ " + name + " }}"


def seal(values: dict[str, str]) -> str:
    """The plaintext for ``Message.secret_values`` (the field encrypts it on save)."""
    return json.dumps(values, sort_keys=True) if values else ""


def unseal(stored: str | None, *, encrypted: bool) -> dict[str, str]:
    """``{name: value}`` from the column; ``encrypted`` when read with raw SQL (the model
    field decrypts by itself)."""
    if not stored:
        return {}
    return json.loads(crypto.decrypt(stored) if encrypted else stored)


def fill(text: str | None, values: dict[str, str], *, html: bool = False) -> str | None:
    """``text`` with every placeholder replaced by its secret (HTML-escaped in HTML)."""
    if not text or not values:
        return text
    for name, value in values.items():
        text = text.replace(placeholder(name), html_lib.escape(value) if html else value)
    return text


def fill_json(value: Any, values: dict[str, str]) -> Any:
    """``fill`` in every string of a JSON value (RCS content)."""
    if not values:
        return value
    if isinstance(value, str):
        return fill(value, values)
    if isinstance(value, list):
        return [fill_json(item, values) for item in value]
    if isinstance(value, dict):
        return {key: fill_json(item, values) for key, item in value.items()}
    return value
