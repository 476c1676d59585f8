"""The single retry-or-give-up decision shared by all HTTP provider adapters."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from doxie.providers.base import PermanentError, RetryableError
from doxie.providers.http_errors import error_text, request, response_json, to_provider_error
from tests.fakes.seven import FakeSeven

# Fixtures live in our own module (tests/conftest.py belongs to the lead).


def _response(status: int, **kwargs) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", "https://p.test/x"), **kwargs)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 425])
def test_server_errors_and_transient_4xx_are_retryable(status: int) -> None:
    error = to_provider_error(_response(status, text="busy"), provider="p")
    assert isinstance(error, RetryableError)
    assert error.status == status
    assert error.retry_after is None
    assert "busy" in error.reason


def test_429_honours_retry_after_seconds() -> None:
    error = to_provider_error(
        _response(429, headers={"Retry-After": "12"}, text="slow down"), provider="p"
    )
    assert isinstance(error, RetryableError)
    assert error.retry_after == 12.0
    assert error.status == 429


def test_retry_after_as_http_date_on_503() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    error = to_provider_error(_response(503, headers={"Retry-After": when}), provider="p")
    assert isinstance(error, RetryableError)
    assert error.retry_after is not None and 80 < error.retry_after <= 90


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_other_4xx_are_permanent_with_provider_text(status: int) -> None:
    body = {"ErrorInfo": "", "ErrorMessage": "Object not found", "StatusCode": status}
    error = to_provider_error(_response(status, json=body), provider="mailjet")
    assert isinstance(error, PermanentError)
    assert error.status == status
    assert error.reason == f"mailjet: HTTP {status}: Object not found"


def test_nested_mailjet_errors_are_collected() -> None:
    body = {
        "Messages": [
            {
                "Status": "error",
                "Errors": [
                    {
                        "ErrorMessage": '"x" is an invalid email address.',
                        "ErrorRelatedTo": ["To[0].Email"],
                    },
                    {"ErrorMessage": "Missing mandatory property."},
                ],
            }
        ]
    }
    text = error_text(_response(400, json=body))
    assert text == '"x" is an invalid email address.; Missing mandatory property.'


def test_bare_code_and_long_bodies() -> None:
    assert error_text(_response(401, json=900)) == "900"
    assert error_text(_response(400, text="")) is None
    long = error_text(_response(400, text="x" * 5000))
    assert long is not None and len(long) == 300 and long.endswith("…")


def test_detail_override_wins() -> None:
    error = to_provider_error(_response(400, json={"error": "a"}), provider="p", detail="b")
    assert error.reason == "p: HTTP 400: b"


def test_exceptions_map_by_kind() -> None:
    req = httpx.Request("GET", "https://p.test")
    assert isinstance(
        to_provider_error(httpx.ReadTimeout("t", request=req), provider="p"), RetryableError
    )
    assert isinstance(
        to_provider_error(httpx.ConnectError("c", request=req), provider="p"), RetryableError
    )
    assert isinstance(
        to_provider_error(httpx.RemoteProtocolError("r", request=req), provider="p"), RetryableError
    )
    assert isinstance(
        to_provider_error(httpx.UnsupportedProtocol("u", request=req), provider="p"), PermanentError
    )
    status_error = httpx.HTTPStatusError("e", request=req, response=_response(404))
    assert isinstance(to_provider_error(status_error, provider="p"), PermanentError)


async def test_request_connection_refused_is_retryable() -> None:
    with socket.socket() as sock:  # grab a free port, then close it: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with httpx.AsyncClient() as client:
        with pytest.raises(RetryableError, match="connection failed"):
            await request(client, "GET", f"http://127.0.0.1:{port}/", provider="p")


async def test_request_read_timeout_is_retryable(fake_seven: FakeSeven) -> None:
    fake_seven.slow_next(delay=2.0)
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.3)) as client:
        with pytest.raises(RetryableError, match="timed out"):
            await request(client, "GET", fake_seven.url + "/api/hooks", provider="p")


async def test_request_total_timeout_bounds_the_whole_call(
    fake_seven: FakeSeven,
) -> None:
    fake_seven.slow_next(delay=2.0)
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as client:
        with pytest.raises(RetryableError, match="no complete response within 0.3 s"):
            await request(client, "GET", fake_seven.url + "/x", provider="p", total_timeout=0.3)


async def test_request_returns_2xx_and_raises_otherwise(fake_seven: FakeSeven) -> None:
    headers = {"X-Api-Key": fake_seven.api_key}
    async with httpx.AsyncClient() as client:
        ok = await request(
            client, "GET", fake_seven.url + "/api/hooks", provider="p", headers=headers
        )
        assert response_json(ok, provider="p")["success"] is True
        fake_seven.fail_next(status=502, body={"error": "upstream down"})
        with pytest.raises(RetryableError, match="HTTP 502: upstream down"):
            await request(client, "GET", fake_seven.url + "/api/hooks", provider="p")


async def test_invalid_url_is_permanent() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(PermanentError, match="invalid provider URL"):
            await request(client, "GET", "ftp://example.invalid/x", provider="p")


def test_unreadable_success_body_is_retryable() -> None:
    with pytest.raises(RetryableError, match="unreadable response"):
        response_json(_response(200, text="<html>maintenance</html>"), provider="p")
