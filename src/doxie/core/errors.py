"""Domain errors: raised anywhere below the API, turned into one envelope by ``doxie.api``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class DomainError(Exception):
    """An expected failure with the HTTP status a client should see."""

    status: int
    message: str
    code: str = "error"
    details: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class NotFound(DomainError):
    def __init__(self, message: str = "Not found") -> None:
        super().__init__(404, message, "not_found")


class Conflict(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__(409, message, "conflict")


class Invalid(DomainError):
    """422 with field-level details; ``Invalid.one("field", "msg")`` for the common case."""

    def __init__(self, details: list[FieldError], message: str = "Validation failed") -> None:
        super().__init__(422, message, "validation_error", details)

    @classmethod
    def one(cls, field_name: str, message: str) -> Invalid:
        return cls([FieldError(field_name, message)], message=f"{field_name}: {message}")


class Unauthorized(DomainError):
    def __init__(self, message: str = "Authentication required", scheme: str = "Basic") -> None:
        realm = 'Basic realm="doxie"' if scheme == "Basic" else 'Bearer realm="doxie"'
        super().__init__(401, message, "unauthorized", headers={"WWW-Authenticate": realm})


class Forbidden(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__(403, message, "forbidden")


class RateLimited(DomainError):
    def __init__(self, retry_after: int, message: str = "Too many requests") -> None:
        super().__init__(
            429, message, "rate_limited", headers={"Retry-After": str(max(1, retry_after))}
        )


class Unavailable(DomainError):
    def __init__(self, message: str = "Service temporarily unavailable", retry_after: int = 5):
        super().__init__(503, message, "unavailable", headers={"Retry-After": str(retry_after)})
