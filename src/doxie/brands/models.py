"""Brands: the sender identity a tenant sends under, its provider credentials and its style.

A brand owns at most one row of each provider table (Rails' ``has_one`` with nested
attributes in the original product), so the provider records are one-to-one tables rather
than columns: a brand that never used SES carries no SES columns, and each record keeps its
own id, which the API returns and clients may send back.

Every table carries the tenant (``TenantOwned``) even where the brand already implies it:
queries stay tenant-scoped without a join and the tenant remains the shard key everywhere.
Secrets use ``EncryptedTextField``: plaintext in Python, Fernet ciphertext in the database.
"""

from __future__ import annotations

import secrets

from django.db import models

from doxie.core.crypto import EncryptedTextField
from doxie.core.models import TenantOwned

DEFAULT_FONT_WEIGHTS = ("400", "700")


def new_inbound_token() -> str:
    """32 random bytes, URL-safe: the only credential of a provider callback URL."""
    return secrets.token_urlsafe(32)


def default_font_weights() -> list[str]:
    return list(DEFAULT_FONT_WEIGHTS)


class MailProvider(models.TextChoices):
    MAILJET = "mailjet", "Mailjet"
    SES = "ses", "Amazon SES"
    SMTP = "smtp", "SMTP"


class Brand(TenantOwned):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64)
    possible_sender_emails = models.JSONField(default=list, blank=True)
    sender_phone_number = models.CharField(max_length=32, null=True, blank=True)
    rcs_possible_senders = models.JSONField(default=list, blank=True)
    pseudonymization_duration_of_sent_messages_in_days = models.PositiveIntegerField(default=30)
    storage_duration_of_sent_messages_in_days = models.PositiveIntegerField(default=90)
    # Null: no email provider chosen yet (development writes to the outbox).
    mail_provider = models.CharField(
        max_length=16, choices=MailProvider.choices, null=True, blank=True
    )
    mailjet_sandbox_mode = models.BooleanField(default=False)
    # "sms77" is seven.io's former name; the contract keeps it.
    sms77_api_key = EncryptedTextField(null=True, blank=True)
    rcs_api_key = EncryptedTextField(null=True, blank=True)
    inbound_token = models.CharField(max_length=64, unique=True, default=new_inbound_token)
    # Per-brand send rate: providers throttle per account, so delivery drains pace by brand.
    messages_per_second = models.PositiveIntegerField(default=50)
    # Set by the SES set-up operation; sends name it so SES reports events for them.
    ses_configuration_set = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="uniq_brand_slug_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class BrandPart(TenantOwned):
    """A one-to-one record of a brand; subclasses name the reverse accessor."""

    class Meta:
        abstract = True


class MailjetApiUser(BrandPart):
    brand = models.OneToOneField(Brand, on_delete=models.CASCADE, related_name="mailjet_api_user")
    public_api_key = models.CharField(max_length=255, null=True, blank=True)
    private_api_key = EncryptedTextField(null=True, blank=True)

    class Meta:
        verbose_name = "Mailjet API user"

    def __str__(self) -> str:
        return f"Mailjet {self.public_api_key or '-'}"


class SesApiUser(BrandPart):
    brand = models.OneToOneField(Brand, on_delete=models.CASCADE, related_name="ses_api_user")
    access_key_id = models.CharField(max_length=128, null=True, blank=True)
    secret_access_key = EncryptedTextField(null=True, blank=True)
    region = models.CharField(max_length=32, null=True, blank=True)

    class Meta:
        verbose_name = "SES API user"

    def __str__(self) -> str:
        return f"SES {self.access_key_id or '-'} ({self.region or '-'})"


class SmtpAuthentication(models.TextChoices):
    PLAIN = "plain", "PLAIN"
    LOGIN = "login", "LOGIN"
    CRAM_MD5 = "cram_md5", "CRAM-MD5"


class OpensslVerifyMode(models.TextChoices):
    NONE = "none", "none (do not verify the certificate)"
    PEER = "peer", "peer (verify the certificate)"


class SmtpConfig(BrandPart):
    """ActionMailer's ``smtp_settings`` names, as the contract uses them."""

    brand = models.OneToOneField(Brand, on_delete=models.CASCADE, related_name="smtp_config")
    address = models.CharField(max_length=253, null=True, blank=True)
    port = models.PositiveIntegerField(default=587)
    user_name = models.CharField(max_length=255, null=True, blank=True)
    password = EncryptedTextField(null=True, blank=True)
    authentication = models.CharField(
        max_length=16, choices=SmtpAuthentication.choices, null=True, blank=True
    )
    enable_starttls_auto = models.BooleanField(default=True)
    enable_ssl = models.BooleanField(default=False)
    openssl_verify_mode = models.CharField(
        max_length=8, choices=OpensslVerifyMode.choices, null=True, blank=True
    )
    domain = models.CharField(max_length=253, null=True, blank=True)
    envelope_from = models.CharField(max_length=254, null=True, blank=True)

    class Meta:
        verbose_name = "SMTP configuration"

    def __str__(self) -> str:
        return f"SMTP {self.address or '-'}:{self.port}"


class Style(BrandPart):
    """Colours and fonts used by email templates and published pages of the brand."""

    brand = models.OneToOneField(Brand, on_delete=models.CASCADE, related_name="style")
    primary_color = models.CharField(max_length=7, null=True, blank=True)
    secondary_color = models.CharField(max_length=7, null=True, blank=True)
    light_accent_color = models.CharField(max_length=7, null=True, blank=True)
    dark_accent_color = models.CharField(max_length=7, null=True, blank=True)
    border_radius = models.CharField(max_length=16, null=True, blank=True)
    font_family = models.CharField(max_length=100, null=True, blank=True)
    fallback_font_family = models.CharField(max_length=100, default="sans-serif")
    pages_font_family = models.CharField(max_length=100, null=True, blank=True)
    pages_font_family_path = models.CharField(max_length=200, null=True, blank=True)
    pages_font_family_weight = models.JSONField(default=default_font_weights, blank=True)
    pages_headline_font_family = models.CharField(max_length=100, null=True, blank=True)
    pages_headline_font_family_path = models.CharField(max_length=200, null=True, blank=True)
    pages_headline_font_family_weight = models.JSONField(
        default=default_font_weights, blank=True
    )

    def __str__(self) -> str:
        return f"Style of brand {self.brand_id}"


#: The brand's one-to-one parts: (reverse accessor, model), in response order.
BRAND_PARTS: tuple[tuple[str, type[BrandPart]], ...] = (
    ("mailjet_api_user", MailjetApiUser),
    ("ses_api_user", SesApiUser),
    ("smtp_config", SmtpConfig),
    ("style", Style),
)
