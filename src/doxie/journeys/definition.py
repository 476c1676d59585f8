"""A journey definition: validation and compilation into a flat program.

The YAML tree (``send``, ``wait``, ``wait_until``, ``if``/``then``/``else``, ``wait_for``,
``split``, ``exit``) compiles into a list of instructions addressed by index (``pc``) with
forward jumps only, so a run's whole position is one integer, no step is visited twice (the
(run, step) key of a send is unique for ever) and a run can never loop. Every instruction
carries its ``label`` (``"3"``, ``"3.else.1"``: 1-based positions in the tree) for the path a
run shows and the per-step counts.

``compile_journey`` reports every problem it finds (unknown templates, unreachable steps,
invalid durations and expressions) instead of stopping at the first, for apply_config's
all-or-nothing rule.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from doxie.messaging.rendering import condition_error, syntax_error

DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION = 366 * 86400
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
WAIT_FOR_EVENTS = {
    # what satisfies it: a later status implies the earlier ones
    "delivered": ("delivered", "opened", "clicked"),
    "opened": ("opened", "clicked"),
    "clicked": ("clicked",),
    "bounced": ("bounced",),
}
EMAIL_ONLY = {"opened", "clicked"}
JOURNEY_KEYS = {"reentry", "key", "send_window", "steps"}
STEP_KINDS = ("send", "wait", "wait_until", "if", "wait_for", "split", "exit")


def parse_duration(value: Any) -> int | None:
    """Seconds of ``"30s" | "5m" | "2h" | "7d"`` (None when invalid or out of range)."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        match = DURATION.match(str(value)) if isinstance(value, str) else None
        if match is None:
            return None
        seconds = int(match.group(1)) * UNITS[match.group(2)]
    return seconds if 0 < seconds <= MAX_DURATION else None


def parse_clock(value: Any) -> time | None:
    match = CLOCK.match(value) if isinstance(value, str) else None
    return time(int(match.group(1)), int(match.group(2))) if match else None


def zone(name: Any, fallback: str) -> ZoneInfo:
    """The named zone, else ``fallback`` (a payload's unknown `time_zone` is not fatal)."""
    for candidate in (name, fallback, "UTC"):
        if isinstance(candidate, str) and candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


# --- time helpers (the engine's) --------------------------------------------------------------


