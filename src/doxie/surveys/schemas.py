"""Schemas of the survey endpoints in the served OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field

from doxie.core.pagination import PaginationOut
from doxie.core.schemas import admin_envelope


class InquiryIn(Schema):
    """``email`` and/or ``phone``; any further keys are the free payload (template
    variables, required event parameters)."""

    model_config = ConfigDict(extra="allow")

    email: str | None = Field(None, examples=["max@example.com"])
    phone: str | None = Field(None, description="E.164 with leading +", examples=["+491771234567"])


class InquiryOut(Schema):
    success: bool
    error_message: str | None
    process_uuid: str | None
    data: None = None


class ResponseOut(Schema):
    inquiry_id: str
    process_uuid: str
    answers: dict[str, Any]
    completed_at: datetime


class ResponseList(Schema):
    responses: list[ResponseOut]
    pagination: PaginationOut


class QuestionSummary(Schema):
    name: str
    type: str
    title: str
    answered: int
    counts: dict[str, Any] | None = None
    mean: float | None = None
    nps: float | None = None
    mean_place: dict[str, float | None] | None = None


class SurveySummary(Schema):
    responses: int
    questions: list[QuestionSummary]


ResponseListEnvelope = admin_envelope(ResponseList, "SurveyResponseListEnvelope")
SummaryEnvelope = admin_envelope(SurveySummary, "SurveySummaryEnvelope")
