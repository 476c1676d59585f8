"""A local seven.io gateway: ``/api/sms``, ``/api/rcs/messages`` and ``/api/hooks``.

Speaks seven.io's wire format: ``X-Api-Key`` auth, JSON or form bodies, the send envelope
``{"success": "100", "total_price", "balance", "debug", "sms_type", "messages": [...]}`` with
string status codes, and the hooks API (``{"success": true, "hooks": [...]}``, subscribe /
unsubscribe via ``action``; ``DELETE /api/hooks?id=N`` is accepted too).

Like the real gateway it answers business errors (bad recipient/sender, wrong key) with HTTP 200
and a status code; requests that are structurally broken (bad JSON, missing ``to``/``text``,
bad ``foreign_id``) get a loud HTTP 400 so adapter bugs cannot pass unnoticed.
Switches: :meth:`FakeSeven.answer_next_with` forces status codes (e.g. ``"500"`` no credit),
``auth_failure_status=401`` makes a wrong key an HTTP 401 instead of a bare ``900``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from .http_server import FakeHTTPServer, FakeRequest, FakeResponse, json_response

HOOK_EVENT_TYPES = frozenset(
    {
        "all",
        "dlr",
        "sms_mo",
        "rcs",
        "rcs_dlr",
        "rcs_mo",
        "tracking",
        "voice_status",
        "voice_call",
        "voice_dtmf",
    }
)
_ERROR_TEXTS = {
    "201": "Invalid sender",
    "202": "Invalid recipient",
    "401": "Text too long",
    "500": "Insufficient credit",
    "600": "Carrier delivery failed",
    "700": "Unknown error",
    "900": "Authentication failed",
    "902": "Access denied",
}
_FOREIGN_ID = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_SENDER = re.compile(r"^(?:[A-Za-z0-9 .-]{1,11}|\+?\d{1,16})$")


class FakeSeven(FakeHTTPServer):
    def __init__(self, api_key: str = "seven-test-key", *, auth_failure_status: int = 200) -> None:
        super().__init__()
        self.api_key = api_key
        self.auth_failure_status = auth_failure_status
        self.sms: list[dict[str, Any]] = []
        self.rcs: list[dict[str, Any]] = []
        self.hooks: dict[str, dict[str, Any]] = {}
        self._forced_codes: list[str] = []
        self._message_ids = itertools.count(77229135982)
        self._hook_ids = itertools.count(410)

    # -- test helpers -----------------------------------------------------------------------
    def answer_next_with(self, code: str, n: int = 1) -> None:
        """The next ``n`` SMS/RCS sends answer status ``code`` (HTTP 200) and send nothing."""
        with self._lock:
            self._forced_codes.extend([code] * n)

    def add_hook(self, target_url: str, event_type: str, request_method: str = "POST") -> str:
        """Seed a hook as if the customer had created it in seven's web app."""
        with self._lock:
            return self._new_hook(target_url, event_type, request_method)

    # -- dispatch ---------------------------------------------------------------------------
    def handle(self, request: FakeRequest) -> FakeResponse:
        if request.header("x-api-key") != self.api_key:
            return json_response(self.auth_failure_status, 900)
        params, error = _params(request)
        if error:
            return error
        if request.path == "/api/sms" and request.method == "POST":
            return self._send(params, self.sms, channel="SMS", max_len=1520)
        if request.path == "/api/rcs/messages" and request.method == "POST":
            return self._send(params, self.rcs, channel="RCS", max_len=3072)
        if request.path == "/api/hooks":
            return self._hooks(request.method, params)
        return _loud(404, f"no such endpoint: {request.method} {request.path}")

    # -- sending ----------------------------------------------------------------------------
    def _send(
        self, params: dict[str, Any], store: list[dict[str, Any]], *, channel: str, max_len: int
    ) -> FakeResponse:
        to, text, sender = params.get("to"), params.get("text"), params.get("from")
        if not isinstance(to, str) or not to.strip():
            return _loud(400, "parameter 'to' is missing", code="301")
        if text in (None, "") or isinstance(text, list | bool):
            return _loud(400, "parameter 'text' is missing", code="305")
        foreign_id = params.get("foreign_id")
        if foreign_id is not None and not _FOREIGN_ID.match(str(foreign_id)):
            return _loud(400, "foreign_id: max 64 of [A-Za-z0-9._@-]")
        text_str = text if isinstance(text, str) else json.dumps(text)
        if self._forced_codes:
            return self._envelope(self._forced_codes.pop(0), to, text_str, sender, channel)
        recipient = to.replace(" ", "").lstrip("+")
        if recipient.startswith("00"):
            recipient = recipient[2:]
        if not recipient.isdigit() or not 8 <= len(recipient) <= 16:
            return self._envelope("202", recipient, text_str, sender, channel)
        if channel == "SMS" and sender is not None and not _SENDER.match(str(sender)):
            return self._envelope("201", recipient, text_str, sender, channel)
        if len(text_str) > max_len:
            return self._envelope("401", recipient, text_str, sender, channel)
        message_id = str(next(self._message_ids))
        store.append({**params, "id": message_id, "recipient": recipient, "channel": channel})
        return self._envelope("100", recipient, text_str, sender, channel, message_id)

    def _envelope(
        self,
        code: str,
        recipient: str,
        text: str,
        sender: Any,
        channel: str,
        message_id: str | None = None,
    ) -> FakeResponse:
        ok = code == "100"
        message = {
            "id": message_id,
            "sender": sender or "seven",
            "recipient": recipient,
            "text": text,
            "encoding": "gsm",
            "label": None,
            "parts": 1 if ok else 0,
            "udh": None,
            "is_binary": False,
            "price": 0.075 if ok else 0,
            "success": ok,
            "error": None if ok else code,
            "error_text": None if ok else _ERROR_TEXTS.get(code, "Error"),
        }
        if channel == "RCS":
            message["channel"] = "RCS"
        return json_response(
            200,
            {
                "success": code,
                "total_price": 0.075 if ok else 0,
                "balance": 42.5,
                "debug": "false",
                "sms_type": "direct",
                "messages": [message],
            },
        )

    # -- hooks ------------------------------------------------------------------------------
    def _hooks(self, method: str, params: dict[str, Any]) -> FakeResponse:
        action = params.get("action")
        if method == "GET" and action in (None, "read"):
            return json_response(
                200, {"success": True, "code": None, "hooks": list(self.hooks.values())}
            )
        if method == "DELETE" or (method == "POST" and action == "unsubscribe"):
            hook_id = str(params.get("id", ""))
            if not hook_id.isdigit():
                return _loud(400, "parameter 'id' is missing or not numeric")
            removed = self.hooks.pop(hook_id, None)
            return json_response(200, {"success": removed is not None})
        if method == "POST" and action in (None, "subscribe"):
            target, event = params.get("target_url"), params.get("event_type")
            request_method = params.get("request_method", "POST")
            if not isinstance(target, str) or not target.startswith(("http://", "https://")):
                return _loud(400, "target_url must be an absolute http(s) URL")
            if event not in HOOK_EVENT_TYPES:
                return _loud(400, f"invalid event_type {event!r}")
            if request_method not in ("POST", "GET", "JSON"):
                return _loud(400, f"invalid request_method {request_method!r}")
            if any(
                h["target_url"] == target and h["event_type"] == event for h in self.hooks.values()
            ):
                return json_response(200, {"success": False, "id": None})  # duplicate
            return json_response(
                200, {"success": True, "id": int(self._new_hook(target, event, request_method))}
            )
        return _loud(400, f"unsupported hooks call: {method} action={action!r}")

    def _new_hook(self, target_url: str, event_type: str, request_method: str) -> str:
        hook_id = str(next(self._hook_ids))
        self.hooks[hook_id] = {
            "id": hook_id,
            "target_url": target_url,
            "event_type": event_type,
            "event_filter": None,
            "request_method": request_method,
            "enabled": True,
            "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        }
        return hook_id


def _params(request: FakeRequest) -> tuple[dict[str, Any], FakeResponse | None]:
    """Query string merged with a JSON or form body, as seven.io accepts either."""
    params: dict[str, Any] = dict(request.query)
    if not request.body:
        return params, None
    if request.is_json:
        try:
            body = request.json()
        except ValueError:
            return params, _loud(400, "malformed JSON body")
        if not isinstance(body, dict):
            return params, _loud(400, "JSON body must be an object")
        params.update(body)
    else:
        params.update(request.form())
    return params, None


def _loud(status: int, error: str, *, code: str | None = None) -> FakeResponse:
    return json_response(status, {"success": code or False, "error": error})


def fake_seven_fixture(
    *, scope: str = "function", api_key: str = "seven-test-key", auth_failure_status: int = 200
) -> Callable[..., Any]:
    """Build a pytest fixture yielding a started :class:`FakeSeven`, e.g. in a conftest:
    ``fake_seven = fake_seven_fixture()``."""

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def _fake_seven() -> Iterator[FakeSeven]:
        fake = FakeSeven(api_key, auth_failure_status=auth_failure_status)
        fake.start()
        try:
            yield fake
        finally:
            fake.stop()

    return _fake_seven
