"""Standard Webhooks signatures and ids.

Receivers verify with any Standard Webhooks library (the tests use the public
``standardwebhooks`` package), so the format here must match the spec exactly:
``v1,<base64 HMAC-SHA256(secret, f"{id}.{timestamp}.{body}")>``, the secret being the
base64-decoded part after ``whsec_``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time

SECRET_PREFIX = "whsec_"
EVENT_ID_PREFIX = "msg_"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_KSUID_EPOCH = 1_400_000_000


def generate_secret() -> str:
    """A new signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_bytes(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for."""
    raw = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    return base64.b64decode(raw + "=" * (-len(raw) % 4))


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<signature>`` entry for the ``webhook-signature`` header."""
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def signature_header(keys: list[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated signatures, one per valid key (current first, then a rotated-out one)."""
    return " ".join(sign(key, msg_id, timestamp, body) for key in keys)


def new_event_id() -> str:
    """``msg_`` + a KSUID-like id: time-sortable (seconds) and 128 random bits.

    Sortable ids make the log and receivers' dedup tables friendlier than bare UUIDs.
    """
    stamp = (int(time.time()) - _KSUID_EPOCH).to_bytes(4, "big")
    number = int.from_bytes(stamp + os.urandom(16), "big")
    chars = []
    while number:
        number, rest = divmod(number, 62)
        chars.append(_BASE62[rest])
    return EVENT_ID_PREFIX + "".join(reversed(chars)).rjust(27, "0")
