"""The one place where domain apps plug into processes, ``apply_config`` and the dashboard.

Each app registers its hooks in its ``AppConfig.ready()``; nothing is looked up by an import
path in a string, so a typo is an ``AttributeError`` at start-up, not a silent skip. The
``processes`` system checks (``checks.py``) refuse to start when a process kind has no
canceller, when an ``apply_config`` section key is registered twice, or when any hook is
registered twice.

Hooks:

* **canceller** (one per process kind): called by P7 inside the cancel transaction with the
  process row locked; cancels everything of that kind still pending (messages, consent
  steps, journey steps, ...) and answers counts such as ``{"messages": 2}``. It may raise a
  ``DomainError`` (e.g. ``Conflict`` when nothing is left to cancel); the transaction then
  rolls back.
* **config section** (one per top-level YAML key): ``validate(tenant, document) ->
  problems`` and ``apply(tenant, document, *, dry_run) -> change lines``; ``after`` names
  the sections whose objects it may refer to (applied first; each must have a handler).
* **describer** (one per ``details`` key of the process view): a bounded number of queries
  for one process, whatever it contains; ``kinds`` limits it to the process kinds it can
  have rows for (None: every kind).
* **dashboard series** (for the dashboard app to come): the protocol only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from doxie.processes.models import Process
    from doxie.tenants.models import Tenant


class Canceller(Protocol):
    def __call__(self, *, process: Process, at: datetime) -> Mapping[str, int]: ...


class Describer(Protocol):
    def __call__(self, process: Process) -> Any: ...


class SectionValidator(Protocol):
    def __call__(self, tenant: Tenant, document: dict[str, Any]) -> list[str]: ...


class SectionApplier(Protocol):
    def __call__(
        self, tenant: Tenant, document: dict[str, Any], *, dry_run: bool
    ) -> list[str]: ...


@dataclass(frozen=True)
class DayCounts:
    """One day of a dashboard series (the contract's ``data``: at least these three)."""

    day: date
    total: int
    successful: int
    failed: int


class DashboardSeries(Protocol):
    """A dashboard series (``doi``, ``email``, ``sms``, ...): per-day counts for a tenant.

    The dashboard app (a later issue) asks every registered series for the same days and
    must get one ``DayCounts`` per day, oldest first, in a bounded number of queries."""

    def __call__(self, tenant: Tenant, days: list[date]) -> list[DayCounts]: ...


@dataclass(frozen=True)
class ConfigSection:
    key: str
    validate: SectionValidator
    apply: SectionApplier
    after: tuple[str, ...]
    app: str
    #: Keys whose content this section also reads (the surveys' ``survey:`` lives inside
    #: ``events``): it runs when any of them is in the document, not only its own key.
    inside: tuple[str, ...] = ()

    def wanted(self, document: dict[str, Any]) -> bool:
        return self.key in document or any(key in document for key in self.inside)


@dataclass(frozen=True)
class ProcessDescriber:
    key: str
    describe: Describer
    kinds: frozenset[str] | None
    app: str


@dataclass
class Registry:
    """What the installed apps registered; ``duplicates`` feeds the system check."""

    cancellers: dict[str, tuple[str, Canceller]] = field(default_factory=dict)
    sections: dict[str, ConfigSection] = field(default_factory=dict)
    describers: dict[str, ProcessDescriber] = field(default_factory=dict)
    series: dict[str, tuple[str, DashboardSeries]] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)

    def _claim(self, table: dict[str, Any], what: str, key: str, app: str) -> bool:
        if key in table:
            first = table[key]
            owner = first[0] if isinstance(first, tuple) else first.app
            self.duplicates.append(f"{what} '{key}' registered by {owner} and again by {app}")
            return False
        return True

    # --- registration (from AppConfig.ready) ---------------------------------------------

    def register_canceller(self, kind: str, canceller: Canceller, *, app: str) -> None:
        if self._claim(self.cancellers, "process canceller for kind", str(kind), app):
            self.cancellers[str(kind)] = (app, canceller)

    def register_config_section(
        self, key: str, *, validate: SectionValidator, apply: SectionApplier, app: str,
        after: Iterable[str] = (), inside: Iterable[str] = (),
    ) -> None:
        if self._claim(self.sections, "apply_config section", key, app):
            self.sections[key] = ConfigSection(
                key, validate, apply, tuple(after), app, tuple(inside)
            )

    def register_describer(
        self, key: str, describe: Describer, *, app: str, kinds: Iterable[str] | None = None
    ) -> None:
        if self._claim(self.describers, "process describer", key, app):
            wanted = frozenset(str(k) for k in kinds) if kinds is not None else None
            self.describers[key] = ProcessDescriber(key, describe, wanted, app)

    def register_dashboard_series(self, key: str, series: DashboardSeries, *, app: str) -> None:
        if self._claim(self.series, "dashboard series", key, app):
            self.series[key] = (app, series)

    # --- lookup -------------------------------------------------------------------------

    def canceller(self, kind: str) -> Canceller:
        """The kind's canceller; the system check guarantees there is one."""
        return self.cancellers[str(kind)][1]

    def ordered_sections(self) -> list[ConfigSection]:
        """Every section after the ones it names in ``after`` (then by key); a cycle, which
        the system check reports, falls back to key order for the sections in it."""
        done: list[ConfigSection] = []
        pending = sorted(self.sections.values(), key=lambda s: s.key)
        while pending:
            placed = {s.key for s in done}
            ready = [s for s in pending
                     if all(a in placed or a not in self.sections for a in s.after)]
            if not ready:
                ready = pending[:1]
            done.append(ready[0])
            pending.remove(ready[0])
        return done

    def describers_for(self, kind: str) -> list[ProcessDescriber]:
        return [d for d in self.describers.values() if d.kinds is None or kind in d.kinds]


#: The registry of this installation.
registry = Registry()

register_canceller: Callable[..., None] = registry.register_canceller
register_config_section: Callable[..., None] = registry.register_config_section
register_describer: Callable[..., None] = registry.register_describer
register_dashboard_series: Callable[..., None] = registry.register_dashboard_series
