from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict, Field

from doxie.core.pagination import PaginationOut


class ApiUserOut(Schema):
    id: int
    username: str
    created_at: datetime
    updated_at: datetime


class ApiUserList(Schema):
    api_users: list[ApiUserOut]
    pagination: PaginationOut


class ApiUserFields(Schema):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(..., examples=["api-client"])
    password: str = Field(..., examples=["TestPassword12!"])
    password_confirmation: str = Field(..., examples=["TestPassword12!"])


class ApiUserCreate(Schema):
    api_user: ApiUserFields

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "api_user": {
                        "username": "api-client",
                        "password": "TestPassword12!",
                        "password_confirmation": "TestPassword12!",
                    }
                }
            ]
        }
    )


class TenantOut(Schema):
    slug: str
    activated_at: datetime | None
    webhook_interaction_storage_duration_in_days: int
    created_at: datetime
    updated_at: datetime


class TenantParams(Schema):
    model_config = ConfigDict(extra="forbid")
    webhook_interaction_storage_duration_in_days: int | None = Field(
        None, ge=1, le=3650, examples=[14]
    )


class TenantUpdate(Schema):
    tenant_params: TenantParams

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"tenant_params": {"webhook_interaction_storage_duration_in_days": 14}}]
        }
    )
