"""Secrets at rest: ciphertext in the table, plaintext in Python, rotation keeps them readable."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from doxie.core import crypto


def test_roundtrip_and_mask():
    token = crypto.encrypt("s3cret")
    assert "s3cret" not in token and token.startswith(crypto.ENCRYPTED_PREFIX)
    assert crypto.decrypt(token) == "s3cret"
    assert crypto.mask("x") == "********" and crypto.mask(None) is None and crypto.mask("") is None


def test_rotation(settings):
    old_token = crypto.encrypt("s3cret")
    new_key = Fernet.generate_key().decode()
    settings.DOXIE_ENCRYPTION_KEYS = [new_key, *settings.DOXIE_ENCRYPTION_KEYS]
    rotated = crypto.rotate(old_token)
    assert crypto.decrypt(old_token) == "s3cret"  # the old key still decrypts
    settings.DOXIE_ENCRYPTION_KEYS = [new_key]
    assert crypto.decrypt(rotated) == "s3cret"  # the rotated value needs only the new key
    with pytest.raises(ValueError):
        crypto.decrypt(old_token)


def test_keep_or_replace_rules():
    assert crypto.keep_or_replace("old", "********", given=True) == "old"
    assert crypto.keep_or_replace("old", None, given=True) is None
    assert crypto.keep_or_replace("old", "new", given=True) == "new"
    assert crypto.keep_or_replace("old", "whatever", given=False) == "old"
