"""Schemas of the injector (P4) and the journey statistics."""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema

from doxie.core.schemas import admin_envelope


class InjectorOut(Schema):
    """P4's response, exactly as the seed: ``data`` is null."""

    success: bool = Field(examples=[True])
    error_message: str | None = Field(examples=[None])
    process_uuid: str = Field(examples=["9a5d8c73-fcb4-4a8a-9fd2-fbabb3c99838"])
    data: None = None


class JourneyStatsOut(Schema):
    event_slug: str = Field(examples=["onboarding"])
    version: int | None = Field(examples=[2], description="The current definition version")
    steps: list[dict[str, Any]] = Field(
        description="The definition as a tree: each step with `step` (its label, e.g. "
        "`3.else.1`), `kind`, `value`, nested `then`/`else`/`branches` and `waiting` (active "
        "runs waiting in it)")
    waiting: dict[str, int] = Field(description="Active runs per step label they wait in "
                                    "(`due`: about to be advanced)")
    runs: dict[str, int] = Field(examples=[{"active": 3, "finished": 10, "exited": 2,
                                            "cancelled": 1}])


JourneyStatsEnvelope = admin_envelope(JourneyStatsOut, "JourneyStatsEnvelope")
