"""Provider callbacks (``/hooks/{provider}/{token}``): authenticate, parse, hand over.

The brand's ``inbound_token`` in the path is the credential: providers cannot send our
API credentials, but they call exactly the URL we registered with them. An unknown token is
a 404 (indistinguishable from a path that does not exist), anything but POST a 405, a body
that is not JSON a 400. SNS posts JSON with ``Content-Type: text/plain``, so the body is
parsed whatever the declared type.

Each provider has one ``handle_*`` function handing the parsed body to its module
(``doxie.inbound.mailjet`` / ``ses`` / ``seven``), which applies statuses, suppressions,
RCS replies and SNS subscription confirmations. A handler refuses a callback by raising
``Rejected(status, message)`` (400 wrong shape, 403 forged SNS message, 503 AWS unreachable);
well-formed callbacks about messages we do not know are acknowledged with 200, because a
provider retrying them would never succeed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from doxie.brands.models import Brand
from doxie.brands.selectors import brand_for_inbound_token
from doxie.core.request_decoding import MalformedInput, decoded_json
from doxie.inbound import mailjet as mailjet_events
from doxie.inbound import ses as ses_events
from doxie.inbound import seven as seven_events
from doxie.inbound.services import Rejected

log = logging.getLogger("doxie.inbound")

#: Mailjet batches events (payload version 2); leave generous room above the API's limit.
MAX_BODY = 5 * 1024 * 1024

Handler = Callable[[Brand, Any], None]


def handle_mailjet(brand: Brand, payload: Any) -> None:
    """Mailjet event callback (a list of events with payload version 2, else one event):
    message statuses, suppressions (see :mod:`doxie.inbound.mailjet`)."""
    mailjet_events.handle(brand, payload)


def handle_ses(brand: Brand, payload: Any) -> None:
    """SNS notification carrying an SES event, or an SNS subscription confirmation:
    signature verified, subscription confirmed, statuses applied (:mod:`doxie.inbound.ses`)."""
    ses_events.handle(brand, payload)


def handle_seven(brand: Brand, payload: Any) -> None:
    """seven.io hook call: SMS delivery report (``dlr``) or RCS event / reply (``rcs``)
    (see :mod:`doxie.inbound.seven`)."""
    seven_events.handle(brand, payload)


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"received": False, "error": message}, status=status)


def _receive(request: HttpRequest, token: str, handler: Handler) -> HttpResponse:
    if request.method != "POST":
        response = _error(405, "Method not allowed")
        response["Allow"] = "POST"
        return response
    brand = brand_for_inbound_token(token)
    if brand is None:
        return _error(404, "Not found")
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return _error(400, "Invalid Content-Length header")
    if declared > MAX_BODY:
        return _error(413, f"Request body exceeds {MAX_BODY} bytes")
    body = request.body
    if len(body) > MAX_BODY:
        return _error(413, f"Request body exceeds {MAX_BODY} bytes")
    try:
        payload = decoded_json(request)
    except MalformedInput:
        return _error(400, "Malformed JSON body")
    try:
        handler(brand, payload)
    except Rejected as exc:
        log.info("inbound %s callback for brand %s refused: %s", handler.__name__, brand.pk,
                 exc.message)
        response = _error(exc.status, exc.message)
        if exc.status == 503:
            response["Retry-After"] = "60"
        return response
    log.info("inbound %s callback for brand %s accepted", handler.__name__, brand.pk)
    return JsonResponse({"received": True})


@csrf_exempt
def mailjet(request: HttpRequest, token: str) -> HttpResponse:
    return _receive(request, token, handle_mailjet)


@csrf_exempt
def ses(request: HttpRequest, token: str) -> HttpResponse:
    return _receive(request, token, handle_ses)


@csrf_exempt
def seven(request: HttpRequest, token: str) -> HttpResponse:
    return _receive(request, token, handle_seven)
