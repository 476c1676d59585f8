"""Survey use cases: P5 (invite), opening and answering the page, the reminder, P7's
canceller and retention.

P5 is one transaction: the process, the inquiry (only the token's hash), the invitation
messages through messaging's Mailer pipeline (same rendering, suppression and consent
gates) and their drainer. The valid final POST is one transaction too: the response, the
inquiry finished, the process finished, the summary counters (one upsert) and the
``survey_response`` webhook.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from doxie.core.errors import Conflict, FieldError, Invalid
from doxie.messaging import rendering as messaging_rendering
from doxie.messaging import services as messaging_services
from doxie.processes import selectors as process_selectors
from doxie.processes import services as process_services
from doxie.processes.models import Event, EventKind, Process, ProcessKind
from doxie.surveys import answers as answer_rules
from doxie.surveys import definition as d
from doxie.surveys.models import (
    OPEN_STATES,
    Inquiry,
    InquiryState,
    Survey,
    SurveyResponse,
)
from doxie.tenants.models import Tenant
from doxie.webhooks.events import SurveyResponse as SurveyResponseEvent
from doxie.webhooks.services import emit

# --- tokens ------------------------------------------------------------------------------------


def new_token() -> str:
    """128 bits: unguessable, and short enough for an SMS."""
    return secrets.token_urlsafe(16)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def survey_url(token: str) -> str:
    return f"{settings.DOXIE_PUBLIC_URL}/s/{token}"


# --- P5 ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InviteResult:
    inquiry: Inquiry
    process: Process
    results: dict[str, list[dict[str, Any]]]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _contact(payload: dict[str, Any]) -> tuple[str, str]:
    email, phone = payload.get("email"), payload.get("phone")
    errors = []
    for key, value in (("email", email), ("phone", phone)):
        if value is not None and not isinstance(value, str):
            errors.append(FieldError(key, "must be a string"))
    if errors:
        raise Invalid(errors)
    email, phone = (email or "").strip(), (phone or "").strip()
    if not email and not phone:
        message = "email or phone is required"
        raise Invalid([FieldError("email", message), FieldError("phone", message)],
                      message=f"Validation failed: {message}")
    try:
        email = messaging_rendering.normalize_email(email) if email else ""
    except messaging_rendering.InvalidRecipient as exc:
        raise Invalid.one("email", str(exc)) from None
    try:
        phone = messaging_rendering.normalize_phone(phone) if phone else ""
    except messaging_rendering.InvalidRecipient as exc:
        raise Invalid.one("phone", str(exc)) from None
    return email, phone


def survey_for_event(event: Event) -> Survey:
    survey = Survey.objects.filter(event=event).first()
    if event.kind != EventKind.SURVEY or survey is None:
        raise Invalid.one("event_slug", f"event '{event.slug}' is not a survey event")
    return survey


@transaction.atomic
def invite(*, tenant: Tenant, event_slug: str, payload: dict[str, Any]) -> InviteResult:
    """P5: a process, a single-use inquiry and its invitation through the event's
    templates, with ``{{ survey_url }}`` in their context."""
    email, phone = _contact(payload)
    event = process_selectors.get_event(tenant, event_slug)
    survey = survey_for_event(event)
    missing = [name for name in event.required_parameters if _blank(payload.get(name))]
    if missing:
        raise Invalid([FieldError(name, "is required") for name in missing],
                      message=f"Missing required parameters: {', '.join(missing)}")
    original = {**payload, **({"email": email} if email else {}),
                **({"phone": phone} if phone else {})}
    token = new_token()
    now = timezone.now()
    planned = messaging_services.plan_event_messages(
        tenant=tenant, event=event, context=_context(original), track_links=False,
        secrets={"survey_url": survey_url(token)},
    )
    process = process_services.create_process(
        tenant=tenant, kind=ProcessKind.SURVEY, event=event, original_payload=original
    )
    inquiry = Inquiry.objects.create(
        tenant=tenant, survey=survey, process=process, token_hash=hash_token(token),
        email=email, phone=phone, expires_at=now + timedelta(days=survey.valid_for_days),
        reminder_due_at=(now + timedelta(days=survey.reminder_after_days)
                         if survey.reminder_after_days else None),
    )
    messaging_services.queue_event_messages(
        tenant=tenant, event=event, process=process, planned=planned
    )
    return InviteResult(inquiry, process, planned.results())


def _context(payload: dict[str, Any]) -> dict[str, Any]:
    """The templates' variables; ``survey_url`` is added by messaging as a placeholder
    (the link itself reaches only the provider's copy)."""
    return {"email": "", "phone": "", **payload}


# --- the page ---------------------------------------------------------------------------------


class PageState:
    READY = "ready"
    COMPLETED = "completed"  # finished by this request
    FINISHED = "finished"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


def state_of(inquiry: Inquiry | None, now: datetime | None = None) -> str:
    if inquiry is None:
        return PageState.UNKNOWN
    if inquiry.state == InquiryState.FINISHED:
        return PageState.FINISHED
    if inquiry.state == InquiryState.CANCELLED:
        return PageState.CANCELLED
    if inquiry.expires_at <= (now or timezone.now()):
        return PageState.EXPIRED
    return PageState.READY


def mark_opened(inquiry: Inquiry) -> None:
    """The first GET: recorded once (a conditional UPDATE, no lock)."""
    if inquiry.opened_at is not None:
        return
    now = timezone.now()
    Inquiry.objects.filter(pk=inquiry.pk, opened_at__isnull=True).update(
        opened_at=now, state=InquiryState.OPENED, updated_at=now
    )
    inquiry.opened_at = now


@dataclass
class Submission:
    """The outcome of a POST: the page to show next (with errors and the answers shown),
    or ``state`` finished/expired/... when there is no page to show."""

    state: str
    inquiry: Inquiry | None
    page: int = 0
    errors: dict[str, str] | None = None
    #: The posted form, re-shown with the errors (never stored).
    form: Any = None


@transaction.atomic
def submit(*, token: str, page: int, action: str, form: Any) -> Submission:
    """One POST of the page: validate the page, keep its answers, move on; the final page
    finishes the inquiry. The inquiry row is locked, so two tabs cannot both finish it."""
    inquiry = (
        Inquiry.objects.select_for_update(of=("self",))
        .select_related("survey__event__brand__style", "process", "tenant")
        .filter(token_hash=hash_token(token)).first()
        or Inquiry.objects.select_for_update(of=("self",))
        .select_related("survey__event__brand__style", "process", "tenant")
        .filter(reminder_token_hash=hash_token(token)).first()
    )
    state = state_of(inquiry)
    if state != PageState.READY:
        return Submission(state, inquiry)
    assert inquiry is not None
    survey = d.load(inquiry.survey.definition)
    last = len(survey.pages) - 1
    page = min(max(page, 0), min(inquiry.page, last))
    stored = dict(inquiry.answers)
    if action == "back":
        return Submission(PageState.READY, inquiry, page=_step(survey, page, -1, stored))
    values, errors = answer_rules.read_page(survey, page, answer_rules.Form(form), stored)
    merged = answer_rules.merge(stored, survey, page, values)
    if errors:
        return Submission(PageState.READY, inquiry, page=page, errors=errors, form=form)
    following = _step(survey, page, +1, merged)
    if following != page:
        inquiry.answers, inquiry.page = merged, max(inquiry.page, following)
        inquiry.save(update_fields=["answers", "page", "updated_at"])
        return Submission(PageState.READY, inquiry, page=following)
    kept, missing = answer_rules.final(survey, merged)
    if missing is not None:
        inquiry.answers = merged
        inquiry.save(update_fields=["answers", "updated_at"])
        return Submission(PageState.READY, inquiry, page=missing,
                          errors={"": "Bitte beantworten Sie die Pflichtfragen dieser Seite."})
    _finish(inquiry, survey, kept)
    return Submission(PageState.COMPLETED, inquiry)


def _step(survey: d.SurveyDefinition, page: int, direction: int, answers: dict[str, Any]) -> int:
    """The next (or previous) page that has a visible element; ``page`` when none."""
    index = page + direction
    while 0 <= index < len(survey.pages):
        if any(d.visible(e, answers) for e in survey.pages[index].elements):
            return index
        index += direction
    return page


_UPSERT = """
INSERT INTO surveys_answercount (survey_id, question, option, count)
VALUES {rows}
ON CONFLICT (survey_id, question, option) DO UPDATE SET count = surveys_answercount.count + 1
"""


def _finish(inquiry: Inquiry, survey: d.SurveyDefinition, kept: dict[str, Any]) -> None:
    now = timezone.now()
    inquiry.answers, inquiry.state, inquiry.finished_at = kept, InquiryState.FINISHED, now
    inquiry.save(update_fields=["answers", "state", "finished_at", "updated_at"])
    SurveyResponse.objects.create(
        tenant_id=inquiry.tenant_id, inquiry=inquiry, survey_id=inquiry.survey_id,
        answers=kept, completed_at=now,
    )
    # Sorted, so concurrent submissions lock the counter rows in one order (no deadlock).
    rows = sorted(set(answer_rules.counters(survey, kept)))
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT.format(rows=", ".join(["(%s, %s, %s, 1)"] * len(rows))),
            [v for q, o in rows for v in (inquiry.survey_id, q, o)],
        )
    process_services.finish_process(process=inquiry.process, at=now)
    emit(tenant=inquiry.tenant, event=SurveyResponseEvent(
        process_id=str(inquiry.process.uuid), inquiry_id=str(inquiry.uuid),
        original_tenant_slug=inquiry.tenant.slug,
        original_event_slug=inquiry.survey.event.slug,
        answers=kept, completed_at=now, original_payload=inquiry.process.original_payload,
    ))


