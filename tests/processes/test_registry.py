"""The processes registry and its start-up checks: every process kind has a canceller, no
hook is registered twice, apply_config sections have handlers; no import-path strings."""

from __future__ import annotations

from pathlib import Path

from django.core.management import call_command

from doxie.processes.checks import registry_problems
from doxie.processes.models import ProcessKind
from doxie.processes.registry import Registry, registry

SRC = Path(__file__).resolve().parents[2] / "src"


def _canceller(*, process, at):  # noqa: ANN001, ANN202
    return {}


def _validate(tenant, document):  # noqa: ANN001, ANN202
    return []


def _apply(tenant, document, *, dry_run):  # noqa: ANN001, ANN202
    return []


def _complete() -> Registry:
    reg = Registry()
    for kind in ProcessKind.values:
        reg.register_canceller(kind, _canceller, app="test")
    return reg


def _ids(reg: Registry) -> list[str]:
    return [problem.id for problem in registry_problems(reg)]


def test_the_installed_apps_pass_the_check():
    assert registry_problems(registry) == []
    call_command("check")  # raises SystemCheckError on any error
    assert set(registry.cancellers) == set(ProcessKind.values)
    assert {"consent_purposes", "events"} <= set(registry.sections)
    assert {"messages", "consents"} <= set(registry.describers)


def test_a_kind_without_a_canceller_fails():
    reg = _complete()
    del reg.cancellers[ProcessKind.CONSENT]
    problems = registry_problems(reg)
    assert [p.id for p in problems] == ["processes.E001"]
    assert "'consent'" in problems[0].msg


def test_a_hook_registered_twice_fails_and_the_first_stays():
    reg = _complete()
    reg.register_canceller(ProcessKind.MAILER, _canceller, app="other")
    reg.register_config_section("events", validate=_validate, apply=_apply, app="a")
    reg.register_config_section("events", validate=_validate, apply=_apply, app="b")
    reg.register_describer("messages", _canceller, app="a")
    reg.register_describer("messages", _canceller, app="b")
    assert _ids(reg) == ["processes.E002"] * 3
    assert reg.sections["events"].app == "a" and reg.cancellers["mailer"][0] == "test"


def test_a_canceller_for_an_unknown_kind_fails():
    reg = _complete()
    reg.register_canceller("jouney", _canceller, app="typo")
    assert _ids(reg) == ["processes.E003"]


def test_sections_run_after_the_sections_they_name_which_must_have_handlers():
    reg = _complete()
    reg.register_config_section("events", validate=_validate, apply=_apply, app="m",
                                after=("consent_purposes",))
    assert _ids(reg) == ["processes.E004"]
    reg.register_config_section("consent_purposes", validate=_validate, apply=_apply, app="c")
    assert _ids(reg) == []
    assert [s.key for s in reg.ordered_sections()] == ["consent_purposes", "events"]
    reg.register_config_section("zzz", validate=_validate, apply=_apply, app="z",
                                after=("aaa",))
    reg.register_config_section("aaa", validate=_validate, apply=_apply, app="z",
                                after=("zzz",))
    assert _ids(reg) == ["processes.E004"]  # the cycle


def test_the_installed_sections_apply_purposes_before_events():
    keys = [s.key for s in registry.ordered_sections()]
    assert keys.index("consent_purposes") < keys.index("events")


def test_describers_are_limited_to_their_kinds():
    assert [d.key for d in registry.describers_for(ProcessKind.MAILER)] == ["messages"]
    assert {d.key for d in registry.describers_for(ProcessKind.CONSENT)} == {
        "messages", "consents"}


def test_no_importlib_in_src():
    offenders = [str(path.relative_to(SRC)) for path in SRC.rglob("*.py")
                 if "importlib" in path.read_text(encoding="utf-8")]
    assert offenders == []
