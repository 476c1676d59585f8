"""Surveys: the definition of a survey event, single-use inquiries, responses and the
aggregates the summary is read from.

* ``Survey`` is one per event of kind ``survey`` (the event's ``survey:`` YAML section).
* ``Inquiry`` is one invitation: its link is a random token of which only the SHA-256 is
  stored (``token_hash``; a reminder adds a second link, ``reminder_token_hash``). It keeps
  the partial answers of earlier pages, so a respondent can come back.
* ``SurveyResponse`` is written once, by the valid final POST.
* ``AnswerCount`` rows are counters incremented in that same transaction (one upsert), so
  the summary never scans responses.
"""

from __future__ import annotations

import uuid

from django.db import models

from doxie.core.models import TenantOwned


class Survey(TenantOwned):
    event = models.OneToOneField(
        "processes.Event", on_delete=models.CASCADE, related_name="survey"
    )
    definition = models.JSONField()
    valid_for_days = models.PositiveIntegerField(default=14)
    reminder_after_days = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"survey of {self.event_id}"


class InquiryState(models.TextChoices):
    SENT = "sent"
    OPENED = "opened"
    FINISHED = "finished"
    CANCELLED = "cancelled"


OPEN_STATES = (InquiryState.SENT, InquiryState.OPENED)


class Inquiry(TenantOwned):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="inquiries")
    process = models.ForeignKey(
        "processes.Process", on_delete=models.CASCADE, related_name="inquiries"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    reminder_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    email = models.CharField(max_length=320, blank=True, default="")
    phone = models.CharField(max_length=100, blank=True, default="")
    state = models.CharField(max_length=16, choices=InquiryState.choices,
                             default=InquiryState.SENT)
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    reminder_due_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    pseudonymized_at = models.DateTimeField(null=True, blank=True)
    #: Answers of the pages passed so far ({name: value}); the final answers once finished.
    answers = models.JSONField(default=dict, blank=True)
    #: The furthest page reached (0-based).
    page = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "inquiries"
        indexes = [
            models.Index(fields=["reminder_due_at"], name="surveys_inq_reminder_idx",
                         condition=models.Q(reminded_at__isnull=True,
                                            reminder_due_at__isnull=False)),
            models.Index(fields=["survey", "created_at"], name="surveys_inq_survey_idx"),
        ]

    def __str__(self) -> str:
        return str(self.uuid)


class SurveyResponse(TenantOwned):
    inquiry = models.OneToOneField(Inquiry, on_delete=models.CASCADE, related_name="response")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    answers = models.JSONField()
    completed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["survey", "completed_at"], name="surveys_resp_idx")]

    def __str__(self) -> str:
        return f"response to {self.inquiry_id}"


class AnswerCount(models.Model):
    """One counter of the summary: ``question`` "" counts responses; ``option`` "" counts
    answers to the question; other options count a choice (``value``), a matrix cell
    (``row=column``) or a ranking place (``choice@place``)."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="counts")
    question = models.CharField(max_length=100, blank=True)
    option = models.CharField(max_length=300, blank=True)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "question", "option"],
                                    name="uniq_survey_answer_count")
        ]