# --- reminders ---------------------------------------------------------------------------------


REMINDER_BATCH = 200


def send_due_reminders(*, now: datetime | None = None, limit: int = REMINDER_BATCH) -> int:
    """One reminder per unfinished, uncancelled, unexpired inquiry whose reminder is due.

    Rows are claimed ``FOR UPDATE SKIP LOCKED`` and marked ``reminded_at`` in the
    transaction that queues the reminder, so two workers never remind twice and a crash
    leaves the reminder due. The reminder carries a second link (the first one's token is
    not stored), which opens the same inquiry."""
    now = now or timezone.now()
    sent = 0
    while True:
        with transaction.atomic():
            due = list(
                Inquiry.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("survey__event__brand", "process", "tenant")
                .filter(reminder_due_at__lte=now, reminded_at__isnull=True,
                        state__in=OPEN_STATES, expires_at__gt=now)
                .order_by("reminder_due_at")[:limit]
            )
            for inquiry in due:
                _remind(inquiry, now)
            sent += len(due)
        if len(due) < limit:
            return sent


def _remind(inquiry: Inquiry, now: datetime) -> None:
    token = new_token()
    inquiry.reminder_token_hash, inquiry.reminded_at = hash_token(token), now
    inquiry.save(update_fields=["reminder_token_hash", "reminded_at", "updated_at"])
    event, tenant = inquiry.survey.event, inquiry.tenant
    planned = messaging_services.plan_event_messages(
        tenant=tenant, event=event, track_links=False,
        context=_context(dict(inquiry.process.original_payload or {})),
        secrets={"survey_url": survey_url(token)},
    )
    messaging_services.queue_event_messages(
        tenant=tenant, event=event, process=inquiry.process, planned=planned
    )


