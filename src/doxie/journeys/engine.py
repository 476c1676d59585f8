"""The journey scheduler on the core drain engine: due runs are claimed in batches per tenant
and each is advanced as far as it can go now (until it waits, is deferred to a send window,
or ends).

Exactly once per step: a batch's whole advance (sends, run rows, their wake-ups) is one
transaction over the rows re-read ``FOR UPDATE`` under the claim's lease token; a worker
killed before the commit leaves nothing but a lease the sweep expires, and a stale or
repeated execution finds no row with its token. ``JourneySend``'s unique (run, step) key
is the last guard: a send step cannot commit twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min

from doxie.core import clock
from doxie.core.drain import Batch, Drainer, DrainQueue, DrainSpec, Run
from doxie.journeys import definition as d
from doxie.journeys.models import JourneyRun, JourneySend, RunState
from doxie.messaging import rendering
from doxie.messaging.models import MessageStatusEvent
from doxie.messaging.services import StepSend, queue_step_sends
from doxie.processes import services as process_services

#: Stored in the jobs table: never rename.
QUEUE: DrainQueue[int] = DrainQueue(
    task_name="journeys.drain", lock_prefix="journeys.drain", key_arg="tenant_id"
)
#: Instructions one run may execute in one batch (the program has no loops; a bound anyway).
MAX_STEPS_PER_ADVANCE = 200


def batch_size() -> int:
    return int(getattr(settings, "DOXIE_JOURNEY_BATCH", 500))


def lease() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "DOXIE_JOURNEY_LEASE_SECONDS", 120)))


_CLAIM = """
UPDATE journeys_journeyrun SET lease_token = %(token)s, claimed_until = %(until)s
WHERE id IN (
    SELECT id FROM journeys_journeyrun
    WHERE tenant_id = %(tenant)s AND state = 'active' AND claimed_until IS NULL
      AND wake_at <= %(now)s
    ORDER BY wake_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
) RETURNING id
"""


def claim(tenant_id: int, token: str, limit: int | None = None) -> list[int]:
    """Lease up to ``limit`` due runs of the tenant (own transaction, before any work)."""
    now = clock.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM, {"token": token, "until": now + lease(), "tenant": tenant_id,
                                "now": now, "limit": limit or batch_size()})
        return [row[0] for row in cursor.fetchall()]


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def split_branch(contact_key: str, label: str, branches: list[list[Any]]) -> list[Any]:
    """Sticky: the same contact always takes the same branch of the same split."""
    total = sum(w for _, w, _ in branches)
    point = int(hashlib.sha256(f"{contact_key}:{label}".encode()).hexdigest()[:8], 16) % total
    for branch in branches:
        point -= branch[1]
        if point < 0:
            return branch
    return branches[-1]


class _Advance:
    """One run's advance in a batch: the instruction loop, writing into the run object."""

    def __init__(self, run: JourneyRun, now: datetime, seen: set[tuple[str, str]],
                 tz_name: str) -> None:
        self.run, self.now, self.seen, self.tz_name = run, now, seen, tz_name
        self.sends: list[tuple[JourneyRun, int, dict[str, Any], int]] = []

    def log(self, ins: dict[str, Any], outcome: str, **extra: Any) -> None:
        self.run.history.append({"step": ins["label"], "op": ins["op"], "at": _iso(self.now),
                                 "outcome": outcome, **extra})

    def sleep(self, ins: dict[str, Any], until: datetime, why: str) -> None:
        run = self.run
        if not (run.waiting and run.waiting.get("pc") == run.pc):
            run.waiting = {"pc": run.pc, "step": ins["label"], "op": ins["op"],
                           "until": _iso(until), "why": why}
        run.waiting_op = ins["op"]
        run.wake_at = until

    def end(self, state: str, reason: str) -> None:
        run = self.run
        run.state, run.exit_reason, run.ended_at = state, reason, self.now
        run.wake_at, run.waiting, run.waiting_op = None, None, ""

    def waited_until(self) -> datetime | None:
        waiting = self.run.waiting
        if waiting and waiting.get("pc") == self.run.pc:
            return datetime.fromisoformat(waiting["until"].replace("Z", "+00:00"))
        return None

    def go(self) -> None:
        run = self.run
        program = run.version.program
        window = run.version.definition.get("send_window")
        payload = run.process.original_payload or {}
        for _ in range(MAX_STEPS_PER_ADVANCE):
            if run.pc >= len(program):
                self.end(RunState.FINISHED, "completed")
                return
            ins = program[run.pc]
            op = ins["op"]
            if op == "goto":
                run.pc = ins["to"]
                continue
            if op == "send":
                opening = d.window_opening(self.now, window, d.zone(None, self.tz_name)) \
                    if window else None
                if opening is not None:
                    self.sleep(ins, opening, "send_window")
                    return
                self.log(ins, "sent", template=ins["template"])
                self.sends.append((run, run.pc, ins, len(run.history) - 1))
            elif op in ("wait", "wait_until"):
                until = self.waited_until()
                if until is None:
                    if op == "wait":
                        until = self.now + timedelta(seconds=ins["seconds"])
                    else:
                        tz = d.zone(payload.get("time_zone"), self.tz_name)
                        until = d.next_time_of_day(self.now, d.parse_clock(ins["time"]), tz)
                if self.now < until:
                    self.sleep(ins, until, op)
                    return
                self.log(ins, "waited", due=_iso(until))
            elif op == "if":
                try:
                    truth = rendering.evaluate_condition(ins["expr"], dict(payload))
                    outcome = "then" if truth else "else"
                except rendering.RenderError as exc:
                    truth, outcome = False, f"else ({exc})"
                self.log(ins, outcome)
                run.pc = ins["then"] if truth else ins["else"]
                continue
            elif op == "wait_for":
                until = self.waited_until() or self.now + timedelta(seconds=ins["timeout"])
                wanted = d.WAIT_FOR_EVENTS[ins["event"]]
                if any((ins["template"], status) in self.seen for status in wanted):
                    self.log(ins, f"{ins['event']}")
                    run.pc = ins["then"]
                    run.waiting, run.waiting_op = None, ""
                    continue
                if self.now < until:
                    self.sleep(ins, until, f"{ins['event']} {ins['template']}")
                    return
                self.log(ins, "timeout")
                run.pc = ins["else"]
                run.waiting, run.waiting_op = None, ""
                continue
            elif op == "split":
                name, _, target = split_branch(run.contact_key, ins["label"], ins["branches"])
                self.log(ins, name)
                run.pc = target
                continue
            elif op == "exit":
                self.log(ins, "exit", reason=ins["reason"])
                self.end(RunState.EXITED, ins["reason"])
                return
            run.pc += 1
            run.waiting, run.waiting_op = None, ""
        self.sleep(program[run.pc], self.now, "continue")  # the bound: go on next batch


