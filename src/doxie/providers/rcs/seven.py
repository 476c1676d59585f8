"""seven.io RCS adapter (``POST /api/rcs/messages``).

RCS answers use the same envelope and status codes as SMS (see
:mod:`doxie.providers.sms.seven`), so parsing and error mapping are shared rather than copied.
"""

from __future__ import annotations

from typing import Any

from doxie.providers.base import PermanentError, RcsMessage, SendResult
from doxie.providers.sms.seven import PROVIDER, SevenClient, SevenSettings, post_message

__all__ = ["SevenRcsProvider", "SevenSettings"]

# Set by us from the message itself; content must not be able to redirect a send.
_RESERVED = frozenset({"to", "from", "foreign_id"})


class SevenRcsProvider(SevenClient):
    """``RcsProvider`` backed by seven.io. The sender is the RCS agent registered at seven."""

    async def send_rcs(self, message: RcsMessage) -> SendResult:
        """Send ``message.content`` (``text`` plus optional rich fields) to one recipient.

        ``foreign_id`` carries our id so ``rcs`` hook events map back to our message.
        """
        text = message.content.get("text")
        if not message.to or not text:
            raise PermanentError(f"{PROVIDER}: RCS message needs a recipient and content.text")
        payload: dict[str, Any] = {
            key: value for key, value in message.content.items() if key not in _RESERVED
        }
        payload.update({"to": message.to, "foreign_id": message.message_id})
        if message.sender:
            payload["from"] = message.sender
        return await post_message(
            self._client,
            self.settings,
            "/api/rcs/messages",
            payload,
            recipient=message.to,
            total_timeout=self._total_timeout,
        )
