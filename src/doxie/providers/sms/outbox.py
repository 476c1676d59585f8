"""Development SMS/RCS "providers" writing each message as a JSON file (see the email
outbox for why): the file holds exactly the fields the real adapter would send."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from doxie.providers.base import RcsMessage, SendResult, SmsMessage
from doxie.providers.email.outbox import outbox_path, write_atomically

__all__ = ["OutboxRcsProvider", "OutboxSmsProvider"]

log = logging.getLogger(__name__)


async def _write(directory: Path, channel: str, message: SmsMessage | RcsMessage) -> SendResult:
    document: dict[str, Any] = {
        "channel": channel,
        **dataclasses.asdict(message),
        "written_at": datetime.now(UTC).isoformat(),
    }
    data = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    path = outbox_path(directory, message.message_id, ".json")
    await asyncio.to_thread(write_atomically, path, data)
    # The message id finds the file; the recipient never goes into a log line.
    log.info("outbox: %s %s written to %s", channel, message.message_id, path)
    return SendResult(
        provider_message_id=message.message_id,
        recipient_message_ids={message.to: message.message_id},
        raw={"path": str(path)},
    )


class OutboxSmsProvider:
    """``SmsProvider`` writing ``{timestamp}-{message_id}.json`` files."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    async def send_sms(self, message: SmsMessage) -> SendResult:
        return await _write(self.directory, "sms", message)

    async def aclose(self) -> None:
        """Nothing is held open between sends."""


class OutboxRcsProvider:
    """``RcsProvider`` writing ``{timestamp}-{message_id}.json`` files."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    async def send_rcs(self, message: RcsMessage) -> SendResult:
        return await _write(self.directory, "rcs", message)

    async def aclose(self) -> None:
        """Nothing is held open between sends."""
