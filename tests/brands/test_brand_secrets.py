"""Secrets at rest and in transit: encrypted columns, never in responses or logs, and key
rotation with ``doxie rotate_encryption_keys``."""

from __future__ import annotations

import io
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from doxie.brands.models import Brand, MailjetApiUser, SesApiUser, SmtpConfig
from doxie.core import crypto
from tests.brands.payloads import BASE, SECRETS, make_brand, seed_body

# (table, column, secret)
COLUMNS = [
    ("brands_brand", "sms77_api_key", SECRETS["sms77_api_key"]),
    ("brands_brand", "rcs_api_key", SECRETS["rcs_api_key"]),
    ("brands_mailjetapiuser", "private_api_key", SECRETS["private_api_key"]),
    ("brands_sesapiuser", "secret_access_key", SECRETS["secret_access_key"]),
    ("brands_smtpconfig", "password", SECRETS["password"]),
]


def _raw(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{table}"')  # noqa: S608 - fixed names
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_secrets_are_stored_encrypted(api, admin):
    assert api.post(BASE, seed_body(), caller=admin).status_code == 201
    for table, column, secret in COLUMNS:
        [stored] = _raw(table, column)
        assert stored.startswith(crypto.ENCRYPTED_PREFIX), (table, column)
        assert secret not in stored
        assert crypto.decrypt(stored) == secret
    # Non-secret columns stay readable (the encryption is targeted, not blanket).
    assert _raw("brands_mailjetapiuser", "public_api_key") == ["mj-public"]


@pytest.mark.django_db
def test_secrets_never_appear_in_responses_or_logs(api, admin, tenant, caplog, fake_mailjet,
                                                   fake_seven):
    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []

    def record(response):
        bodies.append(response.content.decode())
        return response

    created = record(api.post(BASE, seed_body(), caller=admin)).json()["data"]
    brand_id = created["id"]
    record(api.get(BASE, caller=admin))
    record(api.get(f"{BASE}/{brand_id}", caller=admin))
    record(api.patch(f"{BASE}/{brand_id}", {"brand": {"name": "Renamed"}}, caller=admin))
    record(api.put(f"{BASE}/{brand_id}", {"brand": {"sms77_api_key": "********"}},
                   caller=admin))
    # Validation errors must not echo submitted secrets either.
    record(api.patch(
        f"{BASE}/{brand_id}",
        {"brand": {"smtp_config_attributes": {"password": SECRETS["password"], "port": 0}}},
        caller=admin,
    ))
    for path in ("mailjet_webhooks", "rcs_webhook", "sms_webhook"):
        record(api.get(f"{BASE}/{brand_id}/{path}", caller=admin))
        record(api.post(f"{BASE}/{brand_id}/{path}", caller=admin))
    record(api.post(f"{BASE}/{brand_id}/smtp_test", caller=admin))
    record(api.delete(f"{BASE}/{brand_id}", caller=admin))

    everything = "\n".join(bodies) + "\n" + caplog.text
    for secret in SECRETS.values():
        assert secret not in everything, secret
    assert "********" in everything
    assert fake_mailjet.requests  # the provider calls really ran (and were logged by httpx)


@pytest.mark.django_db
def test_rotate_encryption_keys(tenant, settings):
    old_key = settings.DOXIE_ENCRYPTION_KEYS[0]
    brand = make_brand(tenant)
    before = {(t, c): _raw(t, c)[0] for t, c, _ in COLUMNS}

    new_key = Fernet.generate_key().decode()
    settings.DOXIE_ENCRYPTION_KEYS = [new_key, old_key]
    crypto._fernet.cache_clear()
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    report = out.getvalue()
    assert "brands.Brand.sms77_api_key: 1 re-encrypted" in report
    assert "brands.SmtpConfig.password: 1 re-encrypted" in report
    assert "Total: 5 values re-encrypted" in report

    # Only the new key is left: everything must still decrypt.
    settings.DOXIE_ENCRYPTION_KEYS = [new_key]
    crypto._fernet.cache_clear()
    for table, column, secret in COLUMNS:
        stored = _raw(table, column)[0]
        assert stored != before[(table, column)]
        assert crypto.decrypt(stored) == secret
    brand = Brand.objects.get(id=brand.id)
    assert brand.sms77_api_key == SECRETS["sms77_api_key"]
    assert MailjetApiUser.objects.get(brand=brand).private_api_key == SECRETS["private_api_key"]
    assert SesApiUser.objects.get(brand=brand).secret_access_key == SECRETS["secret_access_key"]
    assert SmtpConfig.objects.get(brand=brand).password == SECRETS["password"]
    crypto._fernet.cache_clear()


@pytest.mark.django_db
def test_rotation_reports_undecryptable_values(tenant, settings):
    make_brand(tenant)
    # Keys that cannot read the stored values: nothing is changed, the command fails loudly.
    settings.DOXIE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    crypto._fernet.cache_clear()
    before = _raw("brands_brand", "sms77_api_key")
    err = io.StringIO()
    with pytest.raises(Exception, match="could not be decrypted"):
        call_command("rotate_encryption_keys", stdout=io.StringIO(), stderr=err)
    assert "undecryptable" in err.getvalue()
    assert _raw("brands_brand", "sms77_api_key") == before
    crypto._fernet.cache_clear()


@pytest.mark.django_db
def test_rotation_in_small_batches_covers_every_row(tenant, settings):
    for i in range(5):
        make_brand(tenant, slug=f"brand-{i}")
    old_key = settings.DOXIE_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.DOXIE_ENCRYPTION_KEYS = [new_key, old_key]
    crypto._fernet.cache_clear()
    out = io.StringIO()
    call_command("rotate_encryption_keys", "--batch-size", "2", stdout=out)
    assert "brands.Brand.rcs_api_key: 5 re-encrypted" in out.getvalue()
    settings.DOXIE_ENCRYPTION_KEYS = [new_key]
    crypto._fernet.cache_clear()
    assert sorted(b.rcs_api_key for b in Brand.objects.all()) == [SECRETS["rcs_api_key"]] * 5
    crypto._fernet.cache_clear()
