"""Journey reads: the process view's run path (describer) and the per-step statistics."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from doxie.journeys.models import JourneyRun, JourneyVersion, RunState
from doxie.processes.models import Event, Process


def describe_process_steps(process: Process) -> dict[str, Any] | None:
    """The run's path for the process view: each step with time and outcome, and the step
    it waits in and until when. One query."""
    run = JourneyRun.objects.select_related("version").filter(process=process).first()
    if run is None:
        return None
    waiting = run.waiting if run.state == RunState.ACTIVE else None
    return {
        "version": run.version.number,
        "state": run.state,
        "exit_reason": run.exit_reason or None,
        "waiting_in": waiting and {"step": waiting["step"], "op": waiting["op"],
                                   "until": waiting["until"], "why": waiting.get("why")},
        "path": run.history,
    }


def step_tree(steps: list[Any], counts: dict[str, int], prefix: str = "") -> list[dict]:
    """The definition as a tree of readable steps, each with its label and how many active
    runs of the current version wait in it."""
    out = []
    for i, step in enumerate(steps, start=1):
        label = f"{prefix}{i}"
        kind = next(k for k in ("send", "wait", "wait_until", "if", "wait_for", "split",
                                "exit") if k in step)
        value = step[kind]
        node: dict[str, Any] = {"step": label, "kind": kind, "waiting": counts.get(label, 0)}
        if kind in ("if", "wait_for"):
            node["value"] = value
            node["then"] = step_tree(step.get("then") or [], counts, f"{label}.then.")
            node["else"] = step_tree(step.get("else") or [], counts, f"{label}.else.")
        elif kind == "split":
            node["value"] = value
            node["branches"] = {name: step_tree(step.get(name) or [], counts,
                                                f"{label}.{name}.") for name in value}
        else:
            node["value"] = value
        out.append(node)
    return out


def journey_stats(event: Event) -> dict[str, Any]:
    """The current version, its step tree with per-step waiting counts (every version's
    active runs, by step label), and the run counts by state. Three queries."""
    version = JourneyVersion.objects.filter(event=event).order_by("-number").first()
    states = dict(JourneyRun.objects.filter(event=event).values_list("state")
                  .annotate(n=Count("id")).values_list("state", "n"))
    waiting: dict[str, int] = {}
    for step, n in (JourneyRun.objects.filter(event=event, state=RunState.ACTIVE)
                    .values_list("waiting__step").annotate(n=Count("id"))
                    .values_list("waiting__step", "n")):
        key = step or "due"
        waiting[key] = waiting.get(key, 0) + n
    return {
        "event_slug": event.slug,
        "version": version.number if version else None,
        "steps": step_tree(version.definition["steps"], waiting) if version else [],
        "waiting": waiting,
        "runs": {state: states.get(state, 0) for state in RunState.values},
    }