def next_time_of_day(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    """The next moment after ``now`` when the clock in ``tz`` shows ``at``."""
    local = now.astimezone(tz)
    candidate = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate = (local + timedelta(days=1)).replace(
            hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return candidate.astimezone(ZoneInfo("UTC"))


def window_opening(now: datetime, window: dict[str, Any], tz: ZoneInfo) -> datetime | None:
    """None when ``now`` is inside the send window, else when it next opens."""
    start, end = parse_clock(window["from"]), parse_clock(window["until"])
    days = {DAYS.index(d) for d in window["days"]}
    local = now.astimezone(tz)
    assert start is not None and end is not None
    if local.weekday() in days and start <= local.time() < end:
        return None
    for ahead in range(0, 8):
        day = (local + timedelta(days=ahead)).date()
        if day.weekday() not in days:
            continue
        opening = datetime.combine(day, start, tzinfo=tz)
        if opening > local:
            return opening.astimezone(ZoneInfo("UTC"))
    return None  # unreachable: a valid window has at least one day


# --- validation and compilation ---------------------------------------------------------------


@dataclass
class Templates:
    """The event's templates by name, per channel (from the same document or the DB)."""

    email: set[str] = field(default_factory=set)
    other: set[str] = field(default_factory=set)

    def has(self, name: str) -> bool:
        return name in self.email or name in self.other


@dataclass
class Compiled:
    definition: dict[str, Any]
    program: list[dict[str, Any]]
    digest: str


class _Compiler:
    def __init__(self, templates: Templates) -> None:
        self.templates = templates
        self.program: list[dict[str, Any]] = []
        self.problems: list[str] = []

    def block(self, steps: Any, where: str, prefix: str, sent: set[str]) -> bool:
        """Emit ``steps``; True when the block always ends the run (an exit on every path)."""
        if not isinstance(steps, list):
            self.problems.append(f"{where}: must be a list of steps")
            return False
        ends = False
        for i, step in enumerate(steps, start=1):
            label = f"{prefix}{i}"
            if ends:
                self.problems.append(f"{where}[{i}]: unreachable (every path before it exits)")
                break
            ends = self.step(step, f"{where}[{i}]", label, sent)
        return ends

    def emit(self, instruction: dict[str, Any]) -> int:
        self.program.append(instruction)
        return len(self.program) - 1

    def branches(self, step: dict[str, Any], names: list[str], where: str, label: str,
                 sent: set[str], head: int) -> tuple[bool, dict[str, int]]:
        """Emit each branch after the head instruction; returns (all end, {name: pc})."""
        starts: dict[str, int] = {}
        jumps: list[int] = []
        ends_all = True
        for name in names:
            starts[name] = len(self.program)
            branch_sent = set(sent)
            ends = self.block(step.get(name) or [], f"{where}.{name}", f"{label}.{name}.",
                              branch_sent)
            ends_all = ends_all and ends
            if not ends:
                jumps.append(self.emit({"op": "goto", "label": f"{label}.{name}.end"}))
        after = len(self.program)
        for pc in jumps:
            self.program[pc]["to"] = after
        del head
        return ends_all, starts

    def step(self, step: Any, where: str, label: str, sent: set[str]) -> bool:
        if not isinstance(step, dict):
            self.problems.append(f"{where}: must be a mapping")
            return False
        kinds = [k for k in STEP_KINDS if k in step]
        if len(kinds) != 1:
            self.problems.append(
                f"{where}: needs exactly one of {', '.join(STEP_KINDS)}")
            return False
        kind = kinds[0]
        allowed = {kind, *({"then", "else"} if kind in ("if", "wait_for") else set())}
        if kind == "split" and isinstance(step["split"], dict):
            allowed |= set(step["split"])
        unknown = [k for k in step if k not in allowed]
        if unknown:
            self.problems.append(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
        value = step[kind]
        if kind == "send":
            if not isinstance(value, str) or not self.templates.has(value):
                self.problems.append(f"{where}: send: unknown template {value!r}")
            else:
                sent.add(value)
            self.emit({"op": "send", "template": value, "label": label})
            return False
        if kind == "wait":
            seconds = parse_duration(value)
            if seconds is None:
                self.problems.append(f"{where}: wait: invalid duration {value!r} "
                                     "(a number with s, m, h or d, up to 366d)")
            self.emit({"op": "wait", "seconds": seconds or 0, "label": label})
            return False
        if kind == "wait_until":
            at = parse_clock(value.get("time")) if isinstance(value, dict) else None
            if at is None:
                self.problems.append(f"{where}: wait_until: needs {{time: \"HH:MM\"}}")
            self.emit({"op": "wait_until", "time": value.get("time") if at else "00:00",
                       "label": label})
            return False
        if kind == "exit":
            reason = value if isinstance(value, str) and value else "exit"
            self.emit({"op": "exit", "reason": reason[:100], "label": label})
            return True
        if kind == "if":
            if (error := condition_error(value)) is not None:
                self.problems.append(f"{where}: if: {error}")
            head = self.emit({"op": "if", "expr": value if isinstance(value, str) else "",
                              "label": label})
            ends, starts = self.branches(step, ["then", "else"], where, label, sent, head)
            self.program[head].update(then=starts["then"], **{"else": starts["else"]})
            return ends
        if kind == "wait_for":
            return self.wait_for(step, value, where, label, sent)
        return self.split(step, value, where, label, sent)

    def wait_for(self, step: dict, value: Any, where: str, label: str, sent: set[str]) -> bool:
        event = template = None
        timeout = None
        if not isinstance(value, dict):
            self.problems.append(f"{where}: wait_for: must be a mapping")
        else:
            named = [k for k in value if k in WAIT_FOR_EVENTS]
            extra = [k for k in value if k not in WAIT_FOR_EVENTS and k != "timeout"]
            if len(named) != 1 or extra:
                self.problems.append(f"{where}: wait_for: needs one of "
                                     f"{', '.join(WAIT_FOR_EVENTS)} and a timeout")
            else:
                event, template = named[0], value[named[0]]
                if template not in sent:
                    self.problems.append(f"{where}: wait_for: template {template!r} is not "
                                         "sent earlier on this path")
                elif event in EMAIL_ONLY and template not in self.templates.email:
                    self.problems.append(f"{where}: wait_for: {event} needs an email template")
            timeout = parse_duration(value.get("timeout"))
            if timeout is None:
                self.problems.append(f"{where}: wait_for: invalid timeout "
                                     f"{value.get('timeout')!r}")
        head = self.emit({"op": "wait_for", "event": event or "", "template": template or "",
                          "timeout": timeout or 0, "label": label})
        ends, starts = self.branches(step, ["then", "else"], where, label, sent, head)
        self.program[head].update(then=starts["then"], **{"else": starts["else"]})
        return ends

    def split(self, step: dict, value: Any, where: str, label: str, sent: set[str]) -> bool:
        weights: list[tuple[str, int]] = []
        if not isinstance(value, dict) or not value:
            self.problems.append(f"{where}: split: needs named branches with weights")
        else:
            for name, weight in value.items():
                if not (isinstance(name, str) and re.match(r"^[a-z][a-z0-9_]{0,30}$", name)
                        and name not in ("then", "else", "split")):
                    self.problems.append(f"{where}: split: invalid branch name {name!r}")
                elif not (isinstance(weight, int) and not isinstance(weight, bool)
                          and weight > 0):
                    self.problems.append(f"{where}: split: weight of {name!r} must be a "
                                         "positive integer")
                else:
                    weights.append((name, weight))
        head = self.emit({"op": "split", "label": label})
        ends, starts = self.branches(step, [n for n, _ in weights], where, label, sent, head)
        self.program[head]["branches"] = [[n, w, starts[n]] for n, w in weights]
        return ends and bool(weights)


def compile_journey(raw: Any, templates: Templates, where: str = "journey") -> \
        tuple[Compiled | None, list[str]]:
    """(the compiled journey, []) or (None, every problem found)."""
    if not isinstance(raw, dict):
        return None, [f"{where}: must be a mapping"]
    problems = [f"{where}: unknown key '{k}'" for k in raw if k not in JOURNEY_KEYS]
    reentry = raw.get("reentry", "always")
    if isinstance(reentry, dict) and set(reentry) == {"cooldown"}:
        if parse_duration(reentry["cooldown"]) is None:
            problems.append(f"{where}: reentry: invalid cooldown {reentry['cooldown']!r}")
    elif reentry not in ("always", "once"):
        problems.append(f"{where}: reentry must be always, once or {{cooldown: 7d}}")
    key = raw.get("key")
    if key is not None and (not isinstance(key, str) or syntax_error(key)):
        problems.append(f"{where}: key must be a valid template such as \"{{{{ email }}}}\"")
    window = raw.get("send_window")
    if window is not None:
        problems += _window_problems(window, f"{where}: send_window")
    steps = raw.get("steps")
    if not isinstance(steps, list) or not steps:
        problems.append(f"{where}: steps: needs at least one step")
    compiler = _Compiler(templates)
    if isinstance(steps, list):
        compiler.block(steps, f"{where}.steps", "", set())
    problems += compiler.problems
    if problems:
        return None, problems
    definition = {"reentry": reentry, "key": key, "send_window": normalized_window(window),
                  "steps": steps}
    digest = hashlib.sha256(
        json.dumps(definition, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    return Compiled(definition, compiler.program, digest), []


def _window_problems(window: Any, where: str) -> list[str]:
    if not isinstance(window, dict) or set(window) - {"days", "from", "until"}:
        return [f"{where}: needs days, from and until"]
    problems = []
    days = window.get("days", list(DAYS))
    if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
        problems.append(f"{where}: days must be a list of {', '.join(DAYS)}")
    start, end = parse_clock(window.get("from")), parse_clock(window.get("until"))
    if start is None or end is None:
        problems.append(f"{where}: from and until must be \"HH:MM\"")
    elif start >= end:
        problems.append(f"{where}: from must be before until")
    return problems


def normalized_window(window: dict[str, Any] | None) -> dict[str, Any] | None:
    if window is None:
        return None
    return {"days": window.get("days", list(DAYS)), "from": window["from"],
            "until": window["until"]}
