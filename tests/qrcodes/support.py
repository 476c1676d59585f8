"""Helpers for the QR tests: a brand, a QR event with settings, codes, webhook endpoints."""

from __future__ import annotations

from django.db import connection
from standardwebhooks.webhooks import Webhook

from doxie.brands import services as brand_services
from doxie.processes.models import Event
from doxie.qrcodes import services
from doxie.qrcodes.models import QrCode, QrEventConfig
from doxie.webhooks import services as webhook_services
from tests.fakes.webhook_receiver import WebhookReceiver

PUBLIC_URL = "https://doxie.example.test"
TARGET = "https://example.com/angebot?utm_source=flyer"
EXPIRED = "https://example.com/abgelaufen"
QR_ENDPOINT = "Webhook::QrCodeScannedEndpoint"
BROWSER_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def delete_jobs() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")
        cursor.execute("DELETE FROM procrastinate_periodic_defers")


def make_brand(tenant, slug: str = "example-brand"):
    return brand_services.create_brand(tenant=tenant, attributes={"name": "Example Energie",
                                                                   "slug": slug})


def make_qr_event(tenant, slug: str = "flyer", *, brand=None, parameters=None, **qr) -> Event:
    brand = brand or make_brand(tenant)
    event = Event.objects.create(
        tenant=tenant, slug=slug, kind="qr", brand=brand,
        parameters=parameters if parameters is not None else [{"name": "campaign",
                                                                "required": True}],
    )
    values = {"target_url": TARGET, "valid_for_days": 30, "dark": "#111111",
              "light": "#ffffff", "error_correction": "m", "border": 4, **qr}
    QrEventConfig.objects.create(tenant=tenant, event=event, **values)
    return event


def make_code(tenant, event_slug: str = "flyer", **payload) -> QrCode:
    return services.create_code(
        tenant=tenant, event_slug=event_slug, payload={"campaign": "summer", **payload}
    )


def make_endpoint(tenant, receiver: WebhookReceiver, *, original: bool = True):
    return webhook_services.create_endpoint(
        tenant=tenant, type=QR_ENDPOINT, url=receiver.url("/qr"),
        send_original_payload=original,
    )



def received(receiver: WebhookReceiver, secret: str) -> list[dict]:
    """``qr_code_scanned`` bodies the receiver got, each verified with standardwebhooks."""
    return [
        Webhook(secret).verify(hit.body, hit.headers)
        for hit in receiver.hits()
        if hit.header("doxie-event") == "qr_code_scanned"
    ]
