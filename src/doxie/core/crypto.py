"""Secrets at rest: a model field that stores Fernet tokens and hands out plaintext.

Keys come from ``DOXIE_ENCRYPTION_KEYS`` (newest first). MultiFernet decrypts with any of
them and encrypts with the first, so rotation is: prepend a key, run
``doxie rotate_encryption_keys``, later drop the old key.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

MASK = "********"
ENCRYPTED_PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.DOXIE_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return ENCRYPTED_PREFIX + fernet().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(ENCRYPTED_PREFIX):
        raise ValueError("value is not encrypted")
    try:
        return fernet().decrypt(stored[len(ENCRYPTED_PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ValueError("secret cannot be decrypted with the configured keys") from exc


def rotate(stored: str) -> str:
    """Re-encrypt under the newest key (no-op in meaning, new ciphertext)."""
    return ENCRYPTED_PREFIX + fernet().rotate(stored[len(ENCRYPTED_PREFIX) :].encode()).decode()


def mask(value: str | None) -> str | None:
    """What responses show for a secret: the mask when one is stored, else null."""
    return MASK if value else None


class EncryptedTextField(models.TextField):
    """Plaintext in Python, Fernet ciphertext in the database; ``None`` stays NULL."""

    description = "Text encrypted at rest"

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return decrypt(value)


def keep_or_replace(current: str | None, incoming: str | None, *, given: bool) -> str | None:
    """Update rule for secrets: omitted or the mask keeps the stored value; null clears it."""
    if not given or incoming == MASK:
        return current
    return incoming