def _seen_events(runs: list[JourneyRun]) -> dict[int, set[tuple[str, str]]]:
    """{process id: {(template, status)}} of the runs' own messages: one query."""
    waiting = [r.process_id for r in runs
               if any(i["op"] == "wait_for" for i in r.version.program)]
    seen: dict[int, set[tuple[str, str]]] = {pid: set() for pid in waiting}
    if waiting:
        rows = MessageStatusEvent.objects.filter(message__process_id__in=waiting).values_list(
            "message__process_id", "message__template_name", "status").distinct()
        for pid, template, status in rows:
            seen[pid].add((template, status))
    return seen


FIELDS = ["pc", "wake_at", "waiting", "waiting_op", "history", "state", "exit_reason",
          "ended_at", "lease_token", "claimed_until", "updated_at"]


def advance_claimed(tenant_id: int, token: str, ids: list[int]) -> int:
    """Advance the runs claimed under ``token``: one transaction, a fixed number of queries
    per batch (lock, events, templates, the message inserts, one update, the wake-up)."""
    with transaction.atomic():
        runs = list(
            JourneyRun.objects.select_for_update(of=("self",))
            .select_related("version", "process", "event__brand", "tenant")
            .filter(id__in=ids, lease_token=token, state=RunState.ACTIVE)
            .order_by("id")
        )
        if not runs:
            return 0
        now = clock.now()
        seen = _seen_events(runs)
        advances = []
        for run in runs:
            step = _Advance(run, now, seen.get(run.process_id, set()), run.tenant.time_zone)
            step.go()
            advances.append(step)
        sends = [s for a in advances for s in a.sends]
        _send(runs[0].tenant, sends)
        for run in runs:
            run.lease_token, run.claimed_until, run.updated_at = None, None, now
        JourneyRun.objects.bulk_update(runs, FIELDS)
        ended = [r.process_id for r in runs if r.state != RunState.ACTIVE]
        if ended:
            process_services.finish_processes(process_ids=ended, at=now)
        QUEUE.wake((tenant_id, r.wake_at) for r in runs
                   if r.state == RunState.ACTIVE and r.wake_at is not None)
        return len(runs)


def _send(tenant: Any, sends: list[tuple[JourneyRun, int, dict[str, Any], int]]) -> None:
    if not sends:
        return
    keys = [JourneySend(tenant_id=run.tenant_id, run=run, pc=pc, template_name=ins["template"])
            for run, pc, ins, _ in sends]
    results = queue_step_sends(tenant=tenant, sends=[
        StepSend(run.process, run.event, ins["template"], run.process.original_payload or {})
        for run, _, ins, _ in sends
    ])
    for key, result, (run, _, _, at) in zip(keys, results, sends, strict=True):
        key.message_ids = result.message_ids
        if result.error or not result.queued:
            run.history[at]["outcome"] = "not sent"
            run.history[at]["reason"] = (result.error or "")[:500]
    JourneySend.objects.bulk_create(keys)  # unique (run, pc): a repeat cannot commit


class RunDrain(DrainSpec[int, int]):
    """The journeys' spec: key = tenant; concurrent drainers per tenant are fine (claims skip
    locked rows), so a full batch fans out to one more worker."""

    budget = 30.0

    def claim(self, run: Run[int]) -> Batch[int] | None:
        ids = claim(run.key, run.token)
        return Batch(rows=ids, claimed=bool(ids), fan_out=len(ids) >= batch_size())

    async def process(self, run: Run[int], batch: Batch[int]) -> int:
        return await sync_to_async(advance_claimed)(run.key, run.token, batch.rows)

    def next_due(self, key: int) -> datetime | None:
        return JourneyRun.objects.filter(
            tenant_id=key, state=RunState.ACTIVE, claimed_until__isnull=True
        ).aggregate(at=Min("wake_at"))["at"]

    def release_expired(self, now: datetime) -> int:
        return JourneyRun.objects.filter(claimed_until__lt=clock.now()).update(
            claimed_until=None, lease_token=None)

    def due_keys(self, now: datetime) -> Sequence[int]:
        return list(
            JourneyRun.objects.filter(state=RunState.ACTIVE, claimed_until__isnull=True,
                                      wake_at__lte=clock.now())
            .values_list("tenant_id", flat=True).distinct()
        )


DRAINER: Drainer[int, int] = Drainer(QUEUE, RunDrain())
