"""Development "provider" that delivers into a directory instead of the internet.

Lets the whole send path (rendering, MIME, tracking ids, task retries) run on a laptop or
in CI without credentials; the ``.eml`` files open in any mail client. Files are written
to a temporary name and renamed, so a watcher never sees half a message.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from doxie.providers.base import EmailMessage, SendResult
from doxie.providers.email.mime import render_mime

__all__ = ["OutboxProvider", "outbox_path", "write_atomically"]

log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def outbox_path(directory: Path, message_id: str, suffix: str) -> Path:
    """``{directory}/{utc timestamp}-{message_id}{suffix}``; sorts chronologically."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return directory / f"{stamp}-{_UNSAFE.sub('_', message_id)}{suffix}"


def write_atomically(path: Path, data: bytes) -> Path:
    """Write via a temp file in the same directory + rename (atomic on POSIX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class OutboxProvider:
    """``EmailProvider`` writing each message as an RFC 5322 ``.eml`` file."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    async def send_email(self, message: EmailMessage) -> SendResult:
        data = render_mime(message)
        path = outbox_path(self.directory, message.message_id, ".eml")
        await asyncio.to_thread(write_atomically, path, data)
        log.info("outbox: email %s written to %s", message.message_id, path)  # no recipient
        return SendResult(
            provider_message_id=message.message_id,
            recipient_message_ids={rcpt: message.message_id for rcpt in message.to},
            raw={"path": str(path)},
        )

    async def aclose(self) -> None:
        """Nothing is held open between sends."""
