"""The one ISO time formatter and the one ``Retry-After`` parser of ``core``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from doxie.core.retry_after import parse_retry_after
from doxie.core.timefmt import isoformat_z

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_isoformat_z_is_utc_with_z() -> None:
    assert isoformat_z(NOW) == "2024-01-02T03:04:05Z"
    assert isoformat_z(NOW.replace(microsecond=123456)) == "2024-01-02T03:04:05.123456Z"
    berlin = NOW.astimezone(timezone(timedelta(hours=1)))
    assert isoformat_z(berlin) == "2024-01-02T03:04:05Z"
    assert isoformat_z(NOW.replace(tzinfo=None)) == "2024-01-02T03:04:05Z"  # naive = UTC


def test_isoformat_z_microseconds_matches_the_ledgers_historic_format() -> None:
    """The ledger hashes this text: it must stay byte-identical to the old strftime."""
    for moment in (NOW, NOW.replace(microsecond=7), NOW.replace(microsecond=999999)):
        assert isoformat_z(moment, timespec="microseconds") == moment.strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        )


@pytest.mark.parametrize(("header", "seconds"), [
    ("12", 12.0), (" 7 ", 7.0), ("0", 0.0), ("1.5", 1.5),
    ("Tue, 02 Jan 2024 03:05:35 GMT", 90.0),
    ("Tue, 02 Jan 2024 03:05:35 -0000", 90.0),  # zone-less HTTP date: GMT
    ("Tue, 02 Jan 2024 03:05:35 +0100", 0.0),  # an hour ago: now
    ("Mon, 01 Jan 2024 00:00:00 GMT", 0.0),
])
def test_retry_after_seconds_and_http_dates(header: str, seconds: float) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize("header", [None, "", "  ", "-3", "inf", "nan", "soon", "Mon, 99 Foo"])
def test_unreadable_retry_after_is_no_hint(header: str | None) -> None:
    assert parse_retry_after(header, now=NOW) is None


def test_retry_after_defaults_to_the_current_time() -> None:
    assert parse_retry_after("Mon, 01 Jan 2024 00:00:00 GMT") == 0.0
