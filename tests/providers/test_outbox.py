"""Development outbox providers: files on disk instead of deliveries."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from email import message_from_bytes, policy
from pathlib import Path

from doxie.providers.base import EmailMessage, RcsMessage, SmsMessage
from doxie.providers.email.outbox import OutboxProvider
from doxie.providers.sms.outbox import OutboxRcsProvider, OutboxSmsProvider

STAMP = r"\d{8}T\d{6}\.\d{6}Z"


def make_email(message_id: str = "01HXOUTBOX0000000000000001") -> EmailMessage:
    return EmailMessage(
        message_id=message_id,
        sender="news@acme.example",
        to=["jane@example.org"],
        subject="Grüße aus der Outbox",
        text="Hallo!\n",
        html="<p>Hallo!</p>\n",
    )


async def test_email_outbox_writes_an_eml_file(tmp_path: Path, caplog) -> None:
    outbox = tmp_path / "outbox" / "mail"  # created on demand
    provider = OutboxProvider(outbox)
    with caplog.at_level(logging.INFO, logger="doxie.providers.email.outbox"):
        result = await provider.send_email(make_email())
    await provider.aclose()

    [path] = list(outbox.iterdir())  # no temp file left behind
    assert re.fullmatch(rf"{STAMP}-01HXOUTBOX0000000000000001\.eml", path.name)
    assert result.provider_message_id == "01HXOUTBOX0000000000000001"
    assert result.recipient_message_ids == {"jane@example.org": "01HXOUTBOX0000000000000001"}
    assert result.raw == {"path": str(path)}
    assert str(path) in caplog.text

    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["Message-ID"] == "<01HXOUTBOX0000000000000001@acme.example>"
    assert parsed["Subject"] == "Grüße aus der Outbox"
    assert parsed.get_content_type() == "multipart/alternative"


async def test_email_outbox_files_sort_in_sending_order(tmp_path: Path) -> None:
    provider = OutboxProvider(tmp_path)
    ids = [f"m{n}" for n in range(5)]
    for message_id in ids:
        await provider.send_email(make_email(message_id))
    names = sorted(path.name for path in tmp_path.iterdir())
    assert [name.rsplit("-", 1)[1] for name in names] == [f"{i}.eml" for i in ids]


async def test_concurrent_writes_do_not_collide(tmp_path: Path) -> None:
    provider = OutboxProvider(tmp_path)
    await asyncio.gather(*(provider.send_email(make_email(f"c{n}")) for n in range(20)))
    assert len(list(tmp_path.glob("*.eml"))) == 20
    assert not list(tmp_path.glob(".*"))


async def test_unsafe_message_ids_cannot_escape_the_directory(tmp_path: Path) -> None:
    provider = OutboxProvider(tmp_path / "box")
    await provider.send_email(make_email("a/../../b"))
    [path] = list((tmp_path / "box").iterdir())
    assert path.name.endswith("-a_.._.._b.eml")


async def test_sms_outbox_writes_json(tmp_path: Path) -> None:
    provider = OutboxSmsProvider(tmp_path)
    message = SmsMessage(message_id="sms1", sender="Acme", to="+491701234567", text="Hallo €")
    result = await provider.send_sms(message)

    [path] = list(tmp_path.iterdir())
    assert re.fullmatch(rf"{STAMP}-sms1\.json", path.name)
    document = json.loads(path.read_text("utf-8"))
    assert document["channel"] == "sms"
    assert {k: document[k] for k in ("message_id", "sender", "to", "text")} == {
        "message_id": "sms1",
        "sender": "Acme",
        "to": "+491701234567",
        "text": "Hallo €",
    }
    assert result.provider_message_id == "sms1"
    assert result.recipient_message_ids == {"+491701234567": "sms1"}


async def test_rcs_outbox_writes_json(tmp_path: Path) -> None:
    provider = OutboxRcsProvider(tmp_path)
    content = {"text": "Hi", "suggestions": [{"type": "reply", "text": "Stop"}]}
    message = RcsMessage(message_id="rcs1", sender=None, to="+491701234567", content=content)
    result = await provider.send_rcs(message)
    await provider.aclose()

    [path] = list(tmp_path.iterdir())
    document = json.loads(path.read_text("utf-8"))
    assert document["channel"] == "rcs"
    assert document["content"] == content
    assert document["sender"] is None
    assert result.provider_message_id == "rcs1"
