"""Start-up checks of the registry: a misconfigured installation refuses to run.

``manage.py check`` (and every ``runserver``/``migrate``/worker start) reports:

* ``processes.E001`` a process kind without a canceller (P7 would not know how to cancel it);
* ``processes.E002`` a hook registered twice (two apps claiming one kind, section or key);
* ``processes.E003`` a canceller for a kind that ``ProcessKind`` does not know;
* ``processes.E004`` an ``apply_config`` section that must run after a section no app
  handles (the YAML key would be rejected as unknown), or sections that wait on each other.

A top-level YAML key no app registered is rejected by ``apply_config`` itself.
"""

from __future__ import annotations

from typing import Any

from django.core import checks

from doxie.processes.models import ProcessKind
from doxie.processes.registry import Registry, registry


def registry_problems(reg: Registry) -> list[checks.CheckMessage]:
    """The check's findings for ``reg`` (a function of the registry, so tests can pass one)."""
    problems: list[checks.CheckMessage] = []
    for kind in ProcessKind.values:
        if kind not in reg.cancellers:
            problems.append(checks.Error(
                f"process kind '{kind}' has no canceller",
                hint="register one in the owning app's AppConfig.ready() with "
                     "doxie.processes.registry.register_canceller",
                id="processes.E001",
            ))
    for duplicate in reg.duplicates:
        problems.append(checks.Error(duplicate, id="processes.E002"))
    for kind in reg.cancellers:
        if kind not in ProcessKind.values:
            problems.append(checks.Error(
                f"a canceller is registered for unknown process kind '{kind}'",
                hint="add the kind to doxie.processes.models.ProcessKind",
                id="processes.E003",
            ))
    for section in reg.sections.values():
        for needed in section.after:
            if needed not in reg.sections:
                problems.append(checks.Error(
                    f"apply_config section '{section.key}' ({section.app}) runs after "
                    f"section '{needed}', which has no handler",
                    id="processes.E004",
                ))
    if _has_cycle(reg):
        problems.append(checks.Error(
            "apply_config sections wait on each other (a cycle in 'after')",
            id="processes.E004",
        ))
    return problems


def _has_cycle(reg: Registry) -> bool:
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(key: str) -> bool:
        if state.get(key) == 1:
            return True
        if state.get(key) == 2 or key not in reg.sections:
            return False
        state[key] = 1
        found = any(visit(a) for a in reg.sections[key].after)
        state[key] = 2
        return found

    return any(visit(key) for key in reg.sections)


@checks.register()
def check_registry(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return registry_problems(registry)
