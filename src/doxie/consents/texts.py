"""The visible texts of the DOI pages, in one place.

The confirmation page's text is part of the proof: the ledger's ``confirmed`` entry stores
exactly what ``confirm_page_text`` returns, and the page renders the same strings, so the
record and the page cannot drift apart. Bump ``PAGE_VERSION`` whenever a text changes.
"""

from __future__ import annotations

from dataclasses import dataclass

PAGE_VERSION = "doi-page-v1"
BUTTON_LABEL = "Jetzt bestätigen"
CONFIRM_HEADLINE = "Einwilligung bestätigen"


def confirm_body(purpose_name: str) -> str:
    return (
        f"Bitte bestätigen Sie Ihre Einwilligung für „{purpose_name}“. Mit einem Klick auf "
        f"„{BUTTON_LABEL}“ willigen Sie ein. Sie können Ihre Einwilligung jederzeit widerrufen."
    )


def confirm_page_text(brand_name: str, purpose_name: str) -> str:
    """What the person saw when they confirmed (stored in the ledger)."""
    return "\n".join(
        [
            f"[{PAGE_VERSION}]",
            brand_name,
            CONFIRM_HEADLINE,
            confirm_body(purpose_name),
            f"[{BUTTON_LABEL}]",
        ]
    )


@dataclass(frozen=True)
class StatePage:
    status: int
    headline: str
    body: str


THANK_YOU = StatePage(
    200, "Vielen Dank!", "Ihre Einwilligung ist bestätigt. Sie können dieses Fenster schließen."
)
STATE_PAGES: dict[str, StatePage] = {
    "already_confirmed": StatePage(
        200,
        "Bereits bestätigt",
        "Diese Einwilligung wurde bereits bestätigt. Es ist nichts weiter zu tun.",
    ),
    "expired": StatePage(
        410,
        "Link abgelaufen",
        "Dieser Bestätigungslink ist nicht mehr gültig. Bitte fordern Sie eine neue "
        "Bestätigung an.",
    ),
    "revoked": StatePage(
        410,
        "Einwilligung widerrufen",
        "Diese Einwilligung wurde widerrufen. Der Bestätigungslink ist daher nicht mehr gültig.",
    ),
    "unknown": StatePage(
        404,
        "Link unbekannt",
        "Dieser Bestätigungslink ist unbekannt oder wurde durch einen neueren ersetzt. Bitte "
        "verwenden Sie den Link aus der zuletzt erhaltenen Nachricht.",
    ),
    "forbidden": StatePage(
        403,
        "Bestätigung nicht möglich",
        "Die Anfrage konnte nicht überprüft werden. Bitte öffnen Sie den Link erneut und "
        "bestätigen Sie dann. Cookies müssen dafür erlaubt sein.",
    ),
    "method": StatePage(
        405, "Nicht unterstützt", "Bitte öffnen Sie den Link in Ihrem Browser."
    ),
    "error": StatePage(
        503,
        "Vorübergehend nicht verfügbar",
        "Die Bestätigung ist gerade nicht möglich. Bitte versuchen Sie es in einigen Minuten "
        "erneut.",
    ),
}