# --- P7 -----------------------------------------------------------------------------------------


def cancel_survey_process(*, process: Process, at: datetime) -> dict[str, int]:
    """P7 for a survey process: the link stops working (410) and unsent invitations and
    reminders are cancelled; an answered survey has nothing left to cancel (409)."""
    inquiries = list(Inquiry.objects.select_for_update().filter(process=process))
    if inquiries and all(i.state == InquiryState.FINISHED for i in inquiries):
        raise Conflict("The survey is already answered; nothing is left to cancel")
    open_ids = [i.id for i in inquiries if i.state in OPEN_STATES]
    Inquiry.objects.filter(id__in=open_ids).update(
        state=InquiryState.CANCELLED, cancelled_at=at, updated_at=at
    )
    return {
        "messages": messaging_services.cancel_process_messages(process=process, at=at),
        "inquiries": len(open_ids),
    }


# --- retention ----------------------------------------------------------------------------------


def apply_retention(*, now: datetime | None = None) -> dict[str, int]:
    """Per brand: respondent addresses pseudonymized after the brand's pseudonymization
    period, inquiries (with their responses) deleted after its storage period. Counters
    stay (they hold no personal data)."""
    from doxie.brands.models import Brand
    from doxie.messaging.privacy import pseudonym

    now = now or timezone.now()
    done = {"pseudonymized": 0, "deleted": 0}
    brands = Brand.objects.filter(events__survey__isnull=False).distinct()
    for brand in brands:
        scope = Inquiry.objects.filter(survey__event__brand=brand)
        old = now - timedelta(days=brand.storage_duration_of_sent_messages_in_days)
        _, per_model = scope.filter(created_at__lt=old).delete()
        done["deleted"] += per_model.get(Inquiry._meta.label, 0)
        cutoff = now - timedelta(days=brand.pseudonymization_duration_of_sent_messages_in_days)
        with transaction.atomic():
            rows = list(scope.select_for_update().filter(
                created_at__lt=cutoff, pseudonymized_at__isnull=True
            ).only("id", "email", "phone"))
            for row in rows:
                row.email = pseudonym(row.email) if row.email else ""
                row.phone = pseudonym(row.phone) if row.phone else ""
                row.pseudonymized_at = now
            Inquiry.objects.bulk_update(rows, ["email", "phone", "pseudonymized_at"])
            done["pseudonymized"] += len(rows)
    return done
