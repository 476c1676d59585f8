"""Validation and compilation of journey definitions, and the time helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from doxie.journeys import definition as d

T = d.Templates(email={"welcome", "tips", "pro"}, other={"sms"})


def problems(journey) -> list[str]:
    compiled, found = d.compile_journey(journey, T)
    assert (compiled is None) == bool(found)
    return found


def test_the_issue_example_compiles_to_a_flat_program_with_labels():
    compiled, found = d.compile_journey({
        "reentry": "always", "key": "{{ email }}",
        "send_window": {"days": ["mon", "tue"], "from": "08:00", "until": "20:00"},
        "steps": [
            {"send": "welcome"}, {"wait": "2d"},
            {"if": "plan == 'pro'", "then": [{"send": "pro"}], "else": [
                {"wait_for": {"clicked": "welcome", "timeout": "3d"},
                 "then": [{"send": "tips"}], "else": [{"exit": "no_click"}]}]},
            {"exit": "done"},
        ]}, T)
    assert found == []
    ops = [(i["op"], i["label"]) for i in compiled.program]
    assert ops == [("send", "1"), ("wait", "2"), ("if", "3"), ("send", "3.then.1"),
                   ("goto", "3.then.end"), ("wait_for", "3.else.1"),
                   ("send", "3.else.1.then.1"), ("goto", "3.else.1.then.end"),
                   ("exit", "3.else.1.else.1"), ("goto", "3.else.end"), ("exit", "4")]
    program = compiled.program
    assert program[1]["seconds"] == 172800
    assert program[2]["then"] == 3 and program[2]["else"] == 5
    assert program[4]["to"] == 10 and program[7]["to"] == 9 and program[9]["to"] == 10
    assert program[5]["then"] == 6 and program[5]["else"] == 8


@pytest.mark.parametrize(("journey", "expected"), [
    ({"steps": [{"send": "nope"}]}, "send: unknown template 'nope'"),
    ({"steps": [{"exit": "x"}, {"send": "welcome"}]}, "unreachable"),
    ({"steps": [{"if": "1", "then": [{"exit": "a"}], "else": [{"exit": "b"}]},
                {"send": "welcome"}]}, "unreachable"),
    ({"steps": [{"wait": "2 weeks"}]}, "invalid duration"),
    ({"steps": [{"wait": "0s"}]}, "invalid duration"),
    ({"steps": [{"if": "plan ==", "then": []}]}, "invalid expression"),
    ({"steps": [{"wait_for": {"clicked": "welcome", "timeout": "1d"}}]}, "not sent earlier"),
    ({"steps": [{"send": "sms"}, {"wait_for": {"opened": "sms", "timeout": "1d"}}]},
     "needs an email template"),
    ({"steps": [{"send": "welcome"}, {"wait_for": {"clicked": "welcome"}}]},
     "invalid timeout"),
    ({"steps": [{"split": {"a": 0}}]}, "positive integer"),
    ({"steps": [{"wait_until": {"time": "25:00"}}]}, "HH:MM"),
    ({"steps": []}, "at least one step"),
    ({"steps": [{"send": "welcome", "wait": "1d"}]}, "exactly one of"),
    ({"reentry": "twice", "steps": [{"send": "welcome"}]}, "reentry must be"),
    ({"reentry": {"cooldown": "7 days"}, "steps": [{"send": "welcome"}]}, "cooldown"),
    ({"send_window": {"days": ["sun"], "from": "20:00", "until": "08:00"},
      "steps": [{"send": "welcome"}]}, "from must be before until"),
    ({"bogus": 1, "steps": [{"send": "welcome"}]}, "unknown key 'bogus'"),
])
def test_invalid_definitions_are_rejected_with_a_reason(journey, expected):
    found = problems(journey)
    assert any(expected in p for p in found), found


def test_all_problems_are_reported_at_once():
    found = problems({"steps": [{"send": "nope"}, {"wait": "x"}, {"if": "(("}]})
    assert len(found) == 3


def test_wait_for_sees_sends_on_its_own_path_only():
    found = problems({"steps": [
        {"if": "plan", "then": [{"send": "pro"}], "else": []},
        {"wait_for": {"clicked": "pro", "timeout": "1d"}}]})
    assert any("not sent earlier" in p for p in found)


def test_window_opening_and_next_time_of_day():
    berlin = ZoneInfo("Europe/Berlin")
    window = {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "until": "20:00"}
    saturday = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # Sat 13:00 in Berlin
    assert d.window_opening(saturday, window, berlin) == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
    monday_noon = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
    assert d.window_opening(monday_noon, window, berlin) is None
    monday_late = datetime(2026, 12, 7, 19, 30, tzinfo=UTC)  # 20:30 Berlin
    assert d.window_opening(monday_late, window, berlin) == datetime(2026, 12, 8, 7, 0,
                                                                     tzinfo=UTC)
    nine = d.parse_clock("09:00")
    assert d.next_time_of_day(monday_noon, nine, berlin) == datetime(2026, 12, 8, 8, 0,
                                                                     tzinfo=UTC)
    assert d.next_time_of_day(monday_noon, nine, ZoneInfo("America/New_York")) == \
        datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
