"""A local Mailjet: Send API v3.1 and the REST v3 ``eventcallbackurl`` resource.

Speaks Mailjet's documented wire format (field names, ``{"Count","Data","Total"}`` envelopes,
v3.1 ``Messages[*].Status/Errors/To`` results, HTTP basic auth with public:private keys) and is
deliberately strict: malformed requests get a 400 with a Mailjet-style error body instead of
being accepted, so adapter bugs show up as test failures, not as silently "sent" mail.

Inspect ``fake.sent`` (accepted messages, each with ``SandboxMode``) and ``fake.callbacks``
(ID -> callback record); seed customer hooks with :meth:`FakeMailjet.add_callback`.
"""

from __future__ import annotations

import base64
import itertools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .http_server import FakeHTTPServer, FakeRequest, FakeResponse, json_response

EVENT_TYPES = ("sent", "open", "click", "bounce", "spam", "blocked", "unsub")
CALLBACK_PATH = "/v3/REST/eventcallbackurl"
_AUTH_FAILURE = (
    "API key authentication/authorization failure. You may be unauthorized to access the API "
    "or your API key may be expired. Visit API keys management section to check your keys."
)


class FakeMailjet(FakeHTTPServer):
    def __init__(self, public_key: str = "pub-test", private_key: str = "priv-test") -> None:
        super().__init__()
        self.public_key = public_key
        self.private_key = private_key
        self.sent: list[dict[str, Any]] = []
        self.callbacks: dict[int, dict[str, Any]] = {}
        self.invalid_addresses: set[str] = set()  # addresses Mailjet would call invalid
        self._message_ids = itertools.count(288230376151711744)
        self._callback_ids = itertools.count(1001)

    # -- test helpers -----------------------------------------------------------------------
    def add_callback(
        self, event_type: str, url: str, *, version: int = 1, status: str = "alive"
    ) -> dict[str, Any]:
        """Seed a callback as if the customer had created it in Mailjet's dashboard."""
        with self._lock:
            record = self._new_callback(
                {"EventType": event_type, "Url": url, "Version": version, "Status": status}
            )
        return record

    def callbacks_by_type(self) -> dict[str, str]:
        return {cb["EventType"]: cb["Url"] for cb in self.callbacks.values()}

    # -- dispatch ---------------------------------------------------------------------------
    def handle(self, request: FakeRequest) -> FakeResponse:
        if not self._authorised(request.header("authorization")):
            return json_response(
                401,
                {
                    "ErrorIdentifier": str(uuid.uuid4()),
                    "StatusCode": 401,
                    "ErrorMessage": _AUTH_FAILURE,
                },
                **{"WWW-Authenticate": 'Basic realm="Provide an apiKey and secretKey"'},
            )
        if request.path == "/v3.1/send" and request.method == "POST":
            return self._send(request)
        if request.path == CALLBACK_PATH:
            if request.method == "GET":
                return self._list(request)
            if request.method == "POST":
                return self._create(request)
        if request.path.startswith(CALLBACK_PATH + "/"):
            return self._one(request, request.path.rsplit("/", 1)[1])
        return _rest_error(404, "Not found")

    def _authorised(self, header: str | None) -> bool:
        if not header or not header.lower().startswith("basic "):
            return False
        try:
            decoded = base64.b64decode(header.split(" ", 1)[1]).decode()
        except ValueError:
            return False
        return decoded == f"{self.public_key}:{self.private_key}"

    # -- Send API v3.1 ----------------------------------------------------------------------
    def _send(self, request: FakeRequest) -> FakeResponse:
        try:
            body = request.json()
        except ValueError:
            return _send_global_error("mj-0002", "Malformed JSON, please review the syntax.")
        messages = body.get("Messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not messages or len(messages) > 50:
            return _send_global_error("mj-0001", "Messages must be a list of 1 to 50 messages.")
        sandbox = body.get("SandboxMode", False)
        if not isinstance(sandbox, bool):
            return _send_global_error("mj-0001", "SandboxMode must be a boolean.")
        results = [self._validate(m) for m in messages]
        if any(errors for errors in results):
            return json_response(
                400,
                {
                    "Messages": [
                        {"Status": "error", "Errors": errors} if errors else {"Status": "success"}
                        for errors in results
                    ]
                },
            )
        out = []
        for message in messages:
            self.sent.append({**message, "SandboxMode": sandbox})
            out.append(
                {
                    "Status": "success",
                    **({"CustomID": message["CustomID"]} if "CustomID" in message else {}),
                    "To": [self._recipient(r) for r in message["To"]],
                    "Cc": [self._recipient(r) for r in message.get("Cc", [])],
                    "Bcc": [self._recipient(r) for r in message.get("Bcc", [])],
                }
            )
        return json_response(200, {"Messages": out})

    def _recipient(self, recipient: dict[str, Any]) -> dict[str, Any]:
        message_id = next(self._message_ids)
        return {
            "Email": recipient["Email"].lower(),  # Mailjet answers with normalised addresses
            "MessageUUID": str(uuid.uuid4()),
            "MessageID": message_id,
            "MessageHref": f"{self.url}/v3/REST/message/{message_id}",
        }

    def _validate(self, message: Any) -> list[dict[str, Any]]:
        if not isinstance(message, dict):
            return [_field_error("mj-0003", "Message must be an object.", "")]
        errors = list(_missing(message, "From", "To", "Subject"))
        sender = message.get("From")
        if "From" in message and not (isinstance(sender, dict) and sender.get("Email")):
            errors.append(_field_error("mj-0003", "Missing mandatory property.", "From.Email"))
        elif isinstance(sender, dict):
            errors += self._addresses([sender], "From")
        recipients = message.get("To")
        if "To" in message and not (isinstance(recipients, list) and recipients):
            errors.append(_field_error("mj-0003", "To must contain recipients.", "To"))
        elif isinstance(recipients, list):
            errors += self._addresses(recipients, "To")
        if "ReplyTo" in message:
            errors += self._addresses([message["ReplyTo"]], "ReplyTo")
        if not (message.get("TextPart") or message.get("HTMLPart") or message.get("TemplateID")):
            errors.append(
                _field_error(
                    "mj-0003", "At least TextPart, HTMLPart or TemplateID is required.", "TextPart"
                )
            )
        headers = message.get("Headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            errors.append(_field_error("mj-0004", "Headers must map names to strings.", "Headers"))
        custom_id = message.get("CustomID")
        if custom_id is not None and (not isinstance(custom_id, str) or len(custom_id) > 64):
            errors.append(_field_error("mj-0004", "CustomID must be a string.", "CustomID"))
        return errors

    def _addresses(self, items: list[Any], where: str) -> Iterator[dict[str, Any]]:
        for i, item in enumerate(items):
            email = item.get("Email") if isinstance(item, dict) else None
            path = f"{where}[{i}].Email" if where != "From" else "From.Email"
            if not isinstance(email, str) or "@" not in email or email in self.invalid_addresses:
                yield _field_error("mj-0013", f'"{email}" is an invalid email address.', path)

    # -- REST v3 eventcallbackurl -----------------------------------------------------------
    def _list(self, request: FakeRequest) -> FakeResponse:
        try:
            limit = int(request.query.get("Limit", "10"))
            offset = int(request.query.get("Offset", "0"))
        except ValueError:
            return _rest_error(400, "Limit and Offset must be integers")
        rows = sorted(self.callbacks.values(), key=lambda cb: cb["ID"])
        page = rows[offset : offset + limit] if limit > 0 else rows[offset:]
        return _envelope(200, page, total=len(rows))

    def _create(self, request: FakeRequest) -> FakeResponse:
        body, error = _json_object(request)
        if error:
            return error
        if body.get("EventType") not in EVENT_TYPES:
            return _rest_error(400, f'Invalid value "{body.get("EventType")}" for EventType')
        problem = _check_fields(body)
        if problem:
            return _rest_error(400, problem)
        is_backup = bool(body.get("IsBackup", False))
        for existing in self.callbacks.values():
            if existing["EventType"] == body["EventType"] and existing["IsBackup"] == is_backup:
                return _rest_error(
                    400,
                    f'MJ18 A EventCallbackUrl resource with value "{body["EventType"]}" '
                    "for EventType already exists.",
                )
        return _envelope(201, [self._new_callback(body)])

    def _one(self, request: FakeRequest, raw_id: str) -> FakeResponse:
        record = self.callbacks.get(int(raw_id)) if raw_id.isdigit() else None
        if record is None:
            return _rest_error(404, "Object not found")
        if request.method == "GET":
            return _envelope(200, [record])
        if request.method == "DELETE":
            del self.callbacks[record["ID"]]
            return FakeResponse(204)
        if request.method == "PUT":
            body, error = _json_object(request)
            if error:
                return error
            unknown = set(body) - {"Url", "Status", "Version", "IsBackup", "EventType"}
            if unknown:
                return _rest_error(400, f"Unknown or read-only properties: {sorted(unknown)}")
            if "EventType" in body and body["EventType"] not in EVENT_TYPES:
                return _rest_error(400, f'Invalid value "{body["EventType"]}" for EventType')
            problem = _check_fields({**record, **body})
            if problem:
                return _rest_error(400, problem)
            record.update(body)
            return _envelope(200, [record])
        return _rest_error(405, "Method not allowed")

    def _new_callback(self, body: dict[str, Any]) -> dict[str, Any]:
        record = {
            "APIKeyID": 1,
            "EventType": body["EventType"],
            "ID": next(self._callback_ids),
            "IsBackup": bool(body.get("IsBackup", False)),
            "Status": body.get("Status", "alive"),
            "Url": body["Url"],
            "Version": body.get("Version", 1),
        }
        self.callbacks[record["ID"]] = record
        return record


def _check_fields(body: dict[str, Any]) -> str | None:
    url = body.get("Url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return "Url must be an absolute http(s) URL"
    if body.get("Version", 1) not in (1, 2):
        return "Version must be 1 or 2"
    if body.get("Status", "alive") not in ("alive", "dead"):
        return "Status must be alive or dead"
    return None


def _json_object(request: FakeRequest) -> tuple[dict[str, Any], FakeResponse | None]:
    try:
        body = request.json()
    except ValueError:
        return {}, _rest_error(400, "Malformed JSON")
    if not isinstance(body, dict):
        return {}, _rest_error(400, "Body must be a JSON object")
    return body, None


def _missing(message: dict[str, Any], *names: str) -> Iterator[dict[str, Any]]:
    for name in names:
        if name not in message:
            yield _field_error("mj-0003", "Missing mandatory property.", name)


def _field_error(code: str, text: str, related: str) -> dict[str, Any]:
    return {
        "ErrorIdentifier": str(uuid.uuid4()),
        "ErrorCode": code,
        "StatusCode": 400,
        "ErrorMessage": text,
        "ErrorRelatedTo": [related] if related else [],
    }


def _send_global_error(code: str, text: str) -> FakeResponse:
    return json_response(
        400,
        {
            "ErrorIdentifier": str(uuid.uuid4()),
            "ErrorCode": code,
            "StatusCode": 400,
            "ErrorMessage": text,
        },
    )


def _rest_error(status: int, text: str) -> FakeResponse:
    return json_response(status, {"ErrorInfo": "", "ErrorMessage": text, "StatusCode": status})


def _envelope(status: int, rows: list[dict[str, Any]], total: int | None = None) -> FakeResponse:
    return json_response(
        status, {"Count": len(rows), "Data": rows, "Total": len(rows) if total is None else total}
    )


def fake_mailjet_fixture(
    *, scope: str = "function", public_key: str = "pub-test", private_key: str = "priv-test"
) -> Callable[..., Any]:
    """Build a pytest fixture yielding a started :class:`FakeMailjet`, e.g. in a conftest:
    ``fake_mailjet = fake_mailjet_fixture()``."""

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def _fake_mailjet() -> Iterator[FakeMailjet]:
        fake = FakeMailjet(public_key, private_key)
        fake.start()
        try:
            yield fake
        finally:
            fake.stop()

    return _fake_mailjet
