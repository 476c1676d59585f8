"""Schemas of the survey endpoints in the served OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema

from doxie.core.pagination import PaginationOut
from doxie.core.schemas import admin_envelope


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
