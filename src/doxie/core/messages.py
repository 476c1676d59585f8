"""The admin API's success messages: German as in the contract, English on request."""

from __future__ import annotations

from django.http import HttpRequest

MESSAGES: dict[str, tuple[str, str]] = {
    "created": ("Erfolgreich erstellt", "Successfully created"),
    "updated": ("Erfolgreich bearbeitet", "Successfully updated"),
    "deleted": ("Erfolgreich gelöscht", "Successfully deleted"),
    "api_user_deleted": ("API-Zugang erfolgreich gelöscht", "API access successfully deleted"),
    "tenant_updated": ("Mandant erfolgreich aktualisiert", "Tenant successfully updated"),
    "webhook_created": ("Webhook erfolgreich erstellt", "Webhook successfully created"),
    "webhook_updated": (
        "Webhook endpoint updated successfully",
        "Webhook endpoint updated successfully",
    ),
    "webhook_deleted": (
        "Webhook endpoint deleted successfully",
        "Webhook endpoint deleted successfully",
    ),
}


def wants_english(request: HttpRequest | None) -> bool:
    if request is None:
        return False
    header = request.headers.get("Accept-Language", "")
    first = header.split(",")[0].split(";")[0].strip().lower()
    return first.startswith("en")


def message(key: str, request: HttpRequest | None = None) -> str:
    german, english = MESSAGES[key]
    return english if wants_english(request) else german
